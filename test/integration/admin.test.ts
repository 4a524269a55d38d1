// The admin APIs against an in-process broker: kafkajs's admin client where it covers an API
// (DescribeConfigs, AlterConfigs, DeleteRecords, CreatePartitions), @platformatic/kafka for
// DescribeLogDirs and IncrementalAlterConfigs, and the generated codecs over a raw socket for
// exact error codes and the versions neither client sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin, ConfigEntries, Kafka, Producer } from 'kafkajs'
import { Admin as PlatformaticAdmin } from '@platformatic/kafka'
import { startBroker } from '../../broker/index.js'
import { TOPIC_CONFIG_DEFS } from '../../storage/log-config.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { AlterConfigsResponse } from '../../protocol/generated/alter-configs.js'
import type { CreatePartitionsResponse } from '../../protocol/generated/create-partitions.js'
import type { DeleteRecordsResponse } from '../../protocol/generated/delete-records.js'
import type { DescribeAclsResponse } from '../../protocol/generated/describe-acls.js'
import type { DescribeClusterResponse } from '../../protocol/generated/describe-cluster.js'
import type { DescribeConfigsResponse } from '../../protocol/generated/describe-configs.js'
import type { DescribeLogDirsResponse } from '../../protocol/generated/describe-log-dirs.js'
import type { ListOffsetsResponse } from '../../protocol/generated/list-offsets.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import type { IncrementalAlterConfigsResponse } from '../../protocol/generated/incremental-alter-configs.js'
import type { OffsetForLeaderEpochResponse } from '../../protocol/generated/offset-for-leader-epoch.js'
import type { SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { readPartition, WireClient } from '../helpers/wire.js'

const { ConfigResourceTypes, ConfigSource } = kafkajs
const TOPIC = ConfigResourceTypes.TOPIC
const BROKER = ConfigResourceTypes.BROKER
const SET = 0
const DELETE = 1
const APPEND = 2
const SUBTRACT = 3

let tb: TestBroker
let kafka: Kafka
let admin: Admin
let producer: Producer
let wire: WireClient
let nodeId: string

beforeAll(async () => {
  tb = await startTestBroker({
    'group.initial.rebalance.delay.ms': '0',
    'log.retention.bytes': '123456789',
    'log.retention.check.interval.ms': '100',
  })
  nodeId = String(tb.broker.nodeId)
  kafka = kafkaClient(tb.address)
  admin = kafka.admin()
  await admin.connect()
  producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  wire = await WireClient.connect(tb.address)
})

afterAll(async () => {
  wire?.close()
  await producer?.disconnect().catch(() => {})
  await admin?.disconnect().catch(() => {})
  await tb?.stop()
})

async function topicConfigs(topic: string, configNames?: string[]): Promise<Map<string, ConfigEntries>> {
  const res = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: TOPIC, name: topic, configNames }] })
  return new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e]))
}

function describeRaw(version: number, resources: Array<{ resourceType: number; resourceName: string; configurationKeys: string[] | null }>) {
  return wire
    .request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, version, { resources, includeSynonyms: true, includeDocumentation: true })
    .then((r) => r.body.results)
}

function incremental(
  resources: Array<{ resourceType: number; resourceName: string; configs: Array<{ name: string; configOperation: number; value: string | null }> }>,
  validateOnly = false,
  version = 1,
) {
  return wire
    .request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, version, { resources, validateOnly })
    .then((r) => r.body.responses.map((x) => ({ name: x.resourceName, errorCode: x.errorCode, errorMessage: x.errorMessage })))
}

/** Asks for an unknown topic with auto-creation allowed; true if the broker created it. */
async function autoCreates(topic: string): Promise<boolean> {
  const { body } = await wire.request<MetadataResponse>(ApiKey.Metadata, 9, {
    topics: [{ topicId: ZERO_UUID, name: topic }],
    allowAutoTopicCreation: true,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  })
  return body.topics[0]!.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && (await admin.listTopics()).includes(topic)
}

