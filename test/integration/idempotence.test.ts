// The idempotent producer: kafkajs retries a produce whose response never arrived (a proxy between
// it and the broker drops it by closing the connection) and the broker answers the retry with the
// original offsets instead of writing the batch twice. The raw-protocol cases pin the error codes.
import type net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import type { DescribeProducersResponse } from '../../protocol/generated/describe-producers.js'
import { kafkaClient } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { WireClient, readPartition } from '../helpers/wire.js'
import { DroppingProxy } from '../helpers/dropping-proxy.js'

let broker: RunningBroker
let proxy: DroppingProxy
let dataDir: string

beforeAll(async () => {
  dataDir = await makeTempDir('samsa-idem-')
  proxy = new DroppingProxy(new Set([1, 6]))
  const proxyPort = await proxy.listen()
  broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, advertisedPort: proxyPort, logLevel: 'silent' })
  proxy.target = broker.port
})

afterAll(async () => {
  await proxy?.close()
  await broker?.stop()
  await removeDir(dataDir)
})

const direct = (): string => `127.0.0.1:${broker.port}`

describe('kafkajs idempotent producer under retries', () => {
  it('writes every record exactly once when produce responses are lost', async () => {
    const topic = 'idem-retries'
    const admin = kafkaClient(direct()).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.disconnect()

    const kafka = kafkaClient(`127.0.0.1:${(proxy.server.address() as net.AddressInfo).port}`, {
      retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 500 },
    })
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    try {
      for (let i = 0; i < 12; i++) {
        await producer.send({ topic, acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] })
      }
    } finally {
      await producer.disconnect()
    }
    // both drops happened, and each dropped request was sent again
    expect(proxy.dropped).toBe(2)
    expect(proxy.produceRequests).toBe(14)
    const records = await readPartition(direct(), topic, 0)
    expect(records.map((r) => r.offset)).toEqual([...Array(12).keys()])
    expect(records.map((r) => Buffer.from(r.value!).toString())).toEqual(Array.from({ length: 12 }, (_, i) => `v${i}`))
  })
})

describe('idempotent produce on the wire', () => {
  const topic = 'idem-wire'

  async function produce(c: WireClient, pid: number, epoch: number, seq: number, count: number): Promise<{ errorCode: number; baseOffset: number }> {
    const records = encodeBatch(
      Array.from({ length: count }, (_, i) => ({ value: `s${seq + i}` })),
      { producerId: pid, producerEpoch: epoch, baseSequence: seq },
    )
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
    })
    return body.responses[0]!.partitionResponses[0]!
  }

  it('answers retries with the original offset and rejects gaps and stale epochs', async () => {
    const admin = kafkaClient(direct()).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.disconnect()
    const c = await WireClient.connect(direct())
    try {
      const init = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60000,
        producerId: -1,
        producerEpoch: -1,
      })
      expect(init.body.errorCode).toBe(ErrorCode.NONE)
      const pid = init.body.producerId
      expect(pid).toBeGreaterThanOrEqual(0)

      expect(await produce(c, pid, 0, 0, 3)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 })
      expect(await produce(c, pid, 0, 3, 2)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 3 })
      expect(await produce(c, pid, 0, 0, 3)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 })
      expect((await produce(c, pid, 0, 9, 1)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)

      // KIP-360: the producer resumes with its id and the next epoch, starting over at sequence 0
      const bumped = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
        transactionalId: null,
        transactionTimeoutMs: 60000,
        producerId: pid,
        producerEpoch: 0,
      })
      expect(bumped.body).toMatchObject({ errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: 1 })
      expect(await produce(c, pid, 1, 0, 1)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 5 })
      expect((await produce(c, pid, 0, 5, 1)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)

      const described = await c.request<DescribeProducersResponse>(ApiKey.DescribeProducers, 0, {
        topics: [{ name: topic, partitionIndexes: [0, 7] }],
      })
      const [p0, p7] = described.body.topics[0]!.partitions
      expect(p0!.activeProducers).toEqual([
        { producerId: pid, producerEpoch: 1, lastSequence: 0, lastTimestamp: expect.any(Number), coordinatorEpoch: -1, currentTxnStartOffset: -1 },
      ])
      expect(p7!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    } finally {
      c.close()
    }
    expect((await readPartition(direct(), topic, 0)).map((r) => Buffer.from(r.value!).toString())).toEqual(['s0', 's1', 's2', 's3', 's4', 's0'])
  })
})

describe('producer id allocation', () => {
  it('never hands out an id twice, across a restart', async () => {
    const dir = await makeTempDir('samsa-pid-')
    const init = async (address: string): Promise<number> => {
      const c = await WireClient.connect(address)
      try {
        const { body } = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 1000 })
        expect(body.errorCode).toBe(ErrorCode.NONE)
        return body.producerId
      } finally {
        c.close()
      }
    }
    try {
      const first = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
      const before = [await init(first.address), await init(first.address), await init(first.address)]
      await first.stop()
      const second = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
      const after = [await init(second.address), await init(second.address)]
      await second.stop()
      expect(new Set([...before, ...after]).size).toBe(5)
      expect(Math.min(...after)).toBeGreaterThan(Math.max(...before))
    } finally {
      await removeDir(dir)
    }
  })
})
