import { describe, expect, it } from 'vitest'
import { collectList, collectPairs, parsePair, splitPairs } from '../../cli/lib/config-pairs.js'
import { brokerConfigFromEnv, formatAddress, resolveServeSettings } from '../../cli/lib/serve-config.js'

describe('config pairs', () => {
  it('splits comma-separated pairs but keeps list values whole', () => {
    expect(splitPairs('a=1,b=2')).toEqual(['a=1', 'b=2'])
    expect(splitPairs('cleanup.policy=compact,delete')).toEqual(['cleanup.policy=compact,delete'])
    expect(collectPairs('x=1', [['a', '0']])).toEqual([
      ['a', '0'],
      ['x', '1'],
    ])
    expect(parsePair('k=a=b')).toEqual(['k', 'a=b'])
    expect(() => parsePair('=v')).toThrow(/expected key=value/)
    expect(collectList('a, b,,c', ['z'])).toEqual(['z', 'a', 'b', 'c'])
  })
})

describe('serve settings', () => {
  it('maps SAMSA_<KEY> variables to broker keys, skipping the ones flags own', () => {
    expect(
      brokerConfigFromEnv({ SAMSA_NUM_PARTITIONS: '3', SAMSA_LOG_RETENTION_MS: '1000', SAMSA_PORT: '1', SAMSA_BOOTSTRAP: 'x', PATH: '/bin' }),
    ).toEqual({ 'num.partitions': '3', 'log.retention.ms': '1000' })
  })

  it('has sensible defaults', () => {
    expect(resolveServeSettings({ set: [] }, {}, {})).toEqual({
      dataDir: './samsa-data',
      host: '127.0.0.1',
      port: 9092,
      advertisedHost: undefined,
      advertisedPort: undefined,
      nodeId: undefined,
      logLevel: 'info',
      config: {},
    })
  })

  it('lets flags beat environment beat file', () => {
    const file = { 'num.partitions': '1', 'log.retention.ms': '5', listeners: 'PLAINTEXT://0.0.0.0:9999', 'log.dirs': '/data/a,/data/b', 'node.id': '4' }
    const s = resolveServeSettings({ set: [['log.retention.ms', '7']], port: '1234' }, file, { SAMSA_NUM_PARTITIONS: '6', SAMSA_LOG_RETENTION_MS: '6' })
    expect(s.config['num.partitions']).toBe('6')
    expect(s.config['log.retention.ms']).toBe('7')
    expect(s.host).toBe('0.0.0.0')
    expect(s.port).toBe(1234)
    expect(s.dataDir).toBe('/data/a')
    expect(s.nodeId).toBe(4)
  })

  it('rejects a bad port', () => {
    expect(() => resolveServeSettings({ set: [], port: '70000' }, {}, {})).toThrow(/port number/)
    expect(() => resolveServeSettings({ set: [], port: 'x' }, {}, {})).toThrow(/port number/)
  })

  it('brackets IPv6 addresses', () => {
    expect(formatAddress('::1', 9092)).toBe('[::1]:9092')
    expect(formatAddress('127.0.0.1', 9092)).toBe('127.0.0.1:9092')
  })
})
