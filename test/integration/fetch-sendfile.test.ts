// Fetch with record batches sent from the segment files by sendfile(2) (storage/file-slice.ts,
// broker/socket-output.ts): real clients consume a backlog of distinct records and every record is
// compared, on the sendfile path and on the copying path (the option turned off), plus a client
// that goes away mid-response and segments deleted by retention while they are being sent.
import { createHash } from 'node:crypto'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { startBroker } from '../../broker/index.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { nativeSendfile } from '../../storage/file-slice.js'
import { sendfileStats } from '../../broker/socket-output.js'

const sendfileBytes = () => sendfileStats().bytes
import { assertAvailable, probeKcat, probePythonModule, PYTHON, skipNote } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'
import { WireClient } from '../helpers/wire.js'
import { decodeResponseFrame } from '../../broker/client/request-frame.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { FetchApi, defaultFetchRequest, defaultFetchRequestFetchPartition, type FetchResponse } from '../../protocol/generated/fetch.js'
import { ApiVersionsApi } from '../../protocol/generated/api-versions.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { LOG_OVERHEAD, readBatchHeader } from '../../protocol/record-batch.js'
import { decodeBatchRecords } from '../../protocol/record-reader.js'

const RECORDS = 6000
const VALUE_BYTES = 2000 // about 12 MiB: fetches of several 64 KiB+ ranges per partition

/** The value of record i: distinct bytes, so a range sent from a wrong position or out of order shows. */
function valueOf(i: number): string {
  const h = createHash('sha256').update(String(i)).digest('hex')
  return `${i}:` + h.repeat(Math.ceil(VALUE_BYTES / h.length)).slice(0, VALUE_BYTES)
}

async function produceBacklog(address: string, topic: string, partitions: number, configEntries: Array<{ name: string; value: string }> = []): Promise<void> {
  const kafka = kafkaClient(address)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, configEntries }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  for (let i = 0; i < RECORDS; i += 500) {
    const messages = Array.from({ length: Math.min(500, RECORDS - i) }, (_, j) => ({ key: String(i + j), value: valueOf(i + j), partition: (i + j) % partitions }))
    await producer.send({ topic, messages, acks: 1 })
  }
  await producer.disconnect()
}

/** Consumes the whole topic with kafkajs; checks every value against its key. */
async function consumeAll(address: string, topic: string): Promise<number> {
  const kafka = kafkaClient(address)
  const consumer = kafka.consumer({ groupId: `g-${topic}-${Math.random()}`, maxBytes: 4 * 1024 * 1024, maxBytesPerPartition: 1024 * 1024 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const seen = new Set<number>()
  let bad = 0
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const i = Number(m.key!.toString())
            if (m.value!.toString() !== valueOf(i)) bad++
            seen.add(i)
          }
          if (seen.size >= RECORDS) resolve()
        },
      })
      .catch(reject)
  })
  await consumer.disconnect()
  expect(bad).toBe(0)
  return seen.size
}

const addon = nativeSendfile()
const kcatProbe = probeKcat()
const pyProbe = probePythonModule('confluent_kafka')

const off = process.env.SAMSA_SENDFILE === '0'
const skipWhy = off ? 'SAMSA_SENDFILE=0' : addon.sendfile === undefined ? addon.why : undefined

