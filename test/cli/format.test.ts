import { describe, expect, it } from 'vitest'
import { compileTemplate, createFormatter, recordToJson, type RecordView } from '../../cli/lib/format.js'

const record: RecordView = {
  topic: 'orders',
  partition: 2,
  offset: '41',
  timestamp: '1714564800000',
  key: Buffer.from('user-7'),
  value: Buffer.from('{"total":3}'),
  headers: { trace: Buffer.from('abc'), tag: [Buffer.from('a'), Buffer.from('b')] },
}

function render(format: string, r: RecordView = record): string {
  const out: (Buffer | string)[] = []
  createFormatter(format)(r, out)
  return Buffer.concat(out.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))).toString()
}

describe('templates', () => {
  it('substitutes every placeholder', () => {
    expect(render('%p:%o %k=%v')).toBe('2:41 user-7={"total":3}')
    expect(render('%t@%T')).toBe('orders@1714564800000')
    expect(render('%h')).toBe('trace=abc,tag=a,tag=b')
    expect(render('%K/%S')).toBe('6/11')
    expect(render('100%% %v')).toBe('100% {"total":3}')
  })

  it('expands escapes', () => {
    expect(render('%k\\t%v\\n')).toBe('user-7\t{"total":3}\n')
  })

  it('prints null for absent keys and values', () => {
    expect(render('%k|%v|%K', { ...record, key: null, value: null })).toBe('null|null|-1')
  })

  it('passes value bytes through untouched', () => {
    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x0a])
    const out: (Buffer | string)[] = []
    compileTemplate('%v')({ ...record, value: bytes }, out)
    expect(Buffer.concat(out.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)))).toEqual(bytes)
  })

  it('rejects unknown placeholders and formats', () => {
    expect(() => createFormatter('%q')).toThrow(/unknown placeholder '%q'/)
    expect(() => createFormatter('yaml')).toThrow(/unknown format/)
  })
})

describe('built-in formats', () => {
  it('value prints only the value', () => {
    expect(render('value')).toBe('{"total":3}')
  })

  it('json carries key, partition, offset, timestamp and headers', () => {
    expect(JSON.parse(recordToJson(record))).toEqual({
      topic: 'orders',
      partition: 2,
      offset: 41,
      timestamp: 1714564800000,
      key: 'user-7',
      value: '{"total":3}',
      headers: { trace: 'abc', tag: ['a', 'b'] },
    })
    expect(JSON.parse(render('json', { ...record, key: null, headers: undefined }))).toMatchObject({ key: null, headers: {} })
  })

  it('key-value separates with a tab', () => {
    expect(render('key-value')).toBe('user-7\t{"total":3}')
  })
})
