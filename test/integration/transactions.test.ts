// Transactions with kafkajs: consume-transform-produce with sendOffsets (commit and abort),
// read_committed versus read_uncommitted consumers, zombie fencing, the transaction timeout, the
// visibility APIs, and a broker restart in the middle of a transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Kafka, Producer } from 'kafkajs'
import { startBroker } from '../../broker/index.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { ListOffsetsResponse } from '../../protocol/generated/list-offsets.js'
import type { ListTransactionsResponse } from '../../protocol/generated/list-transactions.js'
import type { DescribeTransactionsResponse } from '../../protocol/generated/describe-transactions.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { WireClient, readPartition } from '../helpers/wire.js'

let tb: TestBroker
let kafka: Kafka

beforeAll(async () => {
  tb = await startTestBroker({
    'group.initial.rebalance.delay.ms': '0',
    'transaction.abort.timed.out.transaction.cleanup.interval.ms': '100',
  })
  kafka = kafkaClient(tb.address)
})

afterAll(async () => {
  await tb?.stop()
})

async function createTopics(address: string, ...topics: Array<[string, number]>): Promise<void> {
  const admin = kafkaClient(address).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: topics.map(([topic, numPartitions]) => ({ topic, numPartitions })) })
  } finally {
    await admin.disconnect()
  }
}

async function txnProducer(k: Kafka, transactionalId: string, transactionTimeout = 30000): Promise<Producer> {
  const p = k.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout })
  await p.connect()
  return p
}

/** Latest offset by isolation level: 0 is the high watermark, 1 the last stable offset. */
async function latestOffset(address: string, topic: string, partition: number, isolationLevel: 0 | 1): Promise<number> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<ListOffsetsResponse>(ApiKey.ListOffsets, 2, {
      replicaId: -1,
      isolationLevel,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1, currentLeaderEpoch: -1, maxNumOffsets: 1 }] }],
    })
    const p = body.topics[0]!.partitions[0]!
    expect(p.errorCode).toBe(ErrorCode.NONE)
    return p.offset
  } finally {
    c.close()
  }
}

/** Values a kafkajs group consumer reads from the start of `topic` until `expected` arrive and a quiet period passes. */
async function consumeValues(k: Kafka, topic: string, readUncommitted: boolean, expected: number): Promise<string[]> {
  const consumer = k.consumer({ groupId: `reader-${topic}-${readUncommitted}-${Math.random()}`, readUncommitted, maxWaitTimeInMs: 100 })
  const values: string[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => void values.push(message.value!.toString()) })
    await waitFor(() => values.length >= expected, { timeoutMs: 15_000, what: `${expected} records from ${topic}` })
    await sleep(500)
  } finally {
    await consumer.disconnect()
  }
  return values
}

async function committedOffset(k: Kafka, groupId: string, topic: string): Promise<string> {
  const admin = k.admin()
  await admin.connect()
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return t!.partitions[0]!.offset
  } finally {
    await admin.disconnect()
  }
}

