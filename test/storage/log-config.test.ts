import { describe, expect, it } from 'vitest'
import { LONG_MAX, TOPIC_CONFIG_DEFS, resolveLogConfig, validateTopicConfigs } from '../../storage/log-config.js'

describe('LogConfig', () => {
  it("has Kafka's defaults, except flush.ms", () => {
    const c = resolveLogConfig({}, {})
    expect(c).toMatchObject({
      segmentBytes: 1073741824,
      segmentMs: 604800000,
      retentionMs: 604800000,
      retentionBytes: -1,
      indexIntervalBytes: 4096,
      segmentIndexBytes: 10485760,
      maxMessageBytes: 1048588,
      messageTimestampType: 'CreateTime',
      cleanupPolicy: ['delete'],
      minInsyncReplicas: 1,
      fileDeleteDelayMs: 60000,
    })
    expect(c.flushMessages).toBe(Number(LONG_MAX))
    // Samsa flushes in the background once a second (see FLUSH_MS_DEFAULT); Kafka never does.
    expect(c.flushMs).toBe(1000)
    expect(resolveLogConfig({ 'log.flush.interval.ms': LONG_MAX }, {}).flushMs).toBe(Number(LONG_MAX))
    expect(c.sources['retention.ms']).toBe('default')
    for (const def of TOPIC_CONFIG_DEFS) expect(def.validate?.(def.default), def.name).toBeUndefined()
  })

  it('takes broker log.* keys as defaults and topic overrides over them', () => {
    const broker = { 'log.retention.hours': '1', 'log.segment.bytes': '1000', 'message.max.bytes': '2000', 'log.roll.ms': '5000' }
    const c = resolveLogConfig(broker, { 'segment.bytes': '3000' })
    expect(c.retentionMs).toBe(3_600_000)
    expect(c.segmentBytes).toBe(3000)
    expect(c.maxMessageBytes).toBe(2000)
    expect(c.segmentMs).toBe(5000)
    expect(c.sources['segment.bytes']).toBe('topic')
    expect(c.sources['retention.ms']).toBe('broker')
    expect(resolveLogConfig({ 'log.retention.ms': '10', 'log.retention.hours': '1' }, {}).retentionMs).toBe(10)
  })

  it('rejects unknown keys and invalid values', () => {
    expect(() => validateTopicConfigs({ 'segment.bytes': '10' })).toThrow(/at least 14/)
    expect(() => validateTopicConfigs({ 'retention.ms': '-2' })).toThrow()
    expect(() => validateTopicConfigs({ 'message.timestamp.type': 'Wallclock' })).toThrow()
    expect(() => validateTopicConfigs({ 'cleanup.policy': 'compact,delete' })).not.toThrow()
    expect(() => validateTopicConfigs({ 'min.cleanable.dirty.ratio': '1.5' })).toThrow()
    expect(() => validateTopicConfigs({ bogus: '1' })).toThrow(/Unknown topic config/)
    try {
      validateTopicConfigs({ bogus: '1' })
    } catch (err) {
      expect((err as { kafkaError: string }).kafkaError).toBe('INVALID_CONFIG')
    }
  })
})
