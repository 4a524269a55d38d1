// Three brokers on one etcd, seen through kafkajs: they register, the controller places an RF 3
// topic's replicas and leaders evenly, every broker answers Metadata alike, and replication
// factors beyond the live brokers are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin } from 'kafkajs'
import { etcdMissing, TestCluster } from './harness.js'
import { waitFor, waitForLine } from '../helpers/wait.js'
import { spawn } from 'node:child_process'
import { CLI_MAIN } from '../cli/harness.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { DescribeConfigsApi } from '../../protocol/generated/describe-configs.js'
import { CreatePartitionsApi } from '../../protocol/generated/create-partitions.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { ErrorCode } from '../../protocol/errors.js'

const { Kafka, logLevel } = kafkajs

function admin(brokers: string[]): Admin {
  return new Kafka({ clientId: 'cluster-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } }).admin()
}

describe.skipIf(etcdMissing !== undefined)('cluster metadata (three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3, { 'default.replication.factor': '3', 'num.partitions': '2' })
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('registers every broker and elects one controller among them', async () => {
    const a = admin(cluster.bootstrap())
    await a.connect()
    try {
      const described = await waitFor(async () => {
        const d = await a.describeCluster()
        return d.brokers.length === 3 && d.controller !== null ? d : undefined
      }, { what: 'three brokers' })
      expect(described.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3])
      expect([1, 2, 3]).toContain(described.controller)
      expect(described.brokers.map((b) => `${b.host}:${b.port}`).sort()).toEqual([...cluster.bootstrap()].sort())
    } finally {
      await a.disconnect()
    }
  })

  it('places an RF 3 topic on all brokers with one leader each, and every broker tells the same', async () => {
    const a = admin(cluster.bootstrap())
    await a.connect()
    try {
      expect(await a.createTopics({ topics: [{ topic: 'rf3', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })).toBe(true)
    } finally {
      await a.disconnect()
    }
    const views = []
    for (const b of cluster.brokers) {
      const one = admin([cluster.address(b.nodeId)])
      await one.connect()
      try {
        const md = await waitFor(async () => {
          const m = await one.fetchTopicMetadata({ topics: ['rf3'] })
          return m.topics[0]!.partitions.length === 3 ? m : undefined
        }, { what: `rf3 metadata from broker ${b.nodeId}` })
        views.push(md.topics[0]!.partitions.sort((x, y) => x.partitionId - y.partitionId))
      } finally {
        await one.disconnect()
      }
    }
    for (const v of views) expect(v).toEqual(views[0])
    const partitions = views[0]!
    for (const p of partitions) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3])
      expect([...p.isr].sort()).toEqual([1, 2, 3])
      expect(p.leader).toBe(p.replicas[0])
      expect(p.offlineReplicas).toEqual([])
    }
    expect(new Set(partitions.map((p) => p.leader)).size).toBe(3)
  })

  it('applies a topic config change made through one broker on every broker', async () => {
    const a = admin([cluster.address(2)])
    await a.connect()
    try {
      await a.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'rf3', configEntries: [{ name: 'retention.ms', value: '123456' }] }] })
    } finally {
      await a.disconnect()
    }
    const retentionOn = async (nodeId: number) => {
      const c = await BrokerConnection.connect(cluster.address(nodeId), { clientId: 'configs-test', connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 })
      try {
        const res = await c.request(DescribeConfigsApi, 4, { resources: [{ resourceType: 2, resourceName: 'rf3', configurationKeys: ['retention.ms'] }], includeSynonyms: false, includeDocumentation: false })
        return res.results[0]!.configs[0]?.value
      } finally {
        c.close()
      }
    }
    for (const b of cluster.brokers) await waitFor(async () => (await retentionOn(b.nodeId)) === '123456', { what: `retention.ms on broker ${b.nodeId}` })
  })

  it('auto-creates a topic with the default partitions and replication factor', async () => {
    const producer = new Kafka({ clientId: 'cluster-test', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } }).producer({ allowAutoTopicCreation: true })
    await producer.connect()
    try {
      await producer.send({ topic: 'auto', acks: -1, messages: [{ value: 'x' }] })
    } finally {
      await producer.disconnect()
    }
    const a = admin(cluster.bootstrap())
    await a.connect()
    try {
      const md = await a.fetchTopicMetadata({ topics: ['auto'] })
      expect(md.topics[0]!.partitions).toHaveLength(2)
      for (const p of md.topics[0]!.partitions) expect([...p.replicas].sort()).toEqual([1, 2, 3])
    } finally {
      await a.disconnect()
    }
  })

  it('refuses to auto-create a topic whose name Kafka forbids, with INVALID_TOPIC_EXCEPTION, and the cluster never holds it', async () => {
    // Every broker creates each of the cluster's topics in its own log directory, which cannot
    // hold such a name (librdkafka's 0057 produces to "...invalid_topic$#!").
    const name = 'invalid_topic$#!'
    for (const b of cluster.brokers) {
      const c = await BrokerConnection.connect(cluster.address(b.nodeId), { clientId: 'cluster-test', connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 })
      try {
        const res = await c.request(MetadataApi, 12, { topics: [{ topicId: ZERO_UUID, name }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
        expect(res.topics.map((t) => [t.name, t.errorCode])).toEqual([[name, ErrorCode.INVALID_TOPIC_EXCEPTION]])
      } finally {
        c.close()
      }
    }
    const a = admin(cluster.bootstrap())
    await a.connect()
    try {
      expect(await a.listTopics()).not.toContain(name)
      // The brokers go on creating and leading new topics.
      expect(await a.createTopics({ topics: [{ topic: 'after-invalid', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true })).toBe(true)
    } finally {
      await a.disconnect()
    }
  })

  it('grows and deletes topics through the controller only; every broker sees the result', async () => {
    const a = admin(cluster.bootstrap())
    await a.connect()
    try {
      await a.createTopics({ topics: [{ topic: 'grow', numPartitions: 1, replicationFactor: 2 }], waitForLeaders: true })
      const controller = (await a.describeCluster()).controller!
      const other = [1, 2, 3].find((id) => id !== controller)!
      const c = await BrokerConnection.connect(cluster.address(other), { clientId: 'cluster-test', connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 })
      try {
        const res = await c.request(CreatePartitionsApi, 3, { topics: [{ name: 'grow', count: 4, assignments: null }], timeoutMs: 5_000, validateOnly: false })
        expect(res.results[0]!.errorCode).toBe(ErrorCode.NOT_CONTROLLER)
      } finally {
        c.close()
      }
      await a.createPartitions({ topicPartitions: [{ topic: 'grow', count: 4 }] })
      await a.createTopics({ topics: [{ topic: 'doomed', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true })
      await a.deleteTopics({ topics: ['doomed'] })
    } finally {
      await a.disconnect()
    }
    for (const b of cluster.brokers) {
      const one = admin([cluster.address(b.nodeId)])
      await one.connect()
      try {
        await waitFor(async () => {
          const md = await one.fetchTopicMetadata({ topics: [] })
          const grow = md.topics.find((t) => t.name === 'grow')
          return grow?.partitions.length === 4 && grow.partitions.every((p) => p.replicas.length === 2 && p.leader >= 0) && !md.topics.some((t) => t.name === 'doomed')
        }, { what: `grown and deleted topics on broker ${b.nodeId}` })
      } finally {
        await one.disconnect()
      }
    }
    // The deleted topic's files are gone from every broker.
    const { readdirSync } = await import('node:fs')
    for (const b of cluster.brokers) await waitFor(() => !readdirSync(b.dataDir).some((d) => d.startsWith('doomed-0')), { what: `doomed-0 removed on broker ${b.nodeId}` })
  })

  it('refuses a replication factor larger than the live brokers with INVALID_REPLICATION_FACTOR', async () => {
    const a = admin(cluster.bootstrap())
    await a.connect()
    try {
      const err = await a.createTopics({ topics: [{ topic: 'rf4', numPartitions: 1, replicationFactor: 4 }] }).catch((e: unknown) => e)
      expect((err as { errors?: Array<{ type: string }> }).errors?.[0]?.type).toBe('INVALID_REPLICATION_FACTOR')
      expect(await a.listTopics()).not.toContain('rf4')
    } finally {
      await a.disconnect()
    }
  })

  it('lets `samsa serve --cluster` join as a fourth broker, after which RF 4 fits', async () => {
    const dir = await makeTempDir('samsa-node4-')
    const url = `etcd://${cluster.etcd.endpoint.replace('http://', '')}/samsa-test`
    const proc = spawn(process.execPath, [CLI_MAIN, 'serve', '--cluster', url, '--node-id', '4', '--port', '0', '-d', dir, '--set', 'broker.session.timeout.ms=2000', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise((r) => proc.once('exit', r))
    try {
      await waitForLine(proc.stdout!, /^listening on /, 20_000)
      const a = admin(cluster.bootstrap())
      await a.connect()
      try {
        expect((await a.describeCluster()).brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3, 4])
        await a.createTopics({ topics: [{ topic: 'rf4', numPartitions: 4, replicationFactor: 4 }], waitForLeaders: true })
        const md = await a.fetchTopicMetadata({ topics: ['rf4'] })
        for (const p of md.topics[0]!.partitions) expect([...p.replicas].sort()).toEqual([1, 2, 3, 4])
        expect(new Set(md.topics[0]!.partitions.map((p) => p.leader)).size).toBe(4)
      } finally {
        await a.disconnect()
      }
    } finally {
      proc.kill('SIGTERM')
      await exited
      await removeDir(dir)
    }
  }, 30_000)
})
