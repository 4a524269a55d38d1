// The high watermark checkpoint through kill -9, on three brokers and a real etcd. Every replica
// writes replication-offset-checkpoint while it runs (Kafka's format); a follower killed with SIGKILL
// keeps the file as it was, and when it comes back it starts the partition's high watermark from it
// (not from its log start), before it has heard from the leader: the leader is frozen with SIGSTOP
// meanwhile, within its etcd lease, so the only source of that high watermark is the file. Once
// the leader runs again the follower catches up and rejoins the ISR, and consumers read every
// acknowledged record and nothing else.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ListOffsetsApi } from '../../protocol/generated/list-offsets.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { REPLICATION_OFFSET_CHECKPOINT } from '../../storage/high-watermark-checkpoint.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { readPartition } from '../helpers/read-partition.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'hw-kill9'
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
const LEADER = 1
const FOLLOWER = 3
const COUNT = 20

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'hw-kill9-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } })
}

async function connect(address: string): Promise<BrokerConnection> {
  return BrokerConnection.connect(address, { clientId: 'hw-kill9-test', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
}

/** Partition 0's leader and ISR as `address` tells them. */
async function partition0(address: string): Promise<{ leader: number; isr: number[] }> {
  const conn = await connect(address)
  try {
    const md = await conn.request(MetadataApi, 12, { topics: [{ topicId: ZERO_UUID, name: TOPIC }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
    const p = md.topics[0]?.partitions.find((x) => x.partitionIndex === 0)
    return p === undefined ? { leader: -1, isr: [] } : { leader: p.leaderId, isr: [...p.isrNodes].sort() }
  } finally {
    conn.close()
  }
}

/** The high watermark a replica holds, leader or not (ListOffsets as Kafka's debugging replica, -2). */
async function replicaHighWatermark(address: string): Promise<number> {
  const conn = await connect(address)
  try {
    const res = await conn.request(ListOffsetsApi, 7, { replicaId: -2, isolationLevel: 0, timeoutMs: 5000, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] })
    const p = res.topics[0]!.partitions[0]!
    if (p.errorCode !== ErrorCode.NONE) throw new Error(`ListOffsets answered ${p.errorCode}`)
    return Number(p.offset)
  } finally {
    conn.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('high watermark checkpoint through kill -9 (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    // The leader's lease outlasts its freeze below; the follower's runs out soon after its kill, so
    // it can register again at once.
    cluster = await TestCluster.start(3, { 'replica.high.watermark.checkpoint.interval.ms': '100' }, {
      nodeConfig: (nodeId): Record<string, string> => (nodeId === FOLLOWER ? {} : { 'broker.session.timeout.ms': '12000' }),
    })
    await withAdmin(kafka(cluster.bootstrap()), (a) =>
      a.createTopics({ topics: [{ topic: TOPIC, replicaAssignment: [{ partition: 0, replicas: [LEADER, 2, FOLLOWER] }] }], waitForLeaders: true }),
    )
  }, 60_000)
  afterAll(async () => {
    const leader = cluster?.broker(LEADER).child
    if (leader !== undefined) leader.proc.kill('SIGCONT')
    await cluster?.stop()
  })

  it('restores a killed follower\'s high watermark from the file, before it has fetched', async () => {
    await waitFor(async () => {
      const p = await partition0(cluster.address(LEADER))
      return p.leader === LEADER && p.isr.length === 3
    }, { timeoutMs: 15_000, what: 'broker 1 leading with a full ISR' })
    const producer = kafka(cluster.bootstrap()).producer({ allowAutoTopicCreation: false, idempotent: true })
    await producer.connect()
    try {
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: COUNT }, (_, i) => ({ partition: 0, value: `v${i}` })) })
    } finally {
      await producer.disconnect()
    }
    // Kafka's format, on every replica once the followers have the leader's high watermark.
    const expected = `0\n1\n${TOPIC} 0 ${COUNT}\n`
    const file = (nodeId: number) => readFile(path.join(cluster.broker(nodeId).dataDir, REPLICATION_OFFSET_CHECKPOINT), 'utf8').catch(() => '')
    await waitFor(async () => (await Promise.all([1, 2, 3].map(file))).every((t) => t === expected), { timeoutMs: 15_000, what: 'the checkpoint on every replica' })

    await cluster.kill(FOLLOWER)
    expect(await file(FOLLOWER)).toBe(expected)
    await waitFor(async () => !(await partition0(cluster.address(LEADER))).isr.includes(FOLLOWER), { timeoutMs: 15_000, what: 'the killed follower out of the ISR' })

    // The leader stops answering; the follower comes back and takes its role from the etcd metadata.
    const leader = cluster.broker(LEADER).child!
    leader.proc.kill('SIGSTOP')
    const logLevelBefore = process.env.SAMSA_LOG_LEVEL
    process.env.SAMSA_LOG_LEVEL = 'info'
    let restarted
    try {
      restarted = await cluster.startBroker(FOLLOWER)
    } finally {
      if (logLevelBefore === undefined) delete process.env.SAMSA_LOG_LEVEL
      else process.env.SAMSA_LOG_LEVEL = logLevelBefore
    }
    let frozenHighWatermark: number
    try {
      await waitFor(() => restarted.output().includes('following partition'), { timeoutMs: 15_000, what: 'the restarted broker to follow the partition' })
      frozenHighWatermark = await replicaHighWatermark(restarted.address)
    } finally {
      leader.proc.kill('SIGCONT')
    }
    expect(frozenHighWatermark).toBe(COUNT)

    await waitFor(async () => (await partition0(cluster.address(LEADER))).isr.includes(FOLLOWER), { timeoutMs: 20_000, what: 'the follower back in the ISR' })
    expect(await replicaHighWatermark(restarted.address)).toBe(COUNT)
    const read = await readPartition(cluster.address(LEADER), TOPIC, 0)
    expect(read.highWatermark).toBe(COUNT)
    expect(read.records.map(([, v]) => v)).toEqual(Array.from({ length: COUNT }, (_, i) => `v${i}`))
  }, 60_000)
})
