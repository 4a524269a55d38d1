// The admin client against a real broker on port 0, with kafkajs as the independent client that
// writes what the admin client reads and reads back what it changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin, Kafka } from 'kafkajs'
import { AdminClient, AlterConfigOp, ConfigResourceType, KafkaProtocolError, OffsetTimestamp } from '../../../broker/client/admin-client.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../../helpers/broker.js'

let tb: TestBroker
let kafka: Kafka
let kadmin: Admin
let admin: AdminClient

beforeAll(async () => {
  tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
  kafka = kafkaClient(tb.address)
  kadmin = kafka.admin()
  await kadmin.connect()
  admin = new AdminClient({ bootstrap: [tb.address], clientId: 'admin-test', timeoutMs: 5000 })
  await admin.connect()
})

afterAll(async () => {
  await admin?.close()
  await kadmin?.disconnect()
  await tb?.stop()
})

async function overrides(topic: string): Promise<Record<string, string | null>> {
  const res = await kadmin.describeConfigs({ resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic }], includeSynonyms: false })
  return Object.fromEntries(res.resources[0]!.configEntries.filter((e) => e.configSource === kafkajs.ConfigSource.TOPIC_CONFIG).map((e) => [e.configName, e.configValue]))
}

describe('topics', () => {
  it('creates (once), grows and deletes topics that kafkajs then sees', async () => {
    const created = await admin.createTopics([{ name: 'a1', numPartitions: 3, configs: [['retention.ms', '60000']] }])
    expect(created).toEqual([{ name: 'a1', created: true, numPartitions: 3 }])
    expect((await kadmin.fetchTopicMetadata({ topics: ['a1'] })).topics[0]!.partitions).toHaveLength(3)
    expect(await overrides('a1')).toEqual({ 'retention.ms': '60000' })
    expect((await admin.createTopics([{ name: 'a1', numPartitions: 3 }]))[0]!.created).toBe(false)
    expect(await admin.listTopics()).toContain('a1')

    await admin.createPartitions([{ topic: 'a1', count: 5 }])
    expect((await kadmin.fetchTopicMetadata({ topics: ['a1'] })).topics[0]!.partitions).toHaveLength(5)
    const meta = (await admin.metadata(['a1'])).topics[0]!
    expect(meta.partitions.map((p) => [p.partition, p.replicas.length, p.isr.length])).toEqual([0, 1, 2, 3, 4].map((p) => [p, 1, 1]))

    await admin.deleteTopics(['a1'])
    expect(await kadmin.listTopics()).not.toContain('a1')
  })

  it('reports refusals as typed errors with the Kafka error name', async () => {
    const err = await admin.createTopics([{ name: 'bad', numPartitions: 0 }]).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KafkaProtocolError)
    expect((err as KafkaProtocolError).type).toBe('INVALID_PARTITIONS')
    const missing = await admin.deleteTopics(['never-created']).catch((e: unknown) => e)
    expect((missing as KafkaProtocolError).type).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    const meta = await admin.metadata(['never-created']).catch((e: unknown) => e)
    expect((meta as KafkaProtocolError).type).toBe('UNKNOWN_TOPIC_OR_PARTITION')
  })

  it('lists offsets and deletes records, agreeing with kafkajs', async () => {
    await admin.createTopics([{ name: 'recs', numPartitions: 2 }])
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: 'recs', messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition: 0 })) })
    await producer.disconnect()
    expect(await admin.topicOffsets('recs')).toEqual([
      { partition: 0, low: 0, high: 5 },
      { partition: 1, low: 0, high: 0 },
    ])
    expect(await admin.deleteRecords('recs', [{ partition: 0, offset: 2 }])).toEqual([{ partition: 0, lowWatermark: 2 }])
    const k = await kadmin.fetchTopicOffsets('recs')
    expect(k.find((o) => o.partition === 0)).toMatchObject({ low: '2', high: '5' })
    expect((await admin.listOffsets('recs', OffsetTimestamp.Earliest)).get(0)).toBe(2)
  })

  it('describes the log directory holding a topic', async () => {
    await admin.createTopics([{ name: 'dirs', numPartitions: 2 }])
    const dirs = await admin.describeLogDirs([{ topic: 'dirs', partitions: [0, 1] }])
    expect(dirs).toHaveLength(1)
    expect(dirs[0]!.error).toBeNull()
    expect(dirs[0]!.partitions.map((p) => `${p.topic}/${p.partition}`).sort()).toEqual(['dirs/0', 'dirs/1'])
  })
})

