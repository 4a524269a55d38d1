// A leader cut off from etcd while the rest of the cluster is not keeps its roles, as a Kafka
// broker keeps them when it cannot reach its controller quorum; the controller elects another
// in-sync replica once its lease expires. That loses nothing acknowledged with acks=all: the new
// leader no longer fetches from the old one, so the old leader's acks=all writes time out instead
// of being acknowledged; its acks=1 writes are acknowledged and cut when it follows again, as in
// Kafka. A partition whose ISR is the isolated broker alone gets no other leader, so the old
// leader's acks=all writes there stand, and it leads them again once back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { WireClient } from '../helpers/wire.js'
import { readPartition } from '../helpers/read-partition.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'isolated'
const SOLO = 'solo'

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'etcd-partition-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 100 } })
}

/** The leader of partition 0 as the broker at `address` (and no other) tells it; -1 for none. */
async function leaderSeenBy(address: string, topic = TOPIC): Promise<number> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<MetadataResponse>(ApiKey.Metadata, 9, {
      topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: topic }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    return body.topics[0]!.partitions[0]!.leaderId
  } finally {
    c.close()
  }
}

/** One acks=`acks` produce to partition 0, sent to the broker at `address` and no other. */
async function produceTo(address: string, acks: number, value: string, topic = TOPIC): Promise<number> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 7, {
      transactionalId: null,
      acks,
      timeoutMs: 1500,
      topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch([{ value }]) }] }],
    })
    return body.responses[0]!.partitionResponses[0]!.errorCode
  } finally {
    c.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('a leader cut off from etcd (two brokers, each with its own way to etcd)', () => {
  let cluster: TestCluster
  let leader: number
  beforeAll(async () => {
    cluster = await TestCluster.start(2, { 'auto.leader.rebalance.enable': 'true', 'leader.imbalance.check.interval.seconds': '1' }, { etcdProxies: true })
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 2 }], waitForLeaders: true }))
    leader = await leaderSeenBy(cluster.bootstrap()[0]!)
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic: SOLO, replicaAssignment: [{ partition: 0, replicas: [leader] }] }], waitForLeaders: true }))
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('acknowledges nothing with acks=all that the new leader lacks, and follows the new leader once back', async () => {
    const other = leader === 1 ? 2 : 1
    const isolated = cluster.address(leader)
    expect(await produceTo(isolated, -1, 'before')).toBe(ErrorCode.NONE)
    expect(await produceTo(isolated, -1, 'solo before', SOLO)).toBe(ErrorCode.NONE)

    cluster.broker(leader).etcdProxy!.cut()
    await waitFor(async () => (await leaderSeenBy(cluster.address(other))) === other, { timeoutMs: 20_000, intervalMs: 200, what: `broker ${other} leading after broker ${leader} lost etcd` })
    // The isolated broker still leads as far as it knows, but its ISR's other member left it.
    expect(await leaderSeenBy(isolated)).toBe(leader)
    expect(await produceTo(isolated, -1, 'acks=all to the replaced leader')).toBe(ErrorCode.REQUEST_TIMED_OUT)
    expect(await produceTo(isolated, 1, 'acks=1 to the replaced leader')).toBe(ErrorCode.NONE)
    expect(await produceTo(cluster.address(other), -1, 'to the new leader')).toBe(ErrorCode.NONE)
    // Its own partition has no other leader to go to: the controller elects only from the ISR.
    expect(await leaderSeenBy(cluster.address(other), SOLO)).toBe(-1)
    expect(await produceTo(isolated, -1, 'solo during', SOLO)).toBe(ErrorCode.NONE)

    cluster.broker(leader).etcdProxy!.heal()
    // Back in the cluster, it follows, catches up, rejoins the ISR and, as the preferred replica, leads again.
    await waitFor(async () => (await produceTo(isolated, -1, 'after rejoining')) === ErrorCode.NONE, { timeoutMs: 30_000, intervalMs: 300, what: `broker ${leader} accepting produce again` })
    expect(await leaderSeenBy(isolated)).toBe(leader)
    await waitFor(async () => (await produceTo(isolated, -1, 'solo after', SOLO)) === ErrorCode.NONE, { timeoutMs: 30_000, intervalMs: 300, what: `broker ${leader} leading ${SOLO} again` })

    // What the replaced leader took alone was cut; both replicas hold the same log.
    const logs = await waitFor(
      async () => {
        const r = await Promise.all([leader, other].map((id) => readPartition(cluster.address(id), TOPIC, 0)))
        return r[0]!.highWatermark === r[1]!.highWatermark ? r : undefined
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'both replicas at one high watermark' },
    )
    expect(logs[0]!.records).toEqual(logs[1]!.records)
    const values = logs[0]!.records.map(([, v]) => v)
    expect(values.filter((v) => v !== 'after rejoining')).toEqual(['before', 'to the new leader'])
    expect((await readPartition(isolated, SOLO, 0)).records.map(([, v]) => v).filter((v) => v !== 'solo after')).toEqual(['solo before', 'solo during'])
  }, 90_000)
})