describe('kafkajs consume-transform-produce', () => {
  it('commits output and offsets together, and an abort leaves neither', async () => {
    const input = 'ctp-in'
    const output = 'ctp-out'
    const group = 'ctp-group'
    await createTopics(tb.address, [input, 1], [output, 1])
    const plain = kafka.producer()
    await plain.connect()
    await plain.send({ topic: input, messages: Array.from({ length: 10 }, (_, i) => ({ value: `in${i}` })) })
    await plain.disconnect()

    const source = await readPartition(tb.address, input, 0)
    const transform = (from: number, to: number) =>
      source.slice(from, to).map((r) => ({ value: Buffer.from(r.value!).toString().replace('in', 'out') }))

    const producer = await txnProducer(kafka, 'ctp-1')
    try {
      const t1 = await producer.transaction()
      await t1.send({ topic: output, messages: transform(0, 5) })
      await t1.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }] })
      // while open: the output is above the last stable offset and the offsets are not visible
      expect(await latestOffset(tb.address, output, 0, 1)).toBe(0)
      expect(await latestOffset(tb.address, output, 0, 0)).toBe(5)
      expect(await committedOffset(kafka, group, input)).toBe('-1')
      await t1.commit()
      expect(await committedOffset(kafka, group, input)).toBe('5')
      expect(await latestOffset(tb.address, output, 0, 1)).toBe(await latestOffset(tb.address, output, 0, 0))

      const t2 = await producer.transaction()
      await t2.send({ topic: output, messages: transform(5, 10).map((m) => ({ value: `${m.value}-aborted` })) })
      await t2.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '10' }] }] })
      await t2.abort()
      expect(await committedOffset(kafka, group, input)).toBe('5')

      const t3 = await producer.transaction()
      await t3.send({ topic: output, messages: transform(5, 10) })
      await t3.sendOffsets({ consumerGroupId: group, topics: [{ topic: input, partitions: [{ partition: 0, offset: '10' }] }] })
      await t3.commit()
      expect(await committedOffset(kafka, group, input)).toBe('10')
    } finally {
      await producer.disconnect()
    }

    const committed = await consumeValues(kafka, output, false, 10)
    expect(committed).toEqual(Array.from({ length: 10 }, (_, i) => `out${i}`))
    const everything = await consumeValues(kafka, output, true, 15)
    expect(everything).toHaveLength(15)
    expect(everything.filter((v) => v.endsWith('-aborted'))).toHaveLength(5)
  })
})

describe('zombie fencing', () => {
  it('a second producer with the same transactional id fences the first and aborts its transaction', async () => {
    const topic = 'zombie-out'
    await createTopics(tb.address, [topic, 1])
    const zombie = await txnProducer(kafka, 'zombie-1')
    try {
      const tz = await zombie.transaction()
      await tz.send({ topic, messages: [{ value: 'zombie' }] })
      expect(await latestOffset(tb.address, topic, 0, 1)).toBe(0)
      const successor = await txnProducer(kafkaClient(tb.address), 'zombie-1')
      try {
        // kafkajs sends the transactional InitProducerId when the first transaction begins: that
        // fences the zombie and aborts its open transaction with the bumped epoch
        const ts = await successor.transaction()
        expect(await latestOffset(tb.address, topic, 0, 1)).toBe(await latestOffset(tb.address, topic, 0, 0))
        const err = await tz.commit().then(
          () => null,
          (e: { type?: string }) => e,
        )
        expect(err).not.toBeNull()
        expect(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']).toContain(err!.type)
        await ts.send({ topic, messages: [{ value: 'successor' }] })
        await ts.commit()
      } finally {
        await successor.disconnect()
      }
    } finally {
      await zombie.disconnect().catch(() => {})
    }
    expect(await consumeValues(kafka, topic, false, 1)).toEqual(['successor'])
  })
})

describe('transaction timeout', () => {
  it('aborts a transaction open longer than its timeout and fences its producer', async () => {
    const topic = 'timeout-out'
    await createTopics(tb.address, [topic, 1])
    const producer = await txnProducer(kafka, 'slow-1', 500)
    try {
      const t = await producer.transaction()
      await t.send({ topic, messages: [{ value: 'late' }] })
      expect(await latestOffset(tb.address, topic, 0, 1)).toBe(0)
      await waitFor(async () => (await latestOffset(tb.address, topic, 0, 1)) === 2, { timeoutMs: 5000, what: 'timeout abort' })
      await expect(t.commit()).rejects.toThrow()
    } finally {
      await producer.disconnect()
    }
    const c = await WireClient.connect(tb.address)
    try {
      const { body } = await c.request<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, 0, { transactionalIds: ['slow-1'] })
      expect(body.transactionStates[0]).toMatchObject({ errorCode: ErrorCode.NONE, transactionState: 'CompleteAbort', producerEpoch: 1 })
    } finally {
      c.close()
    }
  })
})

