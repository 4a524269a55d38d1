// Replication throttles (KIP-73) on a real cluster: three brokers and etcd. Each broker gets
// leader.replication.throttled.rate and follower.replication.throttled.rate through
// IncrementalAlterConfigs with its own node id. Two topics on {1,2} with 2 MiB each then move to
// {1,2,3}: one throttled on its leaders only (leader.replication.throttled.replicas), the other on
// the new replica only (follower.replication.throttled.replicas), so each side is checked on its
// own: what broker 3 has of each stays within the rate times the time since the move started (plus
// the quota window's allowance) until the throttle is lifted, and then the moves complete. Meanwhile
// a third topic on {1,2}, throttled everywhere (`*`), takes 2 MiB with acks=all faster than the
// throttle would let it: its follower is in the ISR and never held back. `samsa reassign
// --throttle` sets those configs for a move, and `--verify` removes them once it is done.
import { readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { PartitionMetadata } from 'kafkajs'
import { DescribeConfigsApi } from '../../protocol/generated/describe-configs.js'
import { IncrementalAlterConfigsApi } from '../../protocol/generated/incremental-alter-configs.js'
import { ErrorCode } from '../../protocol/errors.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { sleep, waitFor } from '../helpers/wait.js'
import { jsonLines, samsa } from '../cli/harness.js'

const { Kafka, logLevel } = kafkajs
const KIB = 1024
const RATE = 128 * KIB
const TOPIC_BYTES = 2048 * KIB
/** replica.fetch.max.bytes below: the most one fetch of a partition takes past the quota. */
const FETCH_MAX = 64 * KIB
const BROKER = 4
const TOPIC = 2
const SET = 0
const DELETE = 1
const DYNAMIC_BROKER_CONFIG = 2
const TOPIC_CONFIG = 1
const DEFAULT_CONFIG = 5
const RATE_KEYS = ['follower.replication.throttled.rate', 'leader.replication.throttled.rate']
const LIST_KEYS = ['follower.replication.throttled.replicas', 'leader.replication.throttled.replicas']

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'throttle-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } })
}

async function onBroker<T>(cluster: TestCluster, nodeId: number, fn: (c: BrokerConnection) => Promise<T>): Promise<T> {
  const c = await BrokerConnection.connect(cluster.address(nodeId), { clientId: 'throttle-test', connectTimeoutMs: 5000, requestTimeoutMs: 15_000 })
  try {
    return await fn(c)
  } finally {
    c.close()
  }
}

async function alterConfigs(cluster: TestCluster, nodeId: number, resourceType: number, resourceName: string, configs: Array<{ name: string; configOperation: number; value: string | null }>): Promise<void> {
  const res = await onBroker(cluster, nodeId, (c) => c.request(IncrementalAlterConfigsApi, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly: false }))
  expect(res.responses.map((r) => [r.errorCode, r.errorMessage])).toEqual([[ErrorCode.NONE, null]])
}

async function partition0(cluster: TestCluster, topic: string): Promise<PartitionMetadata> {
  return withAdmin(kafka(cluster.bootstrap()), async (a) => (await a.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.find((p) => p.partitionId === 0)!)
}

/** Bytes of records a broker holds of a partition: the size of its segment files. */
async function bytesOn(cluster: TestCluster, nodeId: number, topic: string): Promise<number> {
  const dir = path.join(cluster.broker(nodeId).dataDir, `${topic}-0`)
  const names = await readdir(dir).catch(() => [] as string[])
  let total = 0
  for (const n of names.filter((x) => x.endsWith('.log'))) total += (await stat(path.join(dir, n)).catch(() => ({ size: 0 }))).size
  return total
}

async function produce(cluster: TestCluster, topic: string, bytes: number): Promise<void> {
  const producer = kafka(cluster.bootstrap()).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    // Batches of 48 KiB: each fits in one replica fetch.
    for (let sent = 0; sent < bytes; sent += 48 * KIB) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 3 }, () => ({ partition: 0, value: randomBytes(16 * KIB) })) })
    }
  } finally {
    await producer.disconnect()
  }
}

/** name, value and source of a resource's `keys`, sorted by name. */
async function describe_(cluster: TestCluster, resourceType: number, resourceName: string, keys: string[]): Promise<Array<[string, string | null, number]>> {
  const res = await onBroker(cluster, resourceType === BROKER ? Number(resourceName) : 1, (c) =>
    c.request(DescribeConfigsApi, 4, { resources: [{ resourceType, resourceName, configurationKeys: keys }], includeSynonyms: false, includeDocumentation: false }),
  )
  return res.results[0]!.configs.map((c): [string, string | null, number] => [c.name, c.value, c.configSource]).sort()
}

