// transaction.partition.verification.enable (Kafka 3.6+, KIP-890; dynamic, default true). With it on,
// a transactional batch for a partition the producer never added to its transaction is refused
// with INVALID_TXN_STATE; with it off the broker accepts it, as Kafka does (Kafka's own CI runs
// clients that way). Raw Produce requests over a socket, since real clients always add the
// partition first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../protocol/generated/index.js'
import type { IncrementalAlterConfigsResponse } from '../../protocol/generated/incremental-alter-configs.js'
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ErrorCode } from '../../protocol/errors.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, WireClient } from '../helpers/wire.js'

const BROKER_RESOURCE = 4
const SET = 0

async function initProducer(c: WireClient, transactionalId: string): Promise<{ producerId: number; producerEpoch: number }> {
  const { body } = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
    transactionalId,
    transactionTimeoutMs: 60_000,
    producerId: -1,
    producerEpoch: -1,
  })
  expect(body.errorCode).toBe(ErrorCode.NONE)
  return body
}

/** Produces one transactional batch to `topic`-0 without AddPartitionsToTxn; returns its error code. */
async function produceUnadded(c: WireClient, transactionalId: string, topic: string, seq: number): Promise<number> {
  const { producerId, producerEpoch } = await initProducer(c, transactionalId)
  const records = encodeBatch([{ value: `v${seq}` }], { producerId, producerEpoch, baseSequence: 0, transactional: true })
  const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records }] }],
  })
  return body.responses[0]!.partitionResponses[0]!.errorCode
}

async function setVerification(c: WireClient, value: string): Promise<void> {
  const { body } = await c.request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: BROKER_RESOURCE, resourceName: '', configs: [{ name: 'transaction.partition.verification.enable', configOperation: SET, value }] }],
    validateOnly: false,
  })
  expect(body.responses[0]!.errorCode).toBe(ErrorCode.NONE)
}

describe('transaction.partition.verification.enable', () => {
  const brokers: TestBroker[] = []
  const clients: WireClient[] = []
  afterAll(async () => {
    for (const c of clients) c.close()
    for (const b of brokers) await b.stop()
  })
  async function connect(config: Record<string, string>): Promise<WireClient> {
    const tb = await startTestBroker(config)
    brokers.push(tb)
    const c = await WireClient.connect(tb.address)
    clients.push(c)
    await createTopics(c, [{ name: 'tv', partitions: 1 }])
    return c
  }

  let dynamic: WireClient
  beforeAll(async () => {
    dynamic = await connect({})
  })

  it('refuses a write to a partition outside the transaction by default', async () => {
    expect(await produceUnadded(dynamic, 'tv-default', 'tv', 0)).toBe(ErrorCode.INVALID_TXN_STATE)
  })

  it('accepts it once verification is turned off at run time, and refuses again when back on', async () => {
    await setVerification(dynamic, 'false')
    expect(await produceUnadded(dynamic, 'tv-off', 'tv', 1)).toBe(ErrorCode.NONE)
    await setVerification(dynamic, 'true')
    expect(await produceUnadded(dynamic, 'tv-on-again', 'tv', 2)).toBe(ErrorCode.INVALID_TXN_STATE)
  })

  it('accepts it when the broker starts with verification off', async () => {
    const c = await connect({ 'transaction.partition.verification.enable': 'false' })
    expect(await produceUnadded(c, 'tv-static', 'tv', 0)).toBe(ErrorCode.NONE)
  })
})