async function produce(topic: string, count: number, partition = 0): Promise<void> {
  for (let i = 0; i < count; i++) {
    await producer.send({ topic, acks: -1, messages: [{ partition, value: `m${i}-${'x'.repeat(200)}` }] })
  }
}

describe('DescribeConfigs', () => {
  it('reports a topic override, a static broker default and a built-in default, with synonyms', async () => {
    await admin.createTopics({ topics: [{ topic: 'dc-topic', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })
    const all = await topicConfigs('dc-topic')
    expect([...all.keys()].sort()).toEqual(TOPIC_CONFIG_DEFS.map((d) => d.name).sort())

    const retention = all.get('retention.ms')!
    expect(retention).toMatchObject({ configValue: '3600000', configSource: ConfigSource.TOPIC_CONFIG, readOnly: false, isSensitive: false })
    // log.retention.ms has no default (Kafka's lives on log.retention.hours), so no synonym follows.
    expect(retention.configSynonyms).toEqual([{ configName: 'retention.ms', configValue: '3600000', configSource: ConfigSource.TOPIC_CONFIG }])

    const bytes = all.get('retention.bytes')!
    expect(bytes).toMatchObject({ configValue: '123456789', configSource: ConfigSource.STATIC_BROKER_CONFIG })
    expect(bytes.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource])).toEqual([
      ['log.retention.bytes', '123456789', ConfigSource.STATIC_BROKER_CONFIG],
      ['log.retention.bytes', '-1', ConfigSource.DEFAULT_CONFIG],
    ])

    expect(all.get('segment.ms')).toMatchObject({ configValue: '604800000', configSource: ConfigSource.DEFAULT_CONFIG })
  })

  it('returns only the requested keys, and no synonyms unless asked', async () => {
    const some = await topicConfigs('dc-topic', ['retention.ms', 'cleanup.policy'])
    expect([...some.keys()].sort()).toEqual(['cleanup.policy', 'retention.ms'])
    const bare = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: TOPIC, name: 'dc-topic', configNames: ['retention.ms'] }] })
    expect(bare.resources[0]!.configEntries[0]!.configSynonyms).toEqual([])
  })

  it('describes this broker: values, sources and which keys are read-only', async () => {
    const res = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: BROKER, name: nodeId }] })
    const entries = new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e]))
    expect(entries.get('log.retention.bytes')).toMatchObject({ configValue: '123456789', configSource: ConfigSource.STATIC_BROKER_CONFIG, readOnly: false })
    expect(entries.get('log.dirs')).toMatchObject({ readOnly: true })
    expect(entries.get('delete.topic.enable')).toMatchObject({ configValue: 'true', configSource: ConfigSource.DEFAULT_CONFIG, readOnly: true })
    expect(entries.get('log.retention.bytes')!.configSynonyms.map((s) => s.configSource)).toEqual([
      ConfigSource.STATIC_BROKER_CONFIG,
      ConfigSource.DEFAULT_CONFIG,
    ])
  })

  it('describes and alters group configs (resource type 32, Kafka 4.0), persisted', async () => {
    const GROUP = 32
    const [fresh] = await describeRaw(4, [{ resourceType: GROUP, resourceName: 'cfg-group', configurationKeys: null }])
    expect(fresh!.errorCode).toBe(ErrorCode.NONE)
    const byName = (r: typeof fresh) => Object.fromEntries(r!.configs.map((c) => [c.name, [c.value, c.configSource]]))
    expect(byName(fresh)['consumer.session.timeout.ms']).toEqual(['45000', 5])
    expect(
      await incremental([{ resourceType: GROUP, resourceName: 'cfg-group', configs: [{ name: 'consumer.session.timeout.ms', configOperation: SET, value: '50000' }] }]),
    ).toEqual([{ name: 'cfg-group', errorCode: ErrorCode.NONE, errorMessage: null }])
    const [after] = await describeRaw(4, [{ resourceType: GROUP, resourceName: 'cfg-group', configurationKeys: ['consumer.session.timeout.ms'] }])
    expect(byName(after)).toEqual({ 'consumer.session.timeout.ms': ['50000', 8] })
    const [bad] = await incremental([{ resourceType: GROUP, resourceName: 'cfg-group', configs: [{ name: 'consumer.session.timeout.ms', configOperation: SET, value: '1' }] }])
    expect(bad!.errorCode).toBe(ErrorCode.INVALID_CONFIG)
    const [unknownKey] = await incremental([{ resourceType: GROUP, resourceName: 'cfg-group', configs: [{ name: 'no.such.key', configOperation: SET, value: '1' }] }])
    expect(unknownKey!.errorCode).toBe(ErrorCode.INVALID_CONFIG)
  })

  it('v4 carries config types and null documentation; errors per resource', async () => {
    const [topic, unknown, wrongBroker, badType] = await describeRaw(4, [
      { resourceType: TOPIC, resourceName: 'dc-topic', configurationKeys: ['retention.ms', 'cleanup.policy', 'preallocate'] },
      { resourceType: TOPIC, resourceName: 'no-such-topic', configurationKeys: null },
      { resourceType: BROKER, resourceName: '999', configurationKeys: null },
      { resourceType: 3, resourceName: 'x', configurationKeys: null },
    ])
    expect(topic!.errorCode).toBe(ErrorCode.NONE)
    expect(Object.fromEntries(topic!.configs.map((c) => [c.name, c.configType]))).toEqual({ 'retention.ms': 5, 'cleanup.policy': 7, preallocate: 1 })
    expect(topic!.configs.every((c) => c.documentation === null)).toBe(true)
    expect(unknown!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(wrongBroker!.errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect(badType!.errorCode).toBe(ErrorCode.INVALID_REQUEST)
  })
})

