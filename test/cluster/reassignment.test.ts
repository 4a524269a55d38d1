// Partition reassignment end to end (KIP-455): three brokers and a real etcd. A topic on brokers
// {1,2} with records in it moves to {2,3} through kafkajs's alterPartitionReassignments: broker 3
// catches up as a follower, the replicas become [2,3], broker 1 (the old leader) loses its copy,
// and a consumer still reads every record. A reassignment that cannot finish (its new replica's
// broker is frozen) is listed with its adding and removing replicas and then cancelled, also
// through `samsa reassign`. A broker that was down while its replica moved away deletes that data
// when it comes back. Kafka's
// error codes for bad requests, and NOT_CONTROLLER from a broker that is not the controller.
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin, PartitionMetadata } from 'kafkajs'
import { AlterPartitionReassignmentsApi } from '../../protocol/generated/alter-partition-reassignments.js'
import { ListPartitionReassignmentsApi } from '../../protocol/generated/list-partition-reassignments.js'
import { ErrorCode } from '../../protocol/errors.js'
import { batchSizeAt } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { withAdminClient } from '../../broker/client/admin-client.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { resolveLogConfig } from '../../storage/log-config.js'
import { etcdMissing, TestCluster } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { jsonLines, samsa } from '../cli/harness.js'

const { Kafka, logLevel } = kafkajs
const MOVED = 'moved'
const COUNT = 300

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'reassignment-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } })
}

/** A kafkajs admin bootstrapped from every broker, or from `nodeId` alone (while another is frozen). */
async function withAdmin<T>(cluster: TestCluster, fn: (a: Admin) => Promise<T>, nodeId?: number): Promise<T> {
  const a = kafka(nodeId === undefined ? cluster.bootstrap() : [cluster.address(nodeId)]).admin()
  await a.connect()
  try {
    return await fn(a)
  } finally {
    await a.disconnect()
  }
}

