// DescribeConfigs synonyms follow Kafka's ConfigHelper: a topic key lists the broker keys that hold
// a value for it (dynamic, then static, then built-in defaults), starting at its primary broker key.
// A broker key without a default (log.retention.ms, log.roll.ms, log.roll.jitter.ms) is never listed
// as DEFAULT_CONFIG; once log.retention.ms is set, log.retention.hours=168 follows it. Topic keys
// with no broker key list nothing. Read with kafkajs's admin over a real socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import type { Admin, ConfigEntries } from 'kafkajs'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'

const { ConfigResourceTypes, ConfigSource } = kafkajs

type Synonyms = Array<[string, string | null, number]>

async function describeTopic(admin: Admin, topic: string): Promise<Map<string, ConfigEntries>> {
  const res = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }] })
  return new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e]))
}

const synonyms = (e: ConfigEntries | undefined): Synonyms => e!.configSynonyms.map((s) => [s.configName, s.configValue, s.configSource])

describe('DescribeConfigs synonyms', () => {
  const brokers: TestBroker[] = []
  const admins: Admin[] = []
  afterAll(async () => {
    for (const a of admins) await a.disconnect()
    for (const b of brokers) await b.stop()
  })

  async function adminFor(config: Record<string, string>): Promise<{ admin: Admin; tb: TestBroker }> {
    const tb = await startTestBroker(config)
    brokers.push(tb)
    const admin = kafkaClient(tb.address).admin()
    admins.push(admin)
    await admin.connect()
    return { admin, tb }
  }

  let plain: Admin
  let plainNode: string
  beforeAll(async () => {
    const { admin, tb } = await adminFor({})
    plain = admin
    plainNode = String(tb.broker.nodeId)
    await plain.createTopics({ topics: [{ topic: 'syn-plain', numPartitions: 1 }] })
  })

  it('names no broker key that has no value', async () => {
    const all = await describeTopic(plain, 'syn-plain')
    for (const key of ['retention.ms', 'segment.ms', 'segment.jitter.ms', 'remote.storage.enable', 'leader.replication.throttled.replicas']) {
      expect([key, all.get(key)!.configSource, synonyms(all.get(key))]).toEqual([key, ConfigSource.DEFAULT_CONFIG, []])
    }
    expect(all.get('retention.ms')!.configValue).toBe('604800000')
    expect(synonyms(all.get('segment.bytes'))).toEqual([['log.segment.bytes', '1073741824', ConfigSource.DEFAULT_CONFIG]])
    expect(synonyms(all.get('delete.retention.ms'))).toEqual([['log.cleaner.delete.retention.ms', '86400000', ConfigSource.DEFAULT_CONFIG]])
    expect(synonyms(all.get('max.message.bytes'))).toEqual([['message.max.bytes', '1048588', ConfigSource.DEFAULT_CONFIG]])
    // Samsa flushes once a second by default, so its log.flush.interval.ms has a value.
    expect(synonyms(all.get('flush.ms'))).toEqual([['log.flush.interval.ms', '1000', ConfigSource.DEFAULT_CONFIG]])
  })

  it('describes log.retention.ms on the broker as unset, its hours as the default', async () => {
    const res = await plain.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.BROKER, name: plainNode }] })
    const entries = new Map(res.resources[0]!.configEntries.map((e) => [e.configName, e]))
    expect([entries.get('log.retention.ms')!.configValue, synonyms(entries.get('log.retention.ms'))]).toEqual([null, []])
    expect(synonyms(entries.get('log.retention.hours'))).toEqual([['log.retention.hours', '168', ConfigSource.DEFAULT_CONFIG]])
    expect(entries.get('log.retention.hours')).toMatchObject({ configValue: '168', configSource: ConfigSource.DEFAULT_CONFIG })
  })

  it('lists log.retention.hours after a set log.retention.ms', async () => {
    const { admin } = await adminFor({ 'log.retention.ms': '3600000' })
    await admin.createTopics({ topics: [{ topic: 'syn-ms', numPartitions: 1, configEntries: [{ name: 'segment.ms', value: '60000' }] }] })
    const all = await describeTopic(admin, 'syn-ms')
    expect(all.get('retention.ms')).toMatchObject({ configValue: '3600000', configSource: ConfigSource.STATIC_BROKER_CONFIG })
    expect(synonyms(all.get('retention.ms'))).toEqual([
      ['log.retention.ms', '3600000', ConfigSource.STATIC_BROKER_CONFIG],
      ['log.retention.hours', '168', ConfigSource.DEFAULT_CONFIG],
    ])
    expect(synonyms(all.get('segment.ms'))).toEqual([['segment.ms', '60000', ConfigSource.TOPIC_CONFIG]])
  })

  it('applies log.retention.hours but, as Kafka does, lists it only after log.retention.ms', async () => {
    const { admin } = await adminFor({ 'log.retention.hours': '2' })
    await admin.createTopics({ topics: [{ topic: 'syn-hours', numPartitions: 1 }] })
    const all = await describeTopic(admin, 'syn-hours')
    expect(all.get('retention.ms')).toMatchObject({ configValue: '7200000', configSource: ConfigSource.DEFAULT_CONFIG })
    expect(synonyms(all.get('retention.ms'))).toEqual([])
  })
})