describe('AlterConfigs', () => {
  it('replaces a topic’s overrides: the new value is a TOPIC_CONFIG, the omitted one reverts', async () => {
    await admin.createTopics({ topics: [{ topic: 'ac-topic', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2000' }] }] })
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'ac-topic', configEntries: [{ name: 'retention.ms', value: '7200000' }] }] })
    const after = await topicConfigs('ac-topic')
    expect(after.get('retention.ms')).toMatchObject({ configValue: '7200000', configSource: ConfigSource.TOPIC_CONFIG })
    expect(after.get('max.message.bytes')).toMatchObject({ configValue: '1048588', configSource: ConfigSource.DEFAULT_CONFIG })
  })

  it('validateOnly checks without changing anything; bad values are INVALID_CONFIG', async () => {
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: TOPIC, name: 'ac-topic', configEntries: [{ name: 'retention.ms', value: '1' }] }] })
    expect((await topicConfigs('ac-topic')).get('retention.ms')!.configValue).toBe('7200000')
    const err = await admin
      .alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'ac-topic', configEntries: [{ name: 'retention.ms', value: 'soon' }] }] })
      .then(() => null, (e: { type?: string }) => e)
    expect(err?.type).toBe('INVALID_CONFIG')
    expect((await topicConfigs('ac-topic')).get('retention.ms')!.configValue).toBe('7200000')
  })

  it('a new retention.ms takes effect without a restart', async () => {
    const topic = 'ac-retention'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] }] })
    await produce(topic, 20)
    const before = await admin.fetchTopicOffsets(topic)
    expect(before[0]!.low).toBe('0')
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: TOPIC, name: topic, configEntries: [{ name: 'segment.bytes', value: '1024' }, { name: 'retention.ms', value: '1' }] }],
    })
    const low = await waitFor(
      async () => {
        const o = await admin.fetchTopicOffsets(topic)
        return Number(o[0]!.low) > 0 ? Number(o[0]!.low) : 0
      },
      { timeoutMs: 10_000, what: 'retention to remove old segments' },
    )
    expect(low).toBeGreaterThan(0)
    expect(low).toBeLessThan(20)
  })

  it('refuses broker keys that cannot change at run time, and foreign broker ids', async () => {
    const r = await wire.request<AlterConfigsResponse>(ApiKey.AlterConfigs, 2, {
      validateOnly: false,
      resources: [
        { resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'log.dirs', value: '/elsewhere' }] },
        { resourceType: BROKER, resourceName: '999', configs: [{ name: 'num.partitions', value: '3' }] },
        { resourceType: TOPIC, resourceName: 'no-such-topic', configs: [{ name: 'retention.ms', value: '1' }] },
      ],
    })
    expect(r.body.responses.map((x) => x.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    expect(r.body.responses[0]!.errorMessage).toMatch(/dynamically/)
  })
})