describe('visibility APIs', () => {
  it('lists and describes transactions with state and producer filters', async () => {
    const topic = 'vis-out'
    await createTopics(tb.address, [topic, 2])
    const producer = await txnProducer(kafka, 'vis-1')
    const c = await WireClient.connect(tb.address)
    try {
      const t = await producer.transaction()
      await t.send({ topic, messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }] })
      const ongoing = await c.request<ListTransactionsResponse>(ApiKey.ListTransactions, 1, {
        stateFilters: ['Ongoing', 'Bogus'],
        producerIdFilters: [],
        durationFilter: -1,
      })
      expect(ongoing.body.unknownStateFilters).toEqual(['Bogus'])
      const mine = ongoing.body.transactionStates.find((s) => s.transactionalId === 'vis-1')
      expect(mine).toMatchObject({ transactionState: 'Ongoing' })
      const byPid = await c.request<ListTransactionsResponse>(ApiKey.ListTransactions, 1, {
        stateFilters: [],
        producerIdFilters: [mine!.producerId],
        durationFilter: -1,
      })
      expect(byPid.body.transactionStates.map((s) => s.transactionalId)).toEqual(['vis-1'])
      const longRunning = await c.request<ListTransactionsResponse>(ApiKey.ListTransactions, 1, {
        stateFilters: [],
        producerIdFilters: [],
        durationFilter: 3_600_000,
      })
      expect(longRunning.body.transactionStates).toEqual([])

      const described = await c.request<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, 0, { transactionalIds: ['vis-1', 'nope'] })
      const [d, missing] = described.body.transactionStates
      expect(d).toMatchObject({ errorCode: ErrorCode.NONE, transactionState: 'Ongoing', transactionTimeoutMs: 30000, producerId: mine!.producerId })
      expect(d!.transactionStartTimeMs).toBeGreaterThan(0)
      expect(d!.topics).toEqual([{ topic, partitions: expect.arrayContaining([0, 1]) }])
      expect(missing!.errorCode).toBe(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND)
      await t.commit()
    } finally {
      c.close()
      await producer.disconnect()
    }
  })
})

describe('broker restart mid-transaction', () => {
  it('aborts the open transaction on restart so read_committed readers are not stuck', async () => {
    const dir = await makeTempDir('samsa-txn-restart-')
    try {
      let broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
      await createTopics(broker.address, ['restart-out', 2])
      const k = kafkaClient(broker.address)
      const committer = await txnProducer(k, 'restart-c')
      const tc = await committer.transaction()
      await tc.send({ topic: 'restart-out', messages: [{ value: 'kept', partition: 0 }] })
      await tc.commit()
      await committer.disconnect()
      const producer = await txnProducer(k, 'restart-1')
      const t = await producer.transaction()
      await t.send({ topic: 'restart-out', messages: [{ value: 'lost-0', partition: 0 }, { value: 'lost-1', partition: 1 }] })
      expect(await latestOffset(broker.address, 'restart-out', 0, 1)).toBe(2)
      await producer.disconnect().catch(() => {})
      await broker.stop()

      broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
      try {
        // aborted once the coordinator has read its state back, which it does after it serves
        const b = broker
        for (const p of [0, 1]) {
          await waitFor(async () => (await latestOffset(b.address, 'restart-out', p, 1)) === (await latestOffset(b.address, 'restart-out', p, 0)), { what: `the LSO of partition ${p} at its high watermark` })
        }
        const c = await WireClient.connect(broker.address)
        const state = await waitFor(async () => {
          const { body } = await c.request<DescribeTransactionsResponse>(ApiKey.DescribeTransactions, 0, { transactionalIds: ['restart-1'] })
          return body.transactionStates[0]!.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? undefined : body.transactionStates[0]
        }, { what: 'DescribeTransactions after the restart' })
        c.close()
        expect(state).toMatchObject({ errorCode: ErrorCode.NONE, transactionState: 'CompleteAbort' })
        expect(await consumeValues(kafkaClient(broker.address), 'restart-out', false, 1)).toEqual(['kept'])
      } finally {
        await broker.stop()
      }
    } finally {
      await removeDir(dir)
    }
  })
})
