// kill -9 with producer state in flight: a broker in a child process is killed with an idempotent
// producer's batches and an open transaction in its log. After the restart the producer state is
// rebuilt from the log (a retried batch still gets its original offset), the open transaction is
// aborted, and read_committed readers move past it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import type { ListOffsetsResponse } from '../../protocol/generated/list-offsets.js'
import { kafkaClient } from '../helpers/broker.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { waitFor } from '../helpers/wait.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { WireClient, readPartition } from '../helpers/wire.js'

const children: ChildBroker[] = []
let dataDir: string

beforeAll(async () => {
  await ensureBuilt()
  dataDir = await makeTempDir('samsa-txn-kill9-')
}, 200_000)

afterAll(async () => {
  for (const c of children) await c.kill().catch(() => {})
  await removeDir(dataDir)
})

async function start(): Promise<ChildBroker> {
  const child = await startChildBroker(dataDir, { 'num.partitions': '1' })
  children.push(child)
  return child
}

async function produce(address: string, pid: number, seq: number, values: string[]): Promise<{ errorCode: number; baseOffset: number }> {
  const c = await WireClient.connect(address)
  try {
    const records = encodeBatch(values.map((value) => ({ value })), { producerId: pid, producerEpoch: 0, baseSequence: seq })
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: 'k9', partitionData: [{ index: 0, records }] }],
    })
    return body.responses[0]!.partitionResponses[0]!
  } finally {
    c.close()
  }
}

async function offsets(address: string): Promise<{ hw: number; lso: number }> {
  const c = await WireClient.connect(address)
  try {
    const at = async (isolationLevel: number) => {
      const { body } = await c.request<ListOffsetsResponse>(ApiKey.ListOffsets, 2, {
        replicaId: -1,
        isolationLevel,
        topics: [{ name: 'k9', partitions: [{ partitionIndex: 0, timestamp: -1, currentLeaderEpoch: -1, maxNumOffsets: 1 }] }],
      })
      return body.topics[0]!.partitions[0]!.offset
    }
    return { hw: await at(0), lso: await at(1) }
  } finally {
    c.close()
  }
}

describe('kill -9 with idempotent and transactional producers', () => {
  it('rebuilds producer state and aborts the open transaction after an unclean stop', async () => {
    let broker = await start()
    const admin = kafkaClient(broker.address).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'k9', numPartitions: 1 }] })
    await admin.disconnect()

    const c = await WireClient.connect(broker.address)
    const init = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 1000 })
    c.close()
    const pid = init.body.producerId
    expect(await produce(broker.address, pid, 0, ['i0', 'i1'])).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0 })
    expect(await produce(broker.address, pid, 2, ['i2'])).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2 })

    const producer = kafkaClient(broker.address).producer({ transactionalId: 'k9-txn', idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const t = await producer.transaction()
    await t.send({ topic: 'k9', acks: -1, messages: [{ value: 'open' }] })
    expect(await offsets(broker.address)).toEqual({ hw: 4, lso: 3 })
    await broker.kill()
    await producer.disconnect().catch(() => {})

    broker = await start()
    // the transaction is aborted on restart, once the coordinator has read its state back: a
    // marker follows it and the LSO catches up (until then the LSO stays at the open transaction)
    const settled = await waitFor(async () => {
      const o = await offsets(broker.address)
      return o.lso === o.hw ? o : undefined
    }, { what: 'the open transaction aborted' })
    expect(settled).toEqual({ hw: 5, lso: 5 })
    // the producer's last batch is known again: its retry is answered, not appended
    expect(await produce(broker.address, pid, 2, ['i2'])).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2 })
    expect((await produce(broker.address, pid, 7, ['gap'])).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER)
    expect(await produce(broker.address, pid, 3, ['i3'])).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 5 })
    const records = await readPartition(broker.address, 'k9', 0)
    expect(records.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5])
    // offset 4 is the abort marker, a control record readers skip
    const text = records.map((r) => Buffer.from(r.value!).toString())
    expect([0, 1, 2, 3, 5].map((i) => text[i])).toEqual(['i0', 'i1', 'i2', 'open', 'i3'])
    await broker.stop()
  }, 120_000)
})