describe('IncrementalAlterConfigs', () => {
  it('SET, APPEND, SUBTRACT and DELETE change one key at a time', async () => {
    await admin.createTopics({ topics: [{ topic: 'iac-topic', numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '3000' }] }] })
    expect(await incremental([{ resourceType: TOPIC, resourceName: 'iac-topic', configs: [{ name: 'retention.ms', configOperation: SET, value: '60000' }] }])).toEqual([
      { name: 'iac-topic', errorCode: 0, errorMessage: null },
    ])
    await incremental([{ resourceType: TOPIC, resourceName: 'iac-topic', configs: [{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }] }])
    let c = await topicConfigs('iac-topic')
    expect(c.get('retention.ms')!.configValue).toBe('60000')
    expect(c.get('max.message.bytes')!.configValue).toBe('3000')
    expect(c.get('cleanup.policy')).toMatchObject({ configValue: 'delete,compact', configSource: ConfigSource.TOPIC_CONFIG })

    await incremental([
      {
        resourceType: TOPIC,
        resourceName: 'iac-topic',
        configs: [
          { name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' },
          { name: 'retention.ms', configOperation: DELETE, value: null },
        ],
      },
    ])
    c = await topicConfigs('iac-topic')
    expect(c.get('cleanup.policy')!.configValue).toBe('compact')
    expect(c.get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: ConfigSource.DEFAULT_CONFIG })
    expect(c.get('max.message.bytes')!.configValue).toBe('3000')
  })

  it('reports INVALID_CONFIG, INVALID_REQUEST and unknown topics per resource; validateOnly changes nothing', async () => {
    const results = await incremental([
      { resourceType: TOPIC, resourceName: 'iac-topic', configs: [{ name: 'retention.ms', configOperation: APPEND, value: '5' }] },
      { resourceType: TOPIC, resourceName: 'no-such-topic', configs: [{ name: 'retention.ms', configOperation: SET, value: '5' }] },
      { resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'broker.id', configOperation: SET, value: '7' }] },
    ])
    expect(results.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_CONFIG, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_REQUEST])
    const unknownKey = await incremental([{ resourceType: TOPIC, resourceName: 'iac-topic', configs: [{ name: 'no.such.key', configOperation: SET, value: '1' }] }])
    expect(unknownKey.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_CONFIG])
    expect(await incremental([{ resourceType: TOPIC, resourceName: 'iac-topic', configs: [{ name: 'retention.ms', configOperation: SET, value: '5' }] }], true)).toEqual([
      { name: 'iac-topic', errorCode: 0, errorMessage: null },
    ])
    expect((await topicConfigs('iac-topic')).get('retention.ms')!.configSource).toBe(ConfigSource.DEFAULT_CONFIG)
    // the same resource twice in one request is refused in both places
    const dup = await incremental([
      { resourceType: TOPIC, resourceName: 'iac-topic', configs: [{ name: 'retention.ms', configOperation: SET, value: '5' }] },
      { resourceType: TOPIC, resourceName: 'iac-topic', configs: [{ name: 'retention.ms', configOperation: SET, value: '6' }] },
    ], false, 0)
    expect(dup.map((r) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST])
  })

  it('changes a dynamic broker config, which then shows as DYNAMIC_BROKER_CONFIG', async () => {
    expect(await autoCreates('auto-created-before')).toBe(true)
    const plat = new PlatformaticAdmin({ clientId: 'samsa-it', bootstrapBrokers: [tb.address] })
    try {
      await plat.incrementalAlterConfigs({
        resources: [{ resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'auto.create.topics.enable', configOperation: SET, value: 'false' }] }],
      })
    } finally {
      await plat.close()
    }
    const res = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: BROKER, name: nodeId, configNames: ['auto.create.topics.enable'] }] })
    const entry = res.resources[0]!.configEntries[0]!
    expect(entry).toMatchObject({ configValue: 'false', configSource: ConfigSource.DYNAMIC_BROKER_CONFIG })
    expect(entry.configSynonyms.map((s) => [s.configValue, s.configSource])).toEqual([
      ['false', ConfigSource.DYNAMIC_BROKER_CONFIG],
      ['true', ConfigSource.DEFAULT_CONFIG],
    ])
    // the change is live: a metadata request for an unknown topic no longer creates it
    expect(await autoCreates('not-auto-created')).toBe(false)
    // the cluster-default resource shows the same layer
    const [dflt] = await describeRaw(4, [{ resourceType: BROKER, resourceName: '', configurationKeys: null }])
    expect(dflt!.configs.map((c) => [c.name, c.value, c.configSource])).toEqual([
      ['auto.create.topics.enable', 'false', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ])
    await incremental([{ resourceType: BROKER, resourceName: '', configs: [{ name: 'auto.create.topics.enable', configOperation: DELETE, value: null }] }])
    const [cleared] = await describeRaw(4, [{ resourceType: BROKER, resourceName: '', configurationKeys: null }])
    expect(cleared!.configs).toEqual([])
  })

  it(
    'a changed log.* broker default reaches topics without an override',
    async () => {
      const topic = 'iac-broker-default'
      await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'segment.bytes', value: '1024' }] }] })
      await produce(topic, 20)
      await incremental([{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', configOperation: SET, value: '1' }] }])
      try {
        const low = await waitFor(
          async () => Number((await admin.fetchTopicOffsets(topic))[0]!.low),
          { timeoutMs: 10_000, what: 'broker-level retention to apply' },
        )
        expect(low).toBeGreaterThan(0)
      } finally {
        await incremental([{ resourceType: BROKER, resourceName: '', configs: [{ name: 'log.retention.ms', configOperation: DELETE, value: null }] }])
      }
    },
  )
})

