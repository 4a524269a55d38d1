// Losing etcd loses no service that needs no metadata change: with etcd killed, brokers stay up,
// keep their leadership and accept produce, and every broker's Metadata answers as before;
// metadata changes are refused with a retriable error, and go through again once etcd is back.
// (An outage longer than the session timeout, with a consumer group and a check of every
// replica's log: etcd-loss.test.ts.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs

function kafka(brokers: string[]) {
  return new Kafka({ clientId: 'etcd-outage-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 } })
}

describe.skipIf(etcdMissing !== undefined)('cluster without etcd (two brokers)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(2)
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
})
