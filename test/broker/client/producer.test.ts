// The producer: its partitioner against kafkajs's DefaultPartitioner and Java's murmur2 vectors;
// against a real broker, records read back by kafkajs (every codec, keyed partitioning, acks),
// retries through a proxy that loses responses (idempotence: no duplicates, order kept); against
// a fake broker, leader moves and out-of-order answers that must not reorder the log.
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Kafka } from 'kafkajs'
import { uncompressSync as snappyUncompress } from 'snappy'
import { decompressFrameSync as lz4Decompress } from 'lz4-napi'
import { decompress as zstdDecompress } from 'zstd-napi'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { Codec, Producer } from '../../../broker/client/producer.js'
import { DefaultPartitioner, keyPartition, murmur2 } from '../../../broker/client/partitioner.js'
import { ErrorCode } from '../../../protocol/errors.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import { readBatchHeader } from '../../../protocol/record-batch.js'
import { decodeBatchRecords } from '../../../protocol/record-reader.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../../helpers/broker.js'
import { DroppingProxy } from '../../helpers/dropping-proxy.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { readPartition } from '../../helpers/wire.js'
import { startFakeBroker } from '../../helpers/fake-broker.js'

const require = createRequire(import.meta.url)
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: string | Buffer) => number

// kafkajs reads snappy, lz4 and zstd through plug-ins; these use the codec libraries directly.
function xerialSnappy(buf: Buffer): Buffer {
  if (buf.readUInt8(0) !== 0x82) return snappyUncompress(buf) as Buffer
  const parts: Buffer[] = []
  for (let p = 16; p < buf.length; ) {
    const n = buf.readInt32BE(p)
    parts.push(snappyUncompress(buf.subarray(p + 4, p + 4 + n)) as Buffer)
    p += 4 + n
  }
  return Buffer.concat(parts)
}
const { CompressionTypes, CompressionCodecs } = kafkajs
const plugin = (decode: (b: Buffer) => Buffer | Promise<Buffer>) => () => ({ compress: () => Promise.reject(new Error('unused')), decompress: async (b: Buffer) => decode(b) })
CompressionCodecs[CompressionTypes.Snappy] = plugin(xerialSnappy)
CompressionCodecs[CompressionTypes.LZ4] = plugin((b) => lz4Decompress(b))
CompressionCodecs[CompressionTypes.ZSTD] = plugin((b) => zstdDecompress(b))

describe('partitioner', () => {
  it("matches Java's murmur2 for known keys", () => {
    // From Kafka's UtilsTest.testMurmur2.
    const cases: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ]
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key)), key).toBe(hash)
  })

  it("equals kafkajs's murmur2 and DefaultPartitioner for keyed records", () => {
    const kafkajsPartitioner = kafkajs.Partitioners.DefaultPartitioner()
    for (let i = 0; i < 2000; i++) {
      const key = i % 2 === 0 ? `key-${i}-${'x'.repeat(i % 7)}` : Buffer.from(Array.from({ length: i % 37 }, (_, j) => (i * 31 + j * 7) & 0xff))
      const bytes = typeof key === 'string' ? Buffer.from(key) : key
      expect(murmur2(bytes)).toBe(kafkajsMurmur2(key))
      const partitions = 1 + (i % 24)
      const partitionMetadata = Array.from({ length: partitions }, (_, p) => ({ partitionId: p, leader: 1 }))
      expect(keyPartition(key, partitions)).toBe(kafkajsPartitioner({ topic: 't', partitionMetadata, message: { key, value: null } } as never))
    }
  })

  it('sticks keyless records to one partition until its batch is sealed, then moves', () => {
    const p = new DefaultPartitioner()
    const partitions = Array.from({ length: 8 }, (_, i) => ({ partition: i, leader: i === 3 ? -1 : 1 }))
    const first = p.partition('t', null, partitions)
    for (let i = 0; i < 10; i++) expect(p.partition('t', undefined, partitions)).toBe(first)
    p.batchSealed('t', first, partitions)
    const second = p.partition('t', null, partitions)
    expect(second).not.toBe(first)
    const seen = new Set<number>()
    for (let i = 0; i < 200; i++) {
      const cur = p.partition('t', null, partitions)
      seen.add(cur)
      p.batchSealed('t', cur, partitions)
    }
    expect(seen.has(3)).toBe(false)
    expect(seen.size).toBe(7)
  })
})

