// What the fuzz test found, each reduced to the smallest request that shows it, so a regression
// fails here by name rather than only under some seed of the fuzzer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { computeBatchCrc } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, logEndOffset, readPartition, WireClient } from '../helpers/wire.js'

let tb: TestBroker

beforeAll(async () => {
  tb = await startTestBroker()
})

afterAll(async () => {
  await tb?.stop()
})

async function produce(c: WireClient, topic: string, records: Uint8Array) {
  const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  })
  return body.responses[0]!.partitionResponses[0]!
}

describe('a batch whose maxTimestamp is the largest int64', () => {
  // Seed 647121048: the time index could not hold 2^63 (INT64_MAX as a double), the append threw
  // a RangeError and the partition went offline for good (KAFKA_STORAGE_ERROR to every producer
  // and consumer after it).
  it('leaves the partition online: later batches are appended and everything reads back', async () => {
    const topic = 'max-timestamp'
    const c = await WireClient.connect(tb.address)
    try {
      // an index entry after every batch, so the hostile one reaches the time index at once
      await createTopics(c, [{ name: topic, partitions: 1, configs: { 'index.interval.bytes': '1' } }])
      expect((await produce(c, topic, encodeBatch([{ value: 'before' }]))).errorCode).toBe(ErrorCode.NONE)
      const hostile = encodeBatch([{ value: 'far-future' }])
      hostile.writeBigInt64BE(0x7fffffffffffffffn, 35)
      hostile.writeUInt32BE(computeBatchCrc(hostile), 17)
      const r = await produce(c, topic, hostile)
      expect(r.errorCode).not.toBe(ErrorCode.KAFKA_STORAGE_ERROR)
      for (const value of ['after-1', 'after-2']) {
        expect((await produce(c, topic, encodeBatch([{ value }]))).errorCode).toBe(ErrorCode.NONE)
      }
      const values = (await readPartition(tb.address, topic, 0)).map((rec) => Buffer.from(rec.value!).toString())
      expect(values).toEqual(r.errorCode === ErrorCode.NONE ? ['before', 'far-future', 'after-1', 'after-2'] : ['before', 'after-1', 'after-2'])
      expect(await logEndOffset(tb.address, topic, 0)).toBe(values.length)
    } finally {
      c.close()
    }
  })
})
