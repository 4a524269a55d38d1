// The README table renderer and the kcat output parser, without a broker.
import { describe, expect, it } from 'vitest'
import { FEATURES, type Cell, type ClientResult, type FeatureId } from './features.js'
import { currentMatrixSection, renderMatrixTable, replaceMatrixSection, MATRIX_END, MATRIX_START } from './render.js'
import { parseRecords } from './drivers/kcat.js'

function client(name: string, overrides: Partial<Record<FeatureId, Cell>> = {}): ClientResult {
  const cells = Object.fromEntries(FEATURES.map((f) => [f.id, overrides[f.id] ?? { status: 'pass' }])) as Record<FeatureId, Cell>
  return { name, version: '1.0', available: true, cells }
}

describe('renderMatrixTable', () => {
  it('puts one row per feature, one column per client, and numbers each distinct note once, in row order', () => {
    const shared = 'no built-in codec'
    const table = renderMatrixTable({
      clients: [
        client('a', { 'codec-lz4': { status: 'pass', note: shared }, 'codec-zstd': { status: 'pass', note: shared } }),
        client('b', { group: { status: 'fail', error: 'boom' }, createTopic: { status: 'n/a', note: 'no admin' } }),
      ],
    })
    const lines = table.split('\n')
    expect(lines).toContain('| Feature | a 1.0 | b 1.0 |')
    expect(lines).toContain('| Create topic | pass | n/a [1] |')
    expect(lines).toContain('| Compression: lz4 | pass [2] | pass |')
    expect(lines).toContain('| Compression: zstd | pass [2] | pass |')
    expect(lines).toContain('| Consumer group: join, commit, resume | pass | fail |')
    expect(lines.filter((l) => l.startsWith('| ') && !l.startsWith('| Feature'))).toHaveLength(FEATURES.length)
    expect(lines.filter((l) => /^\[\d\] /.test(l))).toEqual(['[1] no admin', `[2] ${shared}`])
    expect(table).not.toContain('boom')
  })

  it('replaces only the text between the markers, and reads it back unchanged', () => {
    const readme = `# T\n\n${MATRIX_START}\nold\n${MATRIX_END}\n\n## Next\n`
    const updated = replaceMatrixSection(readme, 'new table')
    expect(updated).toBe(`# T\n\n${MATRIX_START}\nnew table\n${MATRIX_END}\n\n## Next\n`)
    expect(currentMatrixSection(updated)).toBe('new table')
    expect(currentMatrixSection('# no markers')).toBeNull()
    expect(() => replaceMatrixSection('# no markers', 'x')).toThrow(/markers/)
  })
})

describe('kcat record parsing', () => {
  it('reads length-prefixed keys and values exactly, binary and newlines included', () => {
    const value = Buffer.from([0x00, 0xff, 0x0a, 0x20, 0x3a])
    const out = Buffer.concat([
      Buffer.from('0 4 1700000000000 3:k-4 5:'),
      value,
      Buffer.from(' a=1,dup=x,dup=y\n0 5 1700000000001 -1: 2:v5 \n'),
    ])
    expect(parseRecords(out)).toEqual([
      { partition: 0, offset: 4, timestamp: 1700000000000, key: Buffer.from('k-4').toString('hex'), value: value.toString('hex'), headers: [['a', '31'], ['dup', '78'], ['dup', '79']] },
      { partition: 0, offset: 5, timestamp: 1700000000001, key: null, value: Buffer.from('v5').toString('hex'), headers: [] },
    ])
  })
})
