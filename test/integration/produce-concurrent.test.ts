// Concurrent Produce to one partition: several connections each pipeline many requests (acks=1
// and acks=all mixed) while a reader keeps fetching from where it got to. The partition's
// segments are small, so rolls come due while writes are in flight. Each connection's batches
// must get increasing offsets in the order it sent them, every acknowledged record must be at the
// offset its answer gave, and the reader must never see a gap: a later batch never becomes
// visible before an earlier one. Run with every write on the libuv pool, every write on the event
// loop, writes split by size, and the default.
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { decodeProduceResponse, encodeProduceRequest } from '../../protocol/generated/produce.js'
import { Reader } from '../../protocol/reader.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, readPartition, WireClient } from '../helpers/wire.js'

const TOPIC = 'concurrent'
const CONNECTIONS = 4
const REQUESTS = 30
const RECORDS = 5


const value = (conn: number, req: number, i: number) => `c${conn}-r${req}-${i}-`.padEnd(600, String.fromCharCode(97 + ((conn + req + i) % 26)))

/** Sends every request back to back, then reads the answers: the base offset of each, in order. */
async function produceAll(tb: TestBroker, clients: WireClient[], conn: number): Promise<number[]> {
  const c = await WireClient.connect(tb.address)
  clients.push(c)
  const frames: Buffer[] = []
  for (let req = 0; req < REQUESTS; req++) {
    const records = encodeBatch(Array.from({ length: RECORDS }, (_, i) => ({ value: value(conn, req, i) })))
    frames.push(
      c.frame(ApiKey.Produce, 9, (w) =>
        encodeProduceRequest(w, 9, {
          transactionalId: null,
          acks: (req + conn) % 2 === 0 ? 1 : -1,
          timeoutMs: 5000,
          topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
        }),
      ),
    )
  }
  await c.write(Buffer.concat(frames))
  const bases: number[] = []
  for (let req = 0; req < REQUESTS; req++) {
    const frame = await c.readFrame()
    expect(frame).not.toBeNull()
    const p = decodeProduceResponse(new Reader(frame!, 5), 9).responses[0]!.partitionResponses[0]!
    expect(p.errorCode).toBe(0)
    bases.push(Number(p.baseOffset))
  }
  return bases
}

describe.each([
  ['on the libuv pool', 0],
  ['on the event loop', Infinity],
  ['split at 64 KiB', 65536],
  ['as by default', undefined],
])('concurrent Produce to one partition, writes %s', (_, poolWriteMinBytes) => {
  let tb: TestBroker
  const clients: WireClient[] = []

  beforeAll(async () => {
    tb = await startTestBroker({}, { poolWriteMinBytes })
    const admin = await WireClient.connect(tb.address)
    clients.push(admin)
    await createTopics(admin, [{ name: TOPIC, partitions: 1, configs: { 'segment.bytes': String(48 * 1024) } }])
  })

  afterAll(async () => {
    for (const c of clients) c.close()
    await tb?.stop()
  })

  it('keeps each connection in order, stores each record where its answer says, and shows no gap to a reader meanwhile', async () => {
    let producing = true
    let seen = 0
    let reads = 0
    const reader = (async () => {
      // Each read goes from where the last stopped up to the high watermark it saw.
      for (;;) {
        const done = !producing
        const got = await readPartition(tb.address, TOPIC, 0, seen)
        got.forEach((rec, k) => expect(Number(rec.offset)).toBe(seen + k))
        seen += got.length
        reads++
        if (done) return
      }
    })()
    const bases = await Promise.all(Array.from({ length: CONNECTIONS }, (_, conn) => produceAll(tb, clients, conn)))
    producing = false
    await reader
    expect(reads).toBeGreaterThan(1)
    const total = CONNECTIONS * REQUESTS * RECORDS
    expect(seen).toBe(total)
    const stored = await readPartition(tb.address, TOPIC, 0)
    expect(stored.map((r) => Number(r.offset))).toEqual(Array.from({ length: total }, (_, i) => i))
    for (const [conn, list] of bases.entries()) {
      for (let req = 0; req < REQUESTS; req++) {
        if (req > 0) expect(list[req]!).toBeGreaterThan(list[req - 1]!)
        for (let i = 0; i < RECORDS; i++) expect(Buffer.from(stored[list[req]! + i]!.value!).toString()).toBe(value(conn, req, i))
      }
    }
    expect(readdirSync(path.join(tb.dataDir, `${TOPIC}-0`)).filter((f) => f.endsWith('.log')).length).toBeGreaterThan(3)
  })
})
