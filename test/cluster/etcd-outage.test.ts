// Losing etcd loses no service that needs no metadata change: with etcd killed, brokers stay up,
// keep their leadership and accept produce, and every broker's Metadata answers as before;
// metadata changes are refused with a retriable error, and go through again once etcd is back.
// A follower that dies while etcd is down stays in the ISR, since shrinking it needs etcd: acks=all
// waits for it and times out rather than being acknowledged against an ISR etcd never committed,
// until etcd is back and the dead broker leaves the ISR. (An outage longer than the session
// timeout, with a consumer group and a check of every replica's log: etcd-loss.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { WireClient } from '../helpers/wire.js'
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'

const { Kafka, logLevel } = kafkajs

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'etcd-outage-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } })
}

/** One acks=all produce to partition 0 of `topic`, sent to the broker at `address` and no other. */
async function produceAll(address: string, topic: string, value: string): Promise<number> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 1500,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch([{ value }]) }] }],
    })
    return body.responses[0]!.partitionResponses[0]!.errorCode
  } finally {
    c.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('cluster without etcd (two brokers)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    // Followers leave the ISR after a second, so the leader tries to drop the dead one during the outage.
    cluster = await TestCluster.start(2, { 'replica.lag.time.max.ms': '1000' })
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: 'steady', numPartitions: 2, replicationFactor: 2 }], waitForLeaders: true }))
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('keeps brokers serving while etcd is down and takes metadata changes again once it is back', async () => {
    const before = await withAdmin(kafka(cluster.bootstrap()), (a) => a.fetchTopicMetadata({ topics: ['steady'] }))
    await cluster.etcd.kill()

    const producer = kafka(cluster.bootstrap()).producer({ allowAutoTopicCreation: false })
    await producer.connect()
    try {
      const sent = await producer.send({ topic: 'steady', acks: -1, messages: [{ partition: 0, value: 'a' }, { partition: 1, value: 'b' }] })
      expect(sent.every((r) => r.errorCode === 0)).toBe(true)
    } finally {
      await producer.disconnect()
    }
    for (const b of cluster.brokers) {
      const md = await withAdmin(kafka([cluster.address(b.nodeId)]), (a) => a.fetchTopicMetadata({ topics: ['steady'] }))
      expect(md).toEqual(before)
    }
    const refused = await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: 'later', numPartitions: 1, replicationFactor: 2 }] })).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(Error)
    for (const b of cluster.brokers) expect(b.child!.proc.exitCode).toBeNull()

    await cluster.etcd.run()
    await waitFor(
      () => withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: 'later', numPartitions: 1, replicationFactor: 2 }], waitForLeaders: true })).then(() => true),
      { timeoutMs: 20_000, intervalMs: 500, what: 'CreateTopics after etcd returned' },
    )
    const described = await withAdmin(kafka(cluster.bootstrap()), (a) => a.describeCluster())
    expect(described.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2])
    const later = await withAdmin(kafka(cluster.bootstrap()), (a) => a.fetchTopicMetadata({ topics: ['later'] }))
    expect([...later.topics[0]!.partitions[0]!.replicas].sort()).toEqual([1, 2])
  })

  it('holds acks=all back while a follower that died during the outage is still in the ISR etcd has', async () => {
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: 'held', numPartitions: 1, replicationFactor: 2 }], waitForLeaders: true }))
    const md = await withAdmin(kafka(cluster.bootstrap()), (a) => a.fetchTopicMetadata({ topics: ['held'] }))
    const leader = md.topics[0]!.partitions[0]!.leader
    const follower = leader === 1 ? 2 : 1
    const address = cluster.address(leader)
    expect(await produceAll(address, 'held', 'before')).toBe(ErrorCode.NONE)

    const child = cluster.broker(leader).child!
    const refusals = () => child.output().split('ISR change refused').length - 1
    const refusedBefore = refusals()
    await cluster.etcd.kill()
    await cluster.kill(follower)
    expect(await produceAll(address, 'held', 'during')).toBe(ErrorCode.REQUEST_TIMED_OUT)
    // Behind now, the dead follower is due to leave the ISR; the leader tries and cannot, etcd not answering.
    await waitFor(() => refusals() > refusedBefore, { timeoutMs: 20_000, what: 'the leader trying to shrink the ISR' })
    expect(await produceAll(address, 'held', 'during, after the refused shrink')).toBe(ErrorCode.REQUEST_TIMED_OUT)

    await cluster.etcd.run()
    // The dead follower's lease runs out, the controller drops it from the ISR, and acks=all goes through.
    await waitFor(async () => (await produceAll(address, 'held', 'after')) === ErrorCode.NONE, { timeoutMs: 20_000, intervalMs: 300, what: 'acks=all once the dead follower left the ISR' })
    // Metadata is answered from the broker's copy of etcd, which the watch brings up to date a
    // moment after the leader's own compare-and-set answered: wait for it to show the shrink.
    const isr = await waitFor(
      async () => {
        const after = await withAdmin(kafka([address]), (a) => a.fetchTopicMetadata({ topics: ['held'] }))
        const named = after.topics[0]!.partitions[0]!.isr
        return named.length === 1 ? named : undefined
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'Metadata naming the shrunk ISR' },
    )
    expect(isr).toEqual([leader])
  })
})