/** What the throttle lets through in `seconds`: the rate, the quota window's allowance and one fetch too many. */
function allowed(seconds: number): number {
  return RATE * (seconds + 3) + 2 * FETCH_MAX
}

describe.skipIf(etcdMissing !== undefined)('replication throttles (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, {
      // Two one-second samples: the rate holds after about a second, not ten (Kafka's 11 windows).
      'replication.quota.window.num': '2',
      'replica.fetch.max.bytes': String(FETCH_MAX),
    })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('holds a move to the leader and follower rates, never an in-sync follower, and completes once lifted', async () => {
    const topics = ['lead-throttled', 'follow-throttled', 'in-sync']
    await withAdmin(kafka(cluster.bootstrap()), (a) =>
      a.createTopics({ topics: topics.map((topic) => ({ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] })), waitForLeaders: true }),
    )
    for (const t of topics) await waitFor(async () => (await partition0(cluster, t)).isr.length === 2, { what: `${t} in sync on {1,2}` })
    await produce(cluster, 'lead-throttled', TOPIC_BYTES)
    await produce(cluster, 'follow-throttled', TOPIC_BYTES)
    const total = await bytesOn(cluster, 1, 'lead-throttled')
    expect(total).toBeGreaterThanOrEqual(TOPIC_BYTES)

    // Each broker's own rates, as kafka-configs --entity-type brokers --entity-name N sets them.
    const rates = [
      { name: 'leader.replication.throttled.rate', configOperation: SET, value: String(RATE) },
      { name: 'follower.replication.throttled.rate', configOperation: SET, value: String(RATE) },
    ]
    for (const id of [1, 2, 3]) await alterConfigs(cluster, id, BROKER, String(id), rates)
    expect(await describe_(cluster, BROKER, '3', RATE_KEYS)).toEqual([
      ['follower.replication.throttled.rate', String(RATE), DYNAMIC_BROKER_CONFIG],
      ['leader.replication.throttled.rate', String(RATE), DYNAMIC_BROKER_CONFIG],
    ])
    await alterConfigs(cluster, 1, TOPIC, 'lead-throttled', [{ name: 'leader.replication.throttled.replicas', configOperation: SET, value: '0:1,0:2' }])
    await alterConfigs(cluster, 1, TOPIC, 'follow-throttled', [{ name: 'follower.replication.throttled.replicas', configOperation: SET, value: '0:3' }])
    await alterConfigs(cluster, 1, TOPIC, 'in-sync', [
      { name: 'leader.replication.throttled.replicas', configOperation: SET, value: '*' },
      { name: 'follower.replication.throttled.replicas', configOperation: SET, value: '*' },
    ])
    // Every broker applies the topic configs from etcd's watch.
    await sleep(500)

    const started = Date.now()
    await withAdmin(kafka(cluster.bootstrap()), (a) =>
      a.alterPartitionReassignments({ topics: ['lead-throttled', 'follow-throttled'].map((topic) => ({ topic, partitionAssignment: [{ partition: 0, replicas: [1, 2, 3] }] })) }),
    )
    // Throttled traffic on the leaders while an in-sync follower takes 2 MiB through acks=all.
    const inSyncStart = Date.now()
    await produce(cluster, 'in-sync', TOPIC_BYTES)
    const inSyncSeconds = (Date.now() - inSyncStart) / 1000
    const inSyncBytes = await bytesOn(cluster, 2, 'in-sync')
    expect(inSyncBytes).toBe(await bytesOn(cluster, 1, 'in-sync'))
    expect(inSyncBytes).toBeGreaterThan(allowed(inSyncSeconds))

    // Broker 3's copies stay within what the rate lets through, for at least 4 s.
    const seen: Array<{ seconds: number; lead: number; follow: number }> = []
    while (Date.now() - started < 4000 || seen.length < 10) {
      const [lead, follow] = [await bytesOn(cluster, 3, 'lead-throttled'), await bytesOn(cluster, 3, 'follow-throttled')]
      // The time before the sizes were read: the bound that is hardest to meet.
      seen.push({ seconds: (Date.now() - started) / 1000, lead, follow })
      await sleep(200)
    }
    for (const s of seen) {
      expect(s.lead, `lead-throttled on broker 3 after ${s.seconds} s`).toBeLessThanOrEqual(allowed(s.seconds))
      expect(s.follow, `follow-throttled on broker 3 after ${s.seconds} s`).toBeLessThanOrEqual(allowed(s.seconds))
    }
    const last = seen[seen.length - 1]!
    expect(last.lead).toBeLessThan(total)
    expect(last.follow).toBeLessThan(total)
    // Throttled, not stopped.
    expect(last.lead).toBeGreaterThan(0)
    expect(last.follow).toBeGreaterThan(0)
    expect((await partition0(cluster, 'lead-throttled')).isr).not.toContain(3)

    // Lifted: the rates go back to their defaults and the moves complete.
    for (const id of [1, 2, 3]) await alterConfigs(cluster, id, BROKER, String(id), rates.map((r) => ({ ...r, configOperation: DELETE, value: null })))
    for (const t of ['lead-throttled', 'follow-throttled']) {
      await waitFor(async () => {
        const p = await partition0(cluster, t)
        return p.replicas.join() === '1,2,3' && p.isr.length === 3
      }, { timeoutMs: 15_000, what: `${t} on {1,2,3} in sync` })
      expect(await bytesOn(cluster, 3, t)).toBe(await bytesOn(cluster, 1, t))
    }
  }, 60_000)

  it('samsa reassign --throttle sets the throttle for a move, and --verify removes it once the move is done', async () => {
    const topic = 'cli-throttled'
    await withAdmin(kafka(cluster.bootstrap()), (a) => a.createTopics({ topics: [{ topic, replicaAssignment: [{ partition: 0, replicas: [1, 2] }] }], waitForLeaders: true }))
    await waitFor(async () => (await partition0(cluster, topic)).isr.length === 2, { what: `${topic} in sync on {1,2}` })
    await produce(cluster, topic, 512 * KIB)
    const cli = ['--bootstrap-server', cluster.address(1), '--json', 'reassign', '--topic', topic]
    // 1000 bytes/s: after its first fetch the new replica gets nothing more for a minute.
    const started = await samsa([...cli, '--partition', '0', '--replicas', '1,2,3', '--throttle', '1000'])
    expect(started.stderr).toBe('')
    expect(jsonLines(started.stdout)).toEqual([{ topic, partition: 0, replicas: [1, 2, 3], result: 'started', throttle: 1000, throttledBrokers: [1, 2, 3] }])
    expect(await describe_(cluster, TOPIC, topic, LIST_KEYS)).toEqual([
      ['follower.replication.throttled.replicas', '0:3', TOPIC_CONFIG],
      ['leader.replication.throttled.replicas', '0:1,0:2', TOPIC_CONFIG],
    ])
    for (const id of [1, 2, 3]) {
      expect(await describe_(cluster, BROKER, String(id), RATE_KEYS)).toEqual(RATE_KEYS.map((k) => [k, '1000', DYNAMIC_BROKER_CONFIG]))
    }

    // Still moving: --verify lists it and leaves the throttle.
    const early = await samsa([...cli, '--verify'])
    expect(early.stderr).toBe('')
    expect(jsonLines(early.stdout)).toEqual([{ topic, partition: null, inFlight: [{ topic, partition: 0, replicas: [1, 2, 3], addingReplicas: [3], removingReplicas: [] }], topicCleared: false, brokersCleared: [] }])
    expect((await describe_(cluster, TOPIC, topic, LIST_KEYS)).map((c) => c[1])).toEqual(['0:3', '0:1,0:2'])
    expect((await partition0(cluster, topic)).isr).not.toContain(3)

    // A higher rate lets it finish; then --verify removes the lists and every broker's rates.
    for (const id of [1, 2, 3]) await alterConfigs(cluster, id, BROKER, String(id), RATE_KEYS.map((name) => ({ name, configOperation: SET, value: String(1 << 30) })))
    await waitFor(async () => {
      const p = await partition0(cluster, topic)
      return p.replicas.join() === '1,2,3' && p.isr.length === 3
    }, { timeoutMs: 15_000, what: `${topic} on {1,2,3} in sync` })
    const done = await samsa([...cli, '--verify'])
    expect(done.stderr).toBe('')
    expect(jsonLines(done.stdout)).toEqual([{ topic, partition: null, inFlight: [], topicCleared: true, brokersCleared: [1, 2, 3] }])
    expect(await describe_(cluster, TOPIC, topic, LIST_KEYS)).toEqual(LIST_KEYS.map((k) => [k, '', DEFAULT_CONFIG]))
    for (const id of [1, 2, 3]) {
      expect(await describe_(cluster, BROKER, String(id), RATE_KEYS)).toEqual(RATE_KEYS.map((k) => [k, '9223372036854775807', DEFAULT_CONFIG]))
    }
  }, 60_000)
})
