// Record-level produce checks: a compacted topic refuses records without a key, the whole batch
// with them, and names each offending record in recordErrors (Produce v8+).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, logEndOffset, WireClient } from '../helpers/wire.js'

let tb: TestBroker
let wire: WireClient

beforeAll(async () => {
  tb = await startTestBroker()
  wire = await WireClient.connect(tb.address)
  await createTopics(wire, [
    { name: 'compacted', partitions: 1, configs: { 'cleanup.policy': 'compact' } },
    { name: 'plain', partitions: 1 },
  ])
})

afterAll(async () => {
  wire?.close()
  await tb?.stop()
})

async function produce(topic: string, version: number, records: Uint8Array) {
  const res = await wire.request<ProduceResponse>(ApiKey.Produce, version, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  })
  return res.body.responses[0]!.partitionResponses[0]!
}

describe('compacted topics', () => {
  it('refuse a batch holding records without a key, naming each one', async () => {
    const batch = encodeBatch([{ key: 'a', value: '1' }, { key: null, value: '2' }, { key: 'c', value: '3' }, { value: '4' }], { compression: 1 })
    const r = await produce('compacted', 9, batch)
    expect(r.errorCode).toBe(ErrorCode.INVALID_RECORD)
    expect(r.recordErrors.map((e) => e.batchIndex)).toEqual([1, 3])
    expect(r.recordErrors[0]!.batchIndexErrorMessage).toContain('Compacted topic cannot accept message without key')
    expect(r.errorMessage).toContain('2 record errors')
    expect(await logEndOffset(tb.address, 'compacted', 0)).toBe(0)
  })

  it('accept keyed records, and keyless ones on a delete-policy topic', async () => {
    expect((await produce('compacted', 9, encodeBatch([{ key: 'a', value: '1' }]))).errorCode).toBe(ErrorCode.NONE)
    expect((await produce('plain', 9, encodeBatch([{ value: 'no key' }]))).errorCode).toBe(ErrorCode.NONE)
    expect(await logEndOffset(tb.address, 'compacted', 0)).toBe(1)
  })
})
