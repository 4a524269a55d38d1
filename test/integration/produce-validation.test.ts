// Record-level produce checks: a compacted topic refuses records without a key, the whole batch
// with them, and names each offending record in recordErrors (Produce v8+); so does a topic with
// message.timestamp.before/after.max.ms for timestamps out of range. Batches whose header
// and CRC are valid but whose records are not (garbage records, a payload that is not what its
// codec says) are refused and never stored, so consumers read past them to the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { crc32c } from '../../protocol/crc32c.js'
import { checkBatch } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { defaultFetchRequest, defaultFetchRequestFetchPartition, type FetchResponse } from '../../protocol/generated/fetch.js'
import type { ListOffsetsResponse } from '../../protocol/generated/list-offsets.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { assertAvailable, probeKcat } from '../helpers/external-clients.js'
import { garbageRecordsBatch, notLz4Batch } from '../helpers/poison-batches.js'
import { expectSuccess, run } from '../helpers/run.js'
import { createTopics, logEndOffset, WireClient } from '../helpers/wire.js'

let tb: TestBroker
let wire: WireClient

beforeAll(async () => {
  tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
  wire = await WireClient.connect(tb.address)
  await createTopics(wire, [
    { name: 'compacted', partitions: 1, configs: { 'cleanup.policy': 'compact' } },
    { name: 'plain', partitions: 1 },
    { name: 'poison', partitions: 1 },
    { name: 'recent', partitions: 1, configs: { 'message.timestamp.before.max.ms': '3600000', 'message.timestamp.after.max.ms': '3600000' } },
  ])
})

afterAll(async () => {
  wire?.close()
  await tb?.stop()
})

async function produce(topic: string, version: number, records: Uint8Array, acks = 1) {
  const res = await wire.request<ProduceResponse>(ApiKey.Produce, version, {
    transactionalId: null,
    acks,
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

describe('message.timestamp.before.max.ms and after.max.ms', () => {
  it('refuse a batch holding CreateTime timestamps out of range, naming each record', async () => {
    const now = Date.now()
    const batch = encodeBatch([{ value: 'now', timestamp: now }, { value: 'epoch', timestamp: 0 }, { value: 'future', timestamp: now + 7_200_000 }])
    const r = await produce('recent', 9, batch)
    expect(r.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP)
    expect(r.recordErrors.map((e) => e.batchIndex)).toEqual([1, 2])
    expect(r.recordErrors[0]!.batchIndexErrorMessage).toContain('is out of range')
    expect((await produce('recent', 9, encodeBatch([{ value: 'now', timestamp: now - 60_000 }]))).errorCode).toBe(ErrorCode.NONE)
    expect(await logEndOffset(tb.address, 'recent', 0)).toBe(1)
  })
})

/** A batch of two records at `t0` and `t0 + 500` whose header claims maxTimestamp `claimed`. */
function lyingBatch(t0: number, claimed: number, compression: number): Buffer {
  const b = encodeBatch([{ value: 'a', timestamp: t0 }, { value: 'b', timestamp: t0 + 500 }], { compression })
  b.writeBigInt64BE(BigInt(claimed), 35)
  b.writeUInt32BE(crc32c(b.subarray(21)), 17)
  return b
}

async function listOffset(topic: string, timestamp: number) {
  const res = await wire.request<ListOffsetsResponse>(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    timeoutMs: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
  })
  const p = res.body.topics[0]!.partitions[0]!
  return { errorCode: p.errorCode, offset: p.offset, timestamp: p.timestamp }
}

async function storedBatch(topic: string) {
  const res = await wire.request<FetchResponse>(ApiKey.Fetch, 4, {
    ...defaultFetchRequest(),
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topic, topicId: ZERO_UUID, partitions: [{ ...defaultFetchRequestFetchPartition(), partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
  })
  const c = checkBatch(res.body.responses[0]!.partitions[0]!.records!, 0, { verifyCrc: true })
  if (!c.ok) throw new Error(`stored batch is not valid: ${c.message}`)
  return c.header
}

describe("a batch's maxTimestamp (CreateTime)", () => {
  for (const [name, compression] of [['uncompressed', 0], ['gzip', 1]] as const) {
    it(`is the largest record timestamp, not the client's claim (${name})`, async () => {
      const topic = `lying-clock-${name}`
      await createTopics(wire, [{ name: topic, partitions: 1 }])
      const t0 = Date.now() - 60_000
      const farFuture = Date.now() + 10 * 365 * 86_400_000
      expect((await produce(topic, 9, lyingBatch(t0, farFuture, compression))).errorCode).toBe(ErrorCode.NONE)
      // stored with the real maximum and a CRC that matches it
      expect((await storedBatch(topic)).maxTimestamp).toBe(t0 + 500)
      // ListOffsets MAX_TIMESTAMP (-3) answers the record that has it
      expect(await listOffset(topic, -3)).toEqual({ errorCode: ErrorCode.NONE, offset: 1, timestamp: t0 + 500 })
      expect(await listOffset(topic, t0 + 1)).toEqual({ errorCode: ErrorCode.NONE, offset: 1, timestamp: t0 + 500 })
      // past every record: no offset, however far the claim reached
      expect((await listOffset(topic, t0 + 501)).offset).toBe(-1)
    })
  }
})

describe('batches with a valid CRC and invalid records', () => {
  const kcat = probeKcat()

  it('are refused with the Kafka error and never stored; consumers read the partition to the end', async () => {
    // Produce v3, acks=-1, as the clients that found this sent it
    expect((await produce('poison', 3, garbageRecordsBatch(), -1)).errorCode).toBe(ErrorCode.INVALID_RECORD)
    expect((await produce('poison', 3, notLz4Batch(), -1)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE)
    const good = await produce('poison', 3, encodeBatch([{ key: 'k', value: 'after the poison' }]), -1)
    expect(good).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 })
    expect(await logEndOffset(tb.address, 'poison', 0)).toBe(1)

    if (!kcat.skip) {
      assertAvailable(kcat)
      const r = expectSuccess(
        'kcat -C',
        await run('kcat', ['-b', tb.address, '-X', 'broker.address.family=v4', '-C', '-q', '-t', 'poison', '-p', '0', '-o', 'beginning', '-e', '-f', '%o|%k|%s\n'], {
          timeoutMs: 20_000,
        }),
      )
      expect(r.stdout.split('\n').filter(Boolean)).toEqual(['0|k|after the poison'])
    }

    const consumer = kafkaClient(tb.address).consumer({ groupId: 'poison-reader', maxWaitTimeInMs: 200 })
    const seen: string[] = []
    let timer: NodeJS.Timeout | undefined
    try {
      await consumer.connect()
      await consumer.subscribe({ topic: 'poison', fromBeginning: true })
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`kafkajs did not reach the end; saw ${JSON.stringify(seen)}`)), 15_000)
        consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error))
        void consumer.run({
          eachMessage: async ({ message }) => {
            seen.push(`${message.offset}|${message.value?.toString()}`)
            resolve()
          },
        })
      })
    } finally {
      clearTimeout(timer)
      await consumer.disconnect()
    }
    expect(seen).toEqual(['0|after the poison'])
  })
})