async function partition0(cluster: TestCluster, topic: string): Promise<PartitionMetadata> {
  return withAdmin(cluster, async (a) => (await a.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.find((p) => p.partitionId === 0)!)
}

async function controllerId(cluster: TestCluster): Promise<number> {
  return waitFor(() => withAdmin(cluster, async (a) => {
    const id = (await a.describeCluster()).controller
    return id !== null && id >= 0 ? id : undefined
  }), { what: 'a controller' })
}

async function connect(cluster: TestCluster, nodeId: number): Promise<BrokerConnection> {
  return BrokerConnection.connect(cluster.address(nodeId), { clientId: 'reassignment-test', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
}

async function alter(cluster: TestCluster, nodeId: number, topic: string, replicas: number[] | null) {
  const conn = await connect(cluster, nodeId)
  try {
    return await conn.request(AlterPartitionReassignmentsApi, 0, { timeoutMs: 10_000, topics: [{ name: topic, partitions: [{ partitionIndex: 0, replicas }] }] })
  } finally {
    conn.close()
  }
}

async function list(cluster: TestCluster, nodeId: number) {
  const conn = await connect(cluster, nodeId)
  try {
    return await conn.request(ListPartitionReassignmentsApi, 0, { timeoutMs: 10_000, topics: null })
  } finally {
    conn.close()
  }
}

/** Offset and value of every record in a partition's files (the broker must be stopped). */
async function stored(dataDir: string, topic: string): Promise<Array<[number, string]>> {
  const log = PartitionLog.open({ dir: path.join(dataDir, `${topic}-0`), topic, partition: 0, config: resolveLogConfig({}, {}) })
  try {
    const bytes = (await log.read(0, 1 << 24)).records
    const out: Array<[number, string]> = []
    for (let pos = 0; pos < bytes.length; pos += batchSizeAt(bytes, pos)) {
      for (const r of iterateRecords(bytes, pos)) out.push([r.offset, Buffer.from(r.value!).toString()])
    }
    return out
  } finally {
    await log.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('partition reassignment (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    // A lease longer than the frozen broker's pause below, so that broker never has to register again.
    cluster = await TestCluster.start(3, { 'broker.session.timeout.ms': '8000' })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('answers bad requests with Kafka\'s errors, and only on the controller', async () => {
    await withAdmin(cluster, (a) => a.createTopics({ topics: [{ topic: 'checks', replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true }))
    const controller = await controllerId(cluster)
    const other = [1, 2, 3].find((id) => id !== controller)!
    const code = async (nodeId: number, topic: string, replicas: number[] | null) => (await alter(cluster, nodeId, topic, replicas)).responses[0]!.partitions[0]!.errorCode
    expect(await code(controller, 'checks', [1, 9])).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT)
    expect(await code(controller, 'checks', [2, 2])).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT)
    expect(await code(controller, 'checks', [])).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT)
    expect(await code(controller, 'checks', null)).toBe(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS)
    expect(await code(controller, 'nowhere', [1])).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect((await alter(cluster, other, 'checks', [2, 3])).errorCode).toBe(ErrorCode.NOT_CONTROLLER)
    expect((await list(cluster, other)).errorCode).toBe(ErrorCode.NOT_CONTROLLER)
    expect((await list(cluster, controller)).topics).toEqual([])
    // Nothing moved.
    expect((await partition0(cluster, 'checks')).replicas).toEqual([1, 2])
  }, 30_000)

  it('lists a reassignment that cannot finish, with its adding and removing replicas, and cancels it', async () => {
    const controller = await controllerId(cluster)
    const frozen = [1, 2, 3].find((id) => id !== controller)!
    const [a, b] = [1, 2, 3].filter((id) => id !== frozen) as [number, number]
    await withAdmin(cluster, (adm) => adm.createTopics({ topics: [{ topic: 'stuck', replicaAssignment: [{ partition: 0, replicas: [a, b] }] }], waitForLeaders: true }))
    const proc = cluster.broker(frozen).child!.proc
    // The new replica's broker is frozen (still registered: its lease outlasts the pause): it can never catch up.
    proc.kill('SIGSTOP')
    try {
      const res = await alter(cluster, controller, 'stuck', [a, frozen])
      expect(res.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
      const listed = await list(cluster, controller)
      expect(listed.topics).toEqual([{ name: 'stuck', partitions: [{ partitionIndex: 0, replicas: [a, frozen, b], addingReplicas: [frozen], removingReplicas: [b] }] }])

      // The same through `samsa reassign`, which asks its bootstrap broker for metadata and then
      // the controller, never the frozen broker.
      const cli = ['--bootstrap-server', cluster.address(controller), '--json', 'reassign']
      const shown = await samsa([...cli, '--list'])
      expect(shown.stderr).toBe('')
      expect(jsonLines(shown.stdout)).toEqual([{ topic: 'stuck', partition: 0, replicas: [a, frozen, b], addingReplicas: [frozen], removingReplicas: [b] }])
      const cancelled = await samsa([...cli, '--topic', 'stuck', '--partition', '0', '--cancel'])
      expect(cancelled.stderr).toBe('')
      expect(cancelled.code).toBe(0)
      expect((await list(cluster, controller)).topics).toEqual([])
      expect((await samsa([...cli, '--list'])).stdout).toBe('')
      expect((await alter(cluster, controller, 'stuck', null)).responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS)
      const again = await samsa([...cli, '--topic', 'stuck', '--partition', '0', '--cancel'])
      expect(again.code).not.toBe(0)
      expect(again.stderr).toContain('NO_REASSIGNMENT_IN_PROGRESS')
    } finally {
      proc.kill('SIGCONT')
    }
    // Back to the original replicas and leader (kafkajs may ask any broker, so only once none is frozen).
    await waitFor(() => withAdmin(cluster, async (adm) => (await adm.describeCluster()).brokers.length === 3, controller), { timeoutMs: 15_000, what: `broker ${frozen} registered again` })
    const back = await partition0(cluster, 'stuck')
    expect(back.replicas).toEqual([a, b])
    expect(back.leader).toBe(a)
  }, 30_000)

  it('deletes the data of a replica that moved away while its broker was down, once it is back', async () => {
    await withAdmin(cluster, (a) => a.createTopics({ topics: [{ topic: 'away', replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true }))
    await waitFor(async () => (await partition0(cluster, 'away')).isr.length === 2, { what: 'both replicas in sync' })
    const producer = kafka(cluster.bootstrap()).producer({ allowAutoTopicCreation: false })
    await producer.connect()
    await producer.send({ topic: 'away', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ partition: 0, value: `a${i}` })) })
    await producer.disconnect()
    await cluster.stopBroker(1)
    await waitFor(async () => (await partition0(cluster, 'away')).leader === 2, { timeoutMs: 15_000, what: 'broker 2 leading' })
    await withAdmin(cluster, (a) => a.alterPartitionReassignments({ topics: [{ topic: 'away', partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }] }))
    await waitFor(async () => {
      const p = await partition0(cluster, 'away')
      return p.replicas.join() === '2,3' && p.isr.length === 2
    }, { timeoutMs: 15_000, what: 'replicas [2,3] in sync' })
    const dataDir = cluster.broker(1).dataDir
    expect((await stored(dataDir, 'away')).length).toBe(20)
    await cluster.startBroker(1)
    const sizeOnBroker1 = () => withAdminClient({ bootstrap: [cluster.address(1)], clientId: 'reassignment-test' }, async (c) => {
      const dirs = await c.describeLogDirs([{ topic: 'away', partitions: [0] }], 1)
      return dirs.flatMap((d) => d.partitions).find((p) => p.topic === 'away')?.sizeBytes
    })
    // DescribeLogDirs reports only replicas a broker holds (sizeOnBroker1 is undefined then), and
    // the segments it had are gone from its data directory.
    const logBytesOnDisk = async () => {
      const dir = path.join(dataDir, 'away-0')
      const names = await readdir(dir).catch(() => [] as string[])
      let total = 0
      for (const n of names.filter((x) => x.endsWith('.log'))) total += (await stat(path.join(dir, n))).size
      return total
    }
    await waitFor(async () => (await sizeOnBroker1()) === undefined && (await logBytesOnDisk()) === 0, { timeoutMs: 15_000, what: 'broker 1 dropping its copy' })
  }, 40_000)

  it('moves a partition from {1,2} to {2,3}: broker 3 gets every record, broker 1 loses its copy', async () => {
    await withAdmin(cluster, (a) => a.createTopics({ topics: [{ topic: MOVED, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true }))
    await waitFor(async () => (await partition0(cluster, MOVED)).isr.length === 2, { what: 'both replicas in sync' })
    const producer = kafka(cluster.bootstrap()).producer({ allowAutoTopicCreation: false })
    await producer.connect()
    const sent: string[] = []
    try {
      for (let i = 0; i < COUNT; i += 50) {
        const values = Array.from({ length: 50 }, (_, j) => `v${i + j}`)
        await producer.send({ topic: MOVED, acks: -1, messages: values.map((value) => ({ partition: 0, value })) })
        sent.push(...values)
      }
    } finally {
      await producer.disconnect()
    }
    expect((await partition0(cluster, MOVED)).leader).toBe(1)

    await withAdmin(cluster, (a) => a.alterPartitionReassignments({ topics: [{ topic: MOVED, partitionAssignment: [{ partition: 0, replicas: [2, 3] }] }] }))
    const after = await waitFor(async () => {
      const p = await partition0(cluster, MOVED)
      return p.replicas.join() === '2,3' && p.isr.length === 2 ? p : undefined
    }, { timeoutMs: 15_000, what: 'replicas [2,3] in sync' })
    expect(after.leader).toBe(2)
    expect([...after.isr].sort()).toEqual([2, 3])
    const ongoing = await withAdmin(cluster, (a) => a.listPartitionReassignments({}))
    expect(ongoing.topics).toEqual([])

    // A consumer reads every record from the new leader.
    const consumer = kafka(cluster.bootstrap()).consumer({ groupId: 'after-move' })
    const read: string[] = []
    await consumer.connect()
    try {
      await consumer.subscribe({ topic: MOVED, fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => void read.push(message.value!.toString()) })
      await waitFor(() => read.length >= COUNT, { timeoutMs: 15_000, what: 'every record consumed' })
    } finally {
      await consumer.disconnect()
    }
    expect(read).toEqual(sent)

    // Broker 1's copy is gone; broker 3's files hold what broker 2's do, every record at its offset.
    const oldDir = path.join(cluster.broker(1).dataDir, `${MOVED}-0`)
    await cluster.kill(1)
    await cluster.kill(3)
    await cluster.kill(2)
    const expected = sent.map((v, i): [number, string] => [i, v])
    expect(await stored(cluster.broker(2).dataDir, MOVED)).toEqual(expected)
    expect(await stored(cluster.broker(3).dataDir, MOVED)).toEqual(expected)
    expect(await stored(cluster.broker(1).dataDir, MOVED), `broker 1's ${oldDir}`).toEqual([])
  }, 40_000)
})