describe.skipIf(skipWhy !== undefined)(`Fetch with sendfile${skipWhy !== undefined ? ` (skipped: ${skipWhy})` : ''}`, () => {
  let tb: TestBroker
  beforeAll(async () => {
    tb = await startTestBroker({ 'log.segment.bytes': String(4 * 1024 * 1024) })
    await produceBacklog(tb.address, 'backlog', 3)
  }, 60_000)
  afterAll(async () => {
    await tb?.stop()
  })

  it('kafkajs reads every record of a backlog, the batches sent by sendfile', async () => {
    const before = sendfileBytes()
    expect(await consumeAll(tb.address, 'backlog')).toBe(RECORDS)
    expect(sendfileBytes() - before).toBeGreaterThan(RECORDS * VALUE_BYTES * 0.8)
  }, 60_000)

  it.skipIf(kcatProbe.skip)(`kcat (librdkafka, CRC checked) reads every record${skipNote(kcatProbe)}`, async () => {
    assertAvailable(kcatProbe)
    const before = sendfileBytes()
    const lines: string[] = []
    for (let p = 0; p < 3; p++) {
      const r = expectSuccess(
        'kcat',
        await run('kcat', ['-b', tb.address, '-X', 'broker.address.family=v4', '-X', 'check.crcs=true', '-C', '-q', '-t', 'backlog', '-p', String(p), '-o', 'beginning', '-e', '-f', '%k|%s\n'], { timeoutMs: 60_000 }),
      )
      lines.push(...r.stdout.split('\n').filter(Boolean))
    }
    expect(lines.length).toBe(RECORDS)
    const keys = new Set<number>()
    for (const line of lines) {
      const [k, v] = line.split('|') as [string, string]
      expect(v).toBe(valueOf(Number(k)))
      keys.add(Number(k))
    }
    expect(keys.size).toBe(RECORDS)
    expect(sendfileBytes() - before).toBeGreaterThan(RECORDS * VALUE_BYTES * 0.8)
  }, 90_000)

  it.skipIf(pyProbe.skip)(`confluent_kafka (librdkafka) reads every record${skipNote(pyProbe)}`, async () => {
    assertAvailable(pyProbe)
    const script = `
import hashlib, sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': 'py-sendfile', 'enable.auto.commit': False, 'check.crcs': True,
              'broker.address.family': 'v4', 'enable.partition.eof': True, 'fetch.max.bytes': 4194304})
c.assign([TopicPartition('backlog', p, 0) for p in range(3)])
eof, n, bad = 0, 0, 0
while eof < 3:
    m = c.poll(10)
    if m is None: raise SystemExit('timed out')
    if m.error():
        if m.error().code() == -191: eof += 1; continue
        raise SystemExit(str(m.error()))
    i = int(m.key())
    h = hashlib.sha256(str(i).encode()).hexdigest()
    want = (str(i) + ':' + (h * (${VALUE_BYTES} // len(h) + 1))[:${VALUE_BYTES}]).encode()
    n += 1
    if m.value() != want: bad += 1
print(n, bad)
c.close()
`
    const r = expectSuccess('python', await run(PYTHON, ['-c', script, tb.address], { timeoutMs: 90_000 }))
    expect(r.stdout.trim()).toBe(`${RECORDS} 0`)
  }, 120_000)

  it('pipelined fetches read slowly get every response whole and in order', async () => {
    const before = sendfileBytes()
    const waitsBefore = sendfileStats().waits
    const c = await WireClient.connect(tb.address)
    try {
      // Fetches of each partition with an ApiVersions between them, all sent before reading any.
      const sent: Array<{ cid: number; api: 'fetch' | 'versions'; partition: number }> = []
      c.socket.pause()
      for (let k = 0; k < 6; k++) {
        const partition = k % 3
        const fetch = { ...defaultFetchRequest(), replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 64 << 20, isolationLevel: 0, topics: [{ topic: 'backlog', topicId: ZERO_UUID, partitions: [{ ...defaultFetchRequestFetchPartition(), partition, fetchOffset: 0, partitionMaxBytes: 16 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }] }
        const f = c.frame(ApiKey.Fetch, 11, (w) => FetchApi.encodeRequest(w, 11, fetch))
        sent.push({ cid: f.readInt32BE(8), api: 'fetch', partition })
        await c.write(f)
        const v = c.frame(ApiKey.ApiVersions, 3, (w) => ApiVersionsApi.encodeRequest(w, 3, { clientSoftwareName: 'wire', clientSoftwareVersion: '1' }))
        sent.push({ cid: v.readInt32BE(8), api: 'versions', partition: -1 })
        await c.write(v)
      }
      // A slow reader: the broker's socket buffer fills while nothing is read, then drains in steps.
      await new Promise((r) => setTimeout(r, 300))
      const slow = setInterval(() => {
        c.socket.resume()
        setTimeout(() => c.socket.pause(), 5)
      }, 20)
      try {
        for (const want of sent) {
          const frame = (await c.readFrame(30_000))!
          expect(frame).not.toBeNull()
          if (want.api !== 'fetch') {
            const res = decodeResponseFrame(ApiVersionsApi, 3, frame)
            expect(res.error).toBeNull()
            expect(res.correlationId).toBe(want.cid)
            continue
          }
          const res = decodeResponseFrame(FetchApi, 11, frame)
          expect(res.error).toBeNull()
          expect(res.correlationId).toBe(want.cid)
          const p = (res.body as FetchResponse).responses[0]!.partitions[0]!
          expect(p.errorCode).toBe(0)
          const bytes = p.records!
          let pos = 0
          let n = 0
          while (pos + LOG_OVERHEAD <= bytes.length) {
            const size = LOG_OVERHEAD + readBatchHeader(bytes, pos).batchLength
            if (pos + size > bytes.length) break
            for (const rec of decodeBatchRecords(bytes, pos)) {
              const i = Number(Buffer.from(rec.key!).toString())
              expect(i % 3).toBe(want.partition)
              expect(Buffer.from(rec.value!).toString()).toBe(valueOf(i))
              n++
            }
            pos += size
          }
          expect(n).toBe(RECORDS / 3)
        }
      } finally {
        clearInterval(slow)
        c.socket.resume()
      }
      expect(sendfileBytes() - before).toBeGreaterThan(6 * (RECORDS / 3) * VALUE_BYTES * 0.8)
      // The reader was slower than the broker: sends stopped at a full socket and resumed.
      expect(sendfileStats().waits).toBeGreaterThan(waitsBefore)
    } finally {
      c.close()
    }
  }, 60_000)

  it('a topic deleted while its segments are being sent: the response still carries the right bytes', async () => {
    // One segment holding the whole 12 MiB backlog, so the response is larger than what the
    // kernel buffers between the two sockets (up to tcp_wmem's 4 MiB plus the reader's receive
    // buffer): the broker must wait for the paused reader.
    await produceBacklog(tb.address, 'doomed', 1, [{ name: 'segment.bytes', value: String(64 * 1024 * 1024) }])
    const before = sendfileStats()
    const c = await WireClient.connect(tb.address)
    try {
      c.socket.pause()
      const fetch = { ...defaultFetchRequest(), replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 64 << 20, isolationLevel: 0, topics: [{ topic: 'doomed', topicId: ZERO_UUID, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0, partitionMaxBytes: 32 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }] }
      const f = c.frame(ApiKey.Fetch, 11, (w) => FetchApi.encodeRequest(w, 11, fetch))
      await c.write(f)
      // The socket's buffer is full before the topic goes: the rest of the range is sent after.
      for (let i = 0; i < 100 && sendfileStats().waits === before.waits; i++) await new Promise((r) => setTimeout(r, 20))
      expect(sendfileStats().waits).toBeGreaterThan(before.waits)
      const admin = kafkaClient(tb.address).admin()
      await admin.connect()
      await admin.deleteTopics({ topics: ['doomed'] })
      await admin.disconnect()
      c.socket.resume()
      const res = decodeResponseFrame(FetchApi, 11, (await c.readFrame(30_000))!)
      expect(res.error).toBeNull()
      const bytes = res.body.responses[0]!.partitions[0]!.records!
      let pos = 0
      let n = 0
      while (pos + LOG_OVERHEAD <= bytes.length) {
        const size = LOG_OVERHEAD + readBatchHeader(bytes, pos).batchLength
        expect(pos + size).toBeLessThanOrEqual(bytes.length)
        for (const rec of decodeBatchRecords(bytes, pos)) {
          // One partition: record i is at offset i.
          expect(Buffer.from(rec.key!).toString()).toBe(String(n))
          expect(Buffer.from(rec.value!).toString()).toBe(valueOf(n))
          n++
        }
        pos += size
      }
      // The whole backlog, from its one segment.
      expect(n).toBe(RECORDS)
    } finally {
      c.close()
    }
  }, 60_000)

  it('a client that closes in the middle of large responses leaves the broker serving', async () => {
    // Pipelined fetches of the whole backlog from a raw socket that reads a little and goes.
    for (let round = 0; round < 3; round++) {
      const c = await WireClient.connect(tb.address)
      const socket: net.Socket = c.socket
      const pending = [0, 1, 2].map((p) =>
        c.request(1, 11, {
          replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 64 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: 'backlog', partitions: [{ partition: p, fetchOffset: 0, currentLeaderEpoch: -1, logStartOffset: -1, partitionMaxBytes: 16 * 1024 * 1024 }] }],
          forgottenTopicsData: [], rackId: '',
        }).catch(() => undefined),
      )
      socket.pause()
      await new Promise((r) => setTimeout(r, 50))
      socket.destroy()
      void Promise.allSettled(pending)
    }
    expect(await consumeAll(tb.address, 'backlog')).toBe(RECORDS)
  }, 60_000)
})

describe('Fetch with sendfile turned off copies the batches', () => {
  it('kafkajs reads every record; nothing goes through sendfile', async () => {
    const dataDir = await makeTempDir('samsa-it-')
    const broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', sendfile: false })
    try {
      await produceBacklog(broker.address, 'copied', 2)
      const before = sendfileBytes()
      expect(await consumeAll(broker.address, 'copied')).toBe(RECORDS)
      expect(sendfileBytes()).toBe(before)
    } finally {
      await broker.stop()
      await removeDir(dataDir)
    }
  }, 60_000)
})