describe('config persistence', () => {
  it('topic and dynamic broker configs survive a restart with the same data directory', async () => {
    const dataDir = await makeTempDir('samsa-it-admin-')
    try {
      let broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
      let k = kafkaClient(broker.address).admin()
      try {
        await k.connect()
        await k.createTopics({ topics: [{ topic: 'persisted', numPartitions: 1 }] })
        await k.alterConfigs({ validateOnly: false, resources: [{ type: TOPIC, name: 'persisted', configEntries: [{ name: 'retention.ms', value: '86400000' }] }] })
        await k.alterConfigs({ validateOnly: false, resources: [{ type: BROKER, name: String(broker.nodeId), configEntries: [{ name: 'num.partitions', value: '4' }] }] })
      } finally {
        await k.disconnect()
        await broker.stop()
      }
      broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
      k = kafkaClient(broker.address).admin()
      try {
        await k.connect()
        const res = await k.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: TOPIC, name: 'persisted', configNames: ['retention.ms'] },
            { type: BROKER, name: String(broker.nodeId), configNames: ['num.partitions'] },
          ],
        })
        const byName = new Map(res.resources.map((r) => [r.resourceName, r.configEntries[0]]))
        expect(byName.get('persisted')).toMatchObject({ configValue: '86400000', configSource: ConfigSource.TOPIC_CONFIG })
        expect(byName.get(String(broker.nodeId))).toMatchObject({ configValue: '4', configSource: ConfigSource.DYNAMIC_BROKER_CONFIG })
      } finally {
        await k.disconnect()
        await broker.stop()
      }
    } finally {
      await removeDir(dataDir)
    }
  })
})