describe('configs', () => {
  it('changes one key with IncrementalAlterConfigs and leaves the other overrides alone', async () => {
    await admin.createTopics([{ name: 'cfg', numPartitions: 1, configs: [['retention.ms', '1000'], ['segment.bytes', '1048576']] }])
    const resource = { type: ConfigResourceType.Topic, name: 'cfg' }
    await admin.incrementalAlterConfigs(resource, [{ name: 'cleanup.policy', op: AlterConfigOp.Set, value: 'compact' }])
    expect(await overrides('cfg')).toEqual({ 'retention.ms': '1000', 'segment.bytes': '1048576', 'cleanup.policy': 'compact' })
    await admin.incrementalAlterConfigs(resource, [{ name: 'retention.ms', op: AlterConfigOp.Delete }])
    expect(await overrides('cfg')).toEqual({ 'segment.bytes': '1048576', 'cleanup.policy': 'compact' })
    await admin.incrementalAlterConfigs(resource, [{ name: 'segment.bytes', op: AlterConfigOp.Set, value: '2097152' }], { validateOnly: true })
    expect((await overrides('cfg'))['segment.bytes']).toBe('1048576')

    const entries = await admin.describeConfigs(resource)
    const byName = new Map(entries.map((e) => [e.name, e]))
    expect(byName.get('segment.bytes')).toMatchObject({ value: '1048576', source: 1, isDefault: false })
    expect(byName.get('retention.ms')?.source).not.toBe(1)

    const bad = await admin.incrementalAlterConfigs(resource, [{ name: 'retention.ms', op: AlterConfigOp.Set, value: 'soon' }]).catch((e: unknown) => e)
    expect((bad as KafkaProtocolError).type).toBe('INVALID_CONFIG')
  })

  it('describes the broker by its node id', async () => {
    const entries = await admin.describeConfigs({ type: ConfigResourceType.Broker, name: String(tb.broker.nodeId) })
    expect(entries.map((e) => e.name)).toContain('num.partitions')
  })
})

describe('groups', () => {
  it('reads offsets kafkajs committed, commits offsets kafkajs reads, deletes offsets and the group', async () => {
    await admin.createTopics([{ name: 'grp', numPartitions: 2 }])
    await kadmin.setOffsets({ groupId: 'g1', topic: 'grp', partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '7' }] })
    expect((await admin.fetchOffsets('g1', ['grp'])).map(({ topic, partition, offset }) => ({ topic, partition, offset }))).toEqual([
      { topic: 'grp', partition: 0, offset: 3 },
      { topic: 'grp', partition: 1, offset: 7 },
    ])
    expect((await admin.fetchOffsets('g1')).map((o) => o.offset)).toEqual([3, 7])

    await admin.alterOffsets('g1', [{ topic: 'grp', partition: 0, offset: 11 }])
    const k = await kadmin.fetchOffsets({ groupId: 'g1', topics: ['grp'] })
    expect(k[0]!.partitions.find((p) => p.partition === 0)?.offset).toBe('11')

    expect((await admin.listGroups()).map((g) => g.groupId)).toContain('g1')
    const [described] = await admin.describeGroups(['g1'])
    expect(described).toMatchObject({ groupId: 'g1', error: null, state: 'Empty', members: [] })

    await admin.deleteOffsets('g1', 'grp', [1])
    expect((await admin.fetchOffsets('g1', ['grp'])).find((o) => o.partition === 1)?.offset).toBe(-1)

    expect(await admin.deleteGroups(['g1', 'nope'])).toEqual(new Map([['g1', null], ['nope', 'GROUP_ID_NOT_FOUND']]))
    expect((await admin.listGroups()).map((g) => g.groupId)).not.toContain('g1')
  })

  it('describes a live kafkajs member with its decoded assignment', async () => {
    await admin.createTopics([{ name: 'live', numPartitions: 2 }])
    const consumer = kafka.consumer({ groupId: 'g-live' })
    await consumer.connect()
    await consumer.subscribe({ topic: 'live' })
    let joined!: () => void
    const ready = new Promise<void>((r) => (joined = r))
    consumer.on(consumer.events.GROUP_JOIN, () => joined())
    await consumer.run({ eachMessage: async () => {} })
    await ready
    try {
      const [g] = await admin.describeGroups(['g-live'])
      expect(g!.state).toBe('Stable')
      expect(g!.protocolType).toBe('consumer')
      expect(g!.members).toHaveLength(1)
      expect(g!.members[0]!.assignment).toEqual([{ topic: 'live', partitions: [0, 1] }])
      const refused = await admin.alterOffsets('g-live', [{ topic: 'live', partition: 0, offset: 1 }]).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(KafkaProtocolError)
    } finally {
      await consumer.disconnect()
    }
  })
})