describe('against a broker', () => {
  let tb: TestBroker
  let kafka: Kafka
  beforeAll(async () => {
    tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
    kafka = kafkaClient(tb.address)
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'keyed', numPartitions: 6 }, ...[0, 1, 2, 3, 4].map((c) => ({ topic: `codec-${c}`, numPartitions: 1 }))] })
    await admin.disconnect()
  })
  afterAll(async () => {
    await tb?.stop()
  })

  async function consumeAll(topic: string, count: number): Promise<{ partition: number; offset: string; key: string | null; value: string; headers: Record<string, string> }[]> {
    const consumer = kafka.consumer({ groupId: `read-${topic}-${Math.random()}` })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const out: { partition: number; offset: string; key: string | null; value: string; headers: Record<string, string> }[] = []
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${out.length} of ${count} records of ${topic}`)), 20_000)
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          out.push({
            partition,
            offset: message.offset,
            key: message.key?.toString() ?? null,
            value: message.value!.toString(),
            headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
          })
          if (out.length === count) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
    await consumer.disconnect()
    return out
  }

  it.each([
    ['none', Codec.None],
    ['gzip', Codec.Gzip],
    ['snappy', Codec.Snappy],
    ['lz4', Codec.Lz4],
    ['zstd', Codec.Zstd],
  ])('writes %s batches that kafkajs reads back', async (_name, codec) => {
    const producer = new Producer({ bootstrap: [tb.address], compression: codec, lingerMs: 10, batchSize: 4096 })
    const records = Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: `value ${i} ${'z'.repeat(i % 50)}`, headers: [{ key: 'h', value: String(i) }] }))
    const sent = await producer.send(`codec-${codec}`, records)
    await producer.close()
    expect(sent.reduce((n, s) => n + s.recordCount, 0)).toBe(300)
    expect(sent.length).toBeGreaterThan(1)
    const got = await consumeAll(`codec-${codec}`, 300)
    expect(got.map((r) => r.value)).toEqual(records.map((r) => r.value))
    expect(got.map((r) => r.headers.h)).toEqual(records.map((_, i) => String(i)))
    // Each batch carries the codec in its attributes.
    const raw = await readPartition(tb.address, `codec-${codec}`, 0)
    expect(raw).toHaveLength(300)
  })

  it('puts each key on the partition kafkajs would, with acks 1, and reports the offsets', async () => {
    const producer = new Producer({ bootstrap: [tb.address], acks: 1 })
    const records = Array.from({ length: 120 }, (_, i) => ({ key: `user-${i % 17}`, value: `v${i}` }))
    const sent = await producer.send('keyed', records)
    await producer.close()
    const got = await consumeAll('keyed', 120)
    const kafkajsPartitioner = kafkajs.Partitioners.DefaultPartitioner()
    const partitionMetadata = Array.from({ length: 6 }, (_, p) => ({ partitionId: p, leader: 1 }))
    for (const r of got) {
      expect(r.partition).toBe(kafkajsPartitioner({ topic: 'keyed', partitionMetadata, message: { key: r.key, value: null } } as never))
    }
    // Within a partition, records keep the order they were sent in.
    for (let p = 0; p < 6; p++) {
      expect(got.filter((r) => r.partition === p).map((r) => r.value)).toEqual(records.filter((r) => keyPartition(r.key, 6) === p).map((r) => r.value))
    }
    expect(sent.map((s) => s.baseOffset).every((o) => o >= 0)).toBe(true)
  })

  it('with acks 0 writes without waiting for answers', async () => {
    const producer = new Producer({ bootstrap: [tb.address], acks: 0, lingerMs: 0 })
    const sent = await producer.send('codec-0', [{ value: 'fire' }, { value: 'forget' }])
    await producer.close()
    expect(sent).toEqual([{ topic: 'codec-0', partition: 0, baseOffset: -1, recordCount: 2 }])
    const deadline = Date.now() + 5000
    while ((await readPartition(tb.address, 'codec-0', 0)).filter((r) => r.value?.toString() === 'forget').length === 0) {
      if (Date.now() > deadline) throw new Error('acks=0 records never arrived')
      await new Promise((r) => setTimeout(r, 50))
    }
  })

  it('refuses a partition the topic does not have and a topic that does not exist', async () => {
    const producer = new Producer({ bootstrap: [tb.address], allowAutoTopicCreation: false })
    await expect(producer.send('keyed', [{ value: 'x', partition: 6 }])).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await expect(producer.send('no-such-topic', [{ value: 'x' }])).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await producer.close()
  })
})

describe('idempotent retries through a proxy that loses responses', () => {
  let broker: RunningBroker
  let proxy: DroppingProxy
  let dataDir: string
  beforeAll(async () => {
    dataDir = await makeTempDir('samsa-producer-')
    proxy = new DroppingProxy(new Set([1, 4]))
    const proxyPort = await proxy.listen()
    broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, advertisedPort: proxyPort, logLevel: 'silent', config: { 'num.partitions': '1' } })
    proxy.target = broker.port
  })
  afterAll(async () => {
    await proxy?.close()
    await broker?.stop()
    await removeDir(dataDir)
  })

  it('writes every record once, in order, though the broker appended batches whose answers were lost', async () => {
    const producer = new Producer({ bootstrap: [`127.0.0.1:${(proxy.server.address() as { port: number }).port}`], lingerMs: 0, maxInFlight: 1 })
    const values: string[] = []
    for (let round = 0; round < 6; round++) {
      const batch = Array.from({ length: 10 }, (_, i) => `r${round}-${i}`)
      values.push(...batch)
      await producer.send('idem', batch.map((value) => ({ value })))
    }
    const { producerId } = producer.identity
    await producer.close()
    expect(proxy.dropped).toBe(2)
    expect(producerId).toBeGreaterThanOrEqual(0)
    const records = await readPartition(`127.0.0.1:${broker.port}`, 'idem', 0)
    expect(records.map((r) => r.value!.toString())).toEqual(values)
  })
})

describe('against a fake broker', () => {
  it('keeps order when an earlier batch fails and later ones come back out of sequence', async () => {
    const log: string[] = []
    let expected = 0
    let failedOnce = false
    let requests = 0
    const broker = await startFakeBroker({
      versions: () => [
        [ApiKey.ApiVersions, [0, 3]],
        [ApiKey.Metadata, [0, 12]],
        [ApiKey.Produce, [3, 9]],
        [ApiKey.InitProducerId, [0, 4]],
      ],
      answer: (req) => {
        if (req.apiKey === ApiKey.Metadata) {
          return {
            throttleTimeMs: 0,
            brokers: [{ nodeId: 1, host: '127.0.0.1', port: broker.port, rack: null }],
            clusterId: 'fake',
            controllerId: 1,
            topics: [{ errorCode: 0, name: 't', topicId: '00000000-0000-0000-0000-000000000000', isInternal: false, topicAuthorizedOperations: 0, partitions: [{ errorCode: 0, partitionIndex: 0, leaderId: 1, leaderEpoch: 0, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }] }],
            clusterAuthorizedOperations: 0,
          }
        }
        if (req.apiKey === ApiKey.InitProducerId) return { throttleTimeMs: 0, errorCode: 0, producerId: 42, producerEpoch: 0 }
        requests++
        const records = req.body.topicData[0].partitionData[0].records as Uint8Array
        const h = readBatchHeader(records, 0)
        let errorCode: number = ErrorCode.NONE
        let baseOffset = -1
        if (!failedOnce && h.baseSequence === 10) {
          failedOnce = true
          errorCode = ErrorCode.NOT_LEADER_OR_FOLLOWER
        } else if (h.baseSequence !== expected) {
          errorCode = h.baseSequence < expected ? ErrorCode.DUPLICATE_SEQUENCE_NUMBER : ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
        } else {
          baseOffset = log.length
          for (const r of decodeBatchRecords(records, 0)) log.push(r.value!.toString())
          expected += h.lastOffsetDelta + 1
        }
        return {
          responses: [{ name: 't', partitionResponses: [{ index: 0, errorCode, baseOffset, logAppendTimeMs: -1, logStartOffset: 0, recordErrors: [], errorMessage: null, currentLeader: { leaderId: -1, leaderEpoch: -1 } }] }],
          throttleTimeMs: 0,
          nodeEndpoints: [],
        }
      },
    })
    try {
      const producer = new Producer({ bootstrap: [broker.address], lingerMs: 0, maxInFlight: 5, batchSize: 1 })
      const values = Array.from({ length: 60 }, (_, i) => `v${i}`)
      // batchSize 1: every record is its own batch, so five are in flight when the one at sequence 10 fails.
      const calls = []
      for (let i = 0; i < 60; i += 10) calls.push(producer.send('t', values.slice(i, i + 10).map((value) => ({ value, partition: 0 }))))
      const sent = (await Promise.all(calls)).flat()
      await producer.close()
      expect(failedOnce).toBe(true)
      // 60 batches, the failed one again, and the four in flight behind it once more: the retried
      // batches go out in sequence order, one at a time, instead of cycling through refusals.
      expect(requests).toBe(65)
      expect(log).toEqual(values)
      expect(sent.map((s) => s.baseOffset).sort((a, b) => a - b)).toEqual(values.map((_, i) => i))
    } finally {
      await broker.close()
    }
  })
})