describe('DeleteRecords', () => {
  async function topicWithTenRecords(topic: string): Promise<void> {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) })
    // kafkajs finds partition leaders in its cached metadata, which does not know a new topic yet
    await admin.fetchTopicMetadata({ topics: [topic] })
  }

  it('moves the low watermark; reads from the earliest offset start there', async () => {
    const topic = 'dr-topic'
    await topicWithTenRecords(topic)
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] })
    expect(await admin.fetchTopicOffsets(topic)).toEqual([expect.objectContaining({ partition: 0, low: '4', high: '10' })])
    const { body } = await wire.request<ListOffsetsResponse>(ApiKey.ListOffsets, 1, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 }] }],
    })
    const earliest = body.topics[0]!.partitions[0]!.offset
    expect(earliest).toBe(4)
    const records = await readPartition(tb.address, topic, 0, earliest)
    expect(records.map((r) => [r.offset, r.value?.toString()])).toEqual([4, 5, 6, 7, 8, 9].map((o) => [o, `v${o}`]))

    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] })
    expect((await admin.fetchTopicOffsets(topic))[0]!.low).toBe('10')
  })

  it('a kafkajs consumer reading from the beginning starts at the new low watermark', async () => {
    const topic = 'dr-consumer'
    await topicWithTenRecords(topic)
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] })
    const consumer = kafka.consumer({ groupId: `dr-${process.pid}`, maxWaitTimeInMs: 100 })
    const offsets: number[] = []
    try {
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => void offsets.push(Number(message.offset)) })
      await waitFor(() => offsets.length >= 6, { timeoutMs: 20_000, what: 'six messages' })
    } finally {
      await consumer.disconnect()
    }
    expect(offsets).toEqual([4, 5, 6, 7, 8, 9])
  })

  it('answers per partition: beyond the high watermark, unknown partitions, never backwards', async () => {
    await topicWithTenRecords('dr-raw')
    const { body } = await wire.request<DeleteRecordsResponse>(ApiKey.DeleteRecords, 2, {
      timeoutMs: 1000,
      topics: [
        { name: 'dr-raw', partitions: [{ partitionIndex: 0, offset: 11 }, { partitionIndex: 0, offset: 6 }, { partitionIndex: 5, offset: 0 }] },
        { name: 'no-such-topic', partitions: [{ partitionIndex: 0, offset: 0 }] },
      ],
    })
    expect(body.topics.map((t) => t.partitions.map((p) => [p.errorCode, p.lowWatermark]))).toEqual([
      [[ErrorCode.OFFSET_OUT_OF_RANGE, -1], [ErrorCode.NONE, 6], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1]],
      [[ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1]],
    ])
    const again = await wire.request<DeleteRecordsResponse>(ApiKey.DeleteRecords, 0, {
      timeoutMs: 1000,
      topics: [{ name: 'dr-raw', partitions: [{ partitionIndex: 0, offset: 2 }] }],
    })
    expect(again.body.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, lowWatermark: 6 })
  })

  it('refuses a compact-only topic with POLICY_VIOLATION', async () => {
    await admin.createTopics({ topics: [{ topic: 'dr-compact', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] })
    await producer.send({ topic: 'dr-compact', messages: [{ key: 'k', value: 'v' }] })
    const { body } = await wire.request<DeleteRecordsResponse>(ApiKey.DeleteRecords, 1, {
      timeoutMs: 1000,
      topics: [{ name: 'dr-compact', partitions: [{ partitionIndex: 0, offset: 1 }] }],
    })
    expect(body.topics[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.POLICY_VIOLATION, lowWatermark: -1 })
  })
})

