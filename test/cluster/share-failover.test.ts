// Share groups on a three-broker cluster through broker deaths: the project's share consumer
// (explicit acknowledgement, commitSync after every poll) works through a kill -9 of the data
// partition's leader, and through a kill -9 of the share coordinator (the leader of the share
// partition's __share_group_state partition) followed by a move of the data partition's leadership.
// Each share partition is chosen so that its share coordinator is not the data partition's leader,
// so the leader writes the state over the network. Every record must end up acknowledged, and none
// whose acknowledgement was answered may be delivered again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { BrokerConnection } from '../../broker/client/connection.js'
import { Cluster } from '../../broker/client/cluster.js'
import { ShareConsumer } from '../../broker/client/share-consumer.js'
import { partitionForKey } from '../../broker/coordinator-state/state-topic.js'
import { ErrorCode } from '../../protocol/errors.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const STATE_PARTITIONS = 3
const RECORDS = 300
/** Polls in a row that may deliver nothing (failover takes a few seconds) before the test gives up. */
const MAX_IDLE_POLLS = 75

const kafka = (brokers: string[]) => new Kafka({ clientId: 'cluster-share-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } })

describe.skipIf(etcdMissing !== undefined)('share groups through broker deaths (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, {
      'offsets.topic.num.partitions': '3',
      'share.coordinator.state.topic.num.partitions': String(STATE_PARTITIONS),
      'group.share.heartbeat.interval.ms': '200',
      'group.share.min.heartbeat.interval.ms': '100',
      'group.share.record.lock.duration.ms': '5000',
      'group.share.min.record.lock.duration.ms': '1000',
    })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  /** Metadata through whichever broker answers. */
  async function metadata(topics: string[]) {
    const c = new Cluster({ bootstrap: cluster.bootstrap(), timeoutMs: 5000 })
    try {
      return await c.fetchMetadata(topics)
    } finally {
      await c.close()
    }
  }

  /** FindCoordinator key type 2, asked of one broker. */
  async function shareCoordinator(nodeId: number, key: string): Promise<{ errorCode: number; nodeId: number }> {
    const c = await BrokerConnection.connect(cluster.address(nodeId), { clientId: 'share-find', connectTimeoutMs: 5000, requestTimeoutMs: 5000 })
    try {
      const res = await c.request(FindCoordinatorApi, 6, { key: '', keyType: 2, coordinatorKeys: [key] })
      return { errorCode: res.coordinators[0]!.errorCode, nodeId: res.coordinators[0]!.nodeId }
    } finally {
      c.close()
    }
  }

  /**
   * A topic of one partition (replicated to all three brokers) and a group whose share partition
   * of it is coordinated by another broker than the partition's leader; every broker names that
   * coordinator, the leader of the key's __share_group_state partition.
   */
  async function setUp(topic: string): Promise<{ groupId: string; dataLeader: number; coordinator: number }> {
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true }))
    const t = (await metadata([topic])).topics[0]!
    const dataLeader = t.partitions[0]!.leader
    // Asking creates __share_group_state; its partitions get leaders soon after.
    const probeKey = `probe:${t.topicId}:0`
    await waitFor(async () => (await shareCoordinator(dataLeader, probeKey)).errorCode === ErrorCode.NONE, { timeoutMs: 15_000, what: 'a share coordinator' })
    const stateLeaders = (await metadata(['__share_group_state'])).topics[0]!.partitions.map((p) => p.leader)
    for (let i = 0; ; i++) {
      const groupId = `${topic}-group-${i}`
      const key = `${groupId}:${t.topicId}:0`
      const coordinator = stateLeaders[partitionForKey(key, STATE_PARTITIONS)]!
      if (coordinator === dataLeader) continue
      for (const b of cluster.brokers) expect(await shareCoordinator(b.nodeId, key)).toEqual({ errorCode: ErrorCode.NONE, nodeId: coordinator })
      return { groupId, dataLeader, coordinator }
    }
  }

  /**
   * Consumes `topic` until every record is acknowledged, calling `at(acked)` after each round;
   * returns the offsets delivered again after their acknowledgement was answered.
   */
  async function consumeAll(topic: string, groupId: string, at: (acked: number) => Promise<void>): Promise<{ acked: Set<number>; redelivered: number[] }> {
    const consumer = new ShareConsumer({ bootstrap: cluster.bootstrap(), groupId, acknowledgementMode: 'explicit', maxWaitMs: 200, maxRecords: 20, timeoutMs: 5000 })
    const acked = new Set<number>()
    const redelivered: number[] = []
    try {
      await consumer.connect()
      consumer.subscribe([topic])
      // The share partition starts at the log end (share.auto.offset.reset latest): produce once it exists.
      await waitFor(async () => {
        await consumer.poll()
        return consumer.assignment().get(topic)?.length === 1
      }, { timeoutMs: 15_000, what: 'an assignment' })
      await consumer.poll()
      const producer = kafka(cluster.bootstrap()).producer()
      await producer.connect()
      // Small batches: a share fetch hands out whole batches, and the test needs many rounds.
      for (let i = 0; i < RECORDS; i += 10) await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, j) => ({ value: `v${i + j}` })) })
      await producer.disconnect()
      for (let polls = 0, idle = 0; acked.size < RECORDS; polls++) {
        if (idle === MAX_IDLE_POLLS) throw new Error(`${acked.size} of ${RECORDS} records acknowledged, then ${MAX_IDLE_POLLS} polls without any`)
        // A poll or commit that fails while leadership moves is tried again by the next round.
        const records = await consumer.poll().catch(() => [])
        idle = records.length === 0 ? idle + 1 : 0
        for (const r of records) {
          if (acked.has(r.offset)) redelivered.push(r.offset)
          consumer.acknowledge(r)
        }
        const results = await consumer.commitSync().catch(() => [])
        for (const res of results) if (res.error === null) for (const o of res.offsets) acked.add(o)
        await at(acked.size)
      }
    } finally {
      await consumer.close().catch(() => {})
    }
    return { acked, redelivered }
  }

  it('consumes through a kill -9 of the data partition leader: nothing acknowledged comes back', async () => {
    const { groupId, dataLeader } = await setUp('sq-leader')
    let killed = false
    try {
      const { acked, redelivered } = await consumeAll('sq-leader', groupId, async (n) => {
        if (killed || n < RECORDS / 2) return
        killed = true
        await cluster.kill(dataLeader)
      })
      expect(killed).toBe(true)
      expect(redelivered).toEqual([])
      expect(acked.size).toBe(RECORDS)
    } finally {
      if (killed) await cluster.startBroker(dataLeader)
    }
  }, 60_000)

  it('consumes through a kill -9 of the share coordinator, then a leadership move: the new leader reads what the new coordinator took', async () => {
    const { groupId, dataLeader, coordinator } = await setUp('sq-coordinator')
    let step = 0
    try {
      const { acked, redelivered } = await consumeAll('sq-coordinator', groupId, async (n) => {
        if (step === 0 && n >= RECORDS / 3) {
          step = 1
          await cluster.kill(coordinator)
        } else if (step === 1 && n >= (2 * RECORDS) / 3) {
          step = 2
          // The killed broker comes back as a follower; the data partition's leader then stops
          // (controlled), so its leadership moves to a broker that never held the share partition.
          await cluster.startBroker(coordinator)
          await cluster.stopBroker(dataLeader)
        }
      })
      expect(step).toBe(2)
      expect(redelivered).toEqual([])
      expect(acked.size).toBe(RECORDS)
    } finally {
      if (step === 1) await cluster.startBroker(coordinator)
      if (step === 2) await cluster.startBroker(dataLeader)
    }
  }, 60_000)
})
