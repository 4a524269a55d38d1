// Pipelined Produce requests large enough to span socket reads: the connection copies them into
// buffers it reuses once each request is answered, so every stored byte is checked against what
// was sent, for acks=1 and acks=all interleaved on one connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { decodeProduceResponse, encodeProduceRequest } from '../../protocol/generated/produce.js'
import { Reader } from '../../protocol/reader.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, readPartition, WireClient } from '../helpers/wire.js'

let tb: TestBroker
let wire: WireClient

beforeAll(async () => {
  tb = await startTestBroker()
  wire = await WireClient.connect(tb.address)
  await createTopics(wire, [{ name: 'pipelined', partitions: 2 }])
})

afterAll(async () => {
  wire?.close()
  await tb?.stop()
})

describe('pipelined large Produce requests', () => {
  it('stores every batch byte for byte, in order, while earlier requests are still being answered', async () => {
    const requests = 40
    const perPartition: Buffer[][] = [[], []]
    const frames: Buffer[] = []
    for (let i = 0; i < requests; i++) {
      const partition = i % 2
      // 20 to ~200 KB: most frames span two or more socket reads, and sizes vary so pooled
      // buffers are reused for frames of other lengths.
      const valueSize = 1000 + ((i * 7919) % 9000)
      const values = Array.from({ length: 20 }, (_, r) => Buffer.alloc(valueSize, (i * 31 + r) % 256))
      perPartition[partition]!.push(...values)
      const records = encodeBatch(values.map((value) => ({ value })))
      frames.push(
        wire.frame(ApiKey.Produce, 9, (w) =>
          encodeProduceRequest(w, 9, {
            transactionalId: null,
            acks: i % 3 === 0 ? -1 : 1,
            timeoutMs: 5000,
            topicData: [{ name: 'pipelined', partitionData: [{ index: partition, records }] }],
          }),
        ),
      )
    }
    // All requests go out back to back; the broker answers them in order.
    await wire.write(Buffer.concat(frames))
    for (let i = 0; i < requests; i++) {
      const frame = await wire.readFrame()
      expect(frame).not.toBeNull()
      // Response header v1: correlation id and an empty tagged-field section.
      const r = new Reader(frame!, 5)
      const res = decodeProduceResponse(r, 9)
      expect(res.responses[0]!.partitionResponses[0]!.errorCode).toBe(0)
    }
    for (const partition of [0, 1]) {
      const stored = await readPartition(tb.address, 'pipelined', partition)
      const sent = perPartition[partition]!
      expect(stored.length).toBe(sent.length)
      stored.forEach((rec, k) => {
        expect(rec.offset).toBe(k)
        expect(Buffer.from(rec.value!).equals(sent[k]!)).toBe(true)
      })
    }
  })
})