describe('CreatePartitions', () => {
  it('grows a topic; the new partitions take writes', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-topic', numPartitions: 1 }] })
    await admin.createPartitions({ topicPartitions: [{ topic: 'cp-topic', count: 3 }] })
    const md = await admin.fetchTopicMetadata({ topics: ['cp-topic'] })
    expect(md.topics[0]!.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2])
    const [res] = await producer.send({ topic: 'cp-topic', messages: [{ partition: 2, value: 'new' }] })
    expect(res).toMatchObject({ partition: 2, errorCode: 0 })
    const err = await admin.createPartitions({ topicPartitions: [{ topic: 'cp-topic', count: 2 }] }).then(() => null, (e: Error & { errors?: Array<{ type: string }>; type?: string }) => e)
    expect(err?.errors?.[0]?.type ?? err?.type).toBe('INVALID_PARTITIONS')
  })

  it('validates assignments, duplicates and validateOnly', async () => {
    const send = (topics: Array<{ name: string; count: number; assignments: Array<{ brokerIds: number[] }> | null }>, validateOnly: boolean) =>
      wire
        .request<CreatePartitionsResponse>(ApiKey.CreatePartitions, 3, { topics, timeoutMs: 1000, validateOnly })
        .then((r) => r.body.results.map((x) => [x.name, x.errorCode]))
    expect(await send([{ name: 'cp-topic', count: 5, assignments: null }], true)).toEqual([['cp-topic', ErrorCode.NONE]])
    expect(await send([{ name: 'cp-topic', count: 4, assignments: [{ brokerIds: [999] }] }], false)).toEqual([['cp-topic', ErrorCode.INVALID_REPLICA_ASSIGNMENT]])
    expect(await send([{ name: 'cp-topic', count: 5, assignments: [{ brokerIds: [Number(nodeId)] }] }], false)).toEqual([['cp-topic', ErrorCode.INVALID_REPLICA_ASSIGNMENT]])
    expect(
      await send(
        [
          { name: 'cp-topic', count: 4, assignments: null },
          { name: 'cp-topic', count: 5, assignments: null },
          { name: 'no-such-topic', count: 2, assignments: null },
        ],
        false,
      ),
    ).toEqual([
      ['cp-topic', ErrorCode.INVALID_REQUEST],
      ['cp-topic', ErrorCode.INVALID_REQUEST],
      ['no-such-topic', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ])
    const md = await admin.fetchTopicMetadata({ topics: ['cp-topic'] })
    expect(md.topics[0]!.partitions).toHaveLength(3)
    expect(await send([{ name: 'cp-topic', count: 4, assignments: [{ brokerIds: [Number(nodeId)] }] }], false)).toEqual([['cp-topic', ErrorCode.NONE]])
    expect((await admin.fetchTopicMetadata({ topics: ['cp-topic'] })).topics[0]!.partitions).toHaveLength(4)
  })
})

describe('DescribeCluster', () => {
  it('kafkajs sees one broker that is also the controller', async () => {
    const c = await admin.describeCluster()
    expect(c.clusterId).toBe(tb.broker.clusterId)
    expect(c.controller).toBe(tb.broker.nodeId)
    expect(c.brokers).toEqual([expect.objectContaining({ nodeId: tb.broker.nodeId, port: tb.broker.port })])
  })

  it('answers v0 and v1 with this node; authorized operations only when asked', async () => {
    for (const version of [0, 1]) {
      const { body } = await wire.request<DescribeClusterResponse>(ApiKey.DescribeCluster, version, { includeClusterAuthorizedOperations: version === 1, endpointType: 1 })
      expect(body).toMatchObject({ errorCode: 0, clusterId: tb.broker.clusterId, controllerId: tb.broker.nodeId })
      expect(body.brokers).toEqual([expect.objectContaining({ brokerId: tb.broker.nodeId, host: tb.broker.host, port: tb.broker.port, rack: null })])
      if (version === 0) expect(body.clusterAuthorizedOperations).toBe(-2147483648)
      else expect(body.clusterAuthorizedOperations & (1 << 8)).not.toBe(0) // DESCRIBE
    }
    const { body } = await wire.request<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 2 })
    expect(body.errorCode).toBe(ErrorCode.MISMATCHED_ENDPOINT_TYPE)
  })
})

