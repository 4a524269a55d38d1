// A broker cut off from etcd stops acting as leader once its lease can no longer be renewed: it
// answers NOT_LEADER_OR_FOLLOWER to a produce (so an acks=1 write cannot be acknowledged by a
// leader the controller has already replaced, and truncated away later) and its Metadata names no
// leader it was. Once etcd is reachable again it registers anew, reloads the metadata and serves.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { WireClient } from '../helpers/wire.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'fenced'

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'lease-fencing-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100 } })
}

/** The leader of partition 0 as the broker at `address` tells it; -1 for LEADER_NOT_AVAILABLE. */
async function leaderSeenBy(address: string): Promise<number> {
  try {
    const md = await withAdmin(kafka([address]), (a) => a.fetchTopicMetadata({ topics: [TOPIC] }))
    return md.topics[0]!.partitions[0]!.leader
  } catch (err) {
    for (let e = err as { type?: string; cause?: unknown } | undefined; e !== undefined; e = e.cause as typeof e) {
      if (e.type === 'LEADER_NOT_AVAILABLE') return -1
    }
    throw err
  }
}

/** One acks=`acks` produce to partition 0, sent to the broker at `address` and no other. */
async function produceTo(address: string, acks: number, value: string): Promise<number> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 7, {
      transactionalId: null,
      acks,
      timeoutMs: 5000,
      topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeBatch([{ value }]) }] }],
    })
    return body.responses[0]!.partitionResponses[0]!.errorCode
  } finally {
    c.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('a leader cut off from etcd (two brokers, each with its own way to etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(2, { 'auto.leader.rebalance.enable': 'true', 'leader.imbalance.check.interval.seconds': '1' }, { etcdProxies: true })
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 2 }], waitForLeaders: true }))
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('answers NOT_LEADER_OR_FOLLOWER once its lease lapses, and leads again after it rejoins', async () => {
    const leader = await leaderSeenBy(cluster.bootstrap()[0]!)
    const other = leader === 1 ? 2 : 1
    const isolated = cluster.address(leader)
    expect(await produceTo(isolated, 1, 'before')).toBe(ErrorCode.NONE)

    cluster.broker(leader).etcdProxy!.cut()
    await waitFor(async () => (await leaderSeenBy(cluster.address(other))) === other, { timeoutMs: 20_000, intervalMs: 200, what: `broker ${other} leading after broker ${leader} lost etcd` })
    expect(await produceTo(isolated, 1, 'to the replaced leader')).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
    expect(await leaderSeenBy(isolated)).not.toBe(leader)
    expect(await produceTo(cluster.address(other), 1, 'to the new leader')).toBe(ErrorCode.NONE)

    cluster.broker(leader).etcdProxy!.heal()
    // Back in the cluster, it follows, catches up, rejoins the ISR and, as the preferred replica, leads again.
    await waitFor(async () => (await produceTo(isolated, -1, 'after rejoining')) === ErrorCode.NONE, { timeoutMs: 30_000, intervalMs: 300, what: `broker ${leader} accepting produce again` })
    expect(await leaderSeenBy(isolated)).toBe(leader)
  }, 90_000)
})