describe('DescribeLogDirs', () => {
  it('@platformatic/kafka sees the data directory with per-partition sizes', async () => {
    await admin.createTopics({ topics: [{ topic: 'ld-topic', numPartitions: 2 }] })
    await produce('ld-topic', 3, 1)
    const plat = new PlatformaticAdmin({ clientId: 'samsa-it', bootstrapBrokers: [tb.address] })
    try {
      const dirs = await plat.describeLogDirs({ topics: [{ name: 'ld-topic', partitions: [0, 1, 7] }] })
      expect(dirs).toHaveLength(1)
      const result = dirs[0]!.results[0]!
      expect(result.logDir.startsWith(tb.dataDir) || tb.dataDir.startsWith(result.logDir) || result.logDir.includes('samsa-it-')).toBe(true)
      expect(result.totalBytes).toBeGreaterThan(0n)
      const parts = result.topics.find((t) => t.name === 'ld-topic')!.partitions
      expect(parts.map((p) => p.partitionIndex).sort()).toEqual([0, 1])
      expect(parts.find((p) => p.partitionIndex === 0)!.partitionSize).toBe(0n)
      expect(parts.find((p) => p.partitionIndex === 1)!.partitionSize).toBeGreaterThan(600n)
      expect(parts.every((p) => p.offsetLag === 0n && p.isFutureKey === false)).toBe(true)
    } finally {
      await plat.close()
    }
  })

  it('a null topic list (v1 and v4) covers every partition', async () => {
    for (const version of [1, 4]) {
      const { body } = await wire.request<DescribeLogDirsResponse>(ApiKey.DescribeLogDirs, version, { topics: null })
      const names = body.results[0]!.topics.map((t) => t.name)
      expect(names).toEqual(expect.arrayContaining(['ld-topic', 'dr-topic', 'cp-topic']))
      if (version === 4) expect(body.results[0]!.usableBytes).toBeGreaterThan(0)
    }
  })
})

describe('small APIs', () => {
  it('OffsetForLeaderEpoch: epoch 0 ends at the log end offset; later epochs are unknown', async () => {
    await admin.createTopics({ topics: [{ topic: 'ofle-topic', numPartitions: 1 }] })
    await producer.send({ topic: 'ofle-topic', messages: Array.from({ length: 7 }, (_, i) => ({ value: `v${i}` })) })
    const { body } = await wire.request<OffsetForLeaderEpochResponse>(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [
        {
          topic: 'ofle-topic',
          partitions: [
            { partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 },
            { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 3 },
            { partition: 0, currentLeaderEpoch: 2, leaderEpoch: 0 },
            { partition: 9, currentLeaderEpoch: -1, leaderEpoch: 0 },
          ],
        },
      ],
    })
    expect(body.topics[0]!.partitions.map((p) => [p.errorCode, p.leaderEpoch, p.endOffset])).toEqual([
      [ErrorCode.NONE, 0, 7],
      [ErrorCode.NONE, -1, -1],
      [ErrorCode.UNKNOWN_LEADER_EPOCH, -1, -1],
      [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1, -1],
    ])
  })

  it('DescribeAcls answers SECURITY_DISABLED; SaslHandshake offers no mechanism', async () => {
    const acls = await wire.request<DescribeAclsResponse>(ApiKey.DescribeAcls, 3, {
      resourceTypeFilter: 1,
      resourceNameFilter: null,
      patternTypeFilter: 1,
      principalFilter: null,
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    })
    expect(acls.body).toMatchObject({ errorCode: ErrorCode.SECURITY_DISABLED, resources: [] })
    const sasl = await WireClient.connect(tb.address)
    try {
      const { body } = await sasl.request<SaslHandshakeResponse>(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })
      expect(body).toEqual({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] })
    } finally {
      sasl.close()
    }
  })
})
