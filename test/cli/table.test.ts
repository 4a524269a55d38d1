import { describe, expect, it } from 'vitest'
import { formatBytes, formatTable, jsonLine } from '../../cli/lib/table.js'

describe('formatTable', () => {
  it('aligns columns, numbers to the right, without trailing spaces', () => {
    const text = formatTable(
      ['TOPIC', 'PARTITIONS'],
      [
        ['orders', 3],
        ['a-much-longer-name', 12],
      ],
    )
    expect(text).toBe(['TOPIC               PARTITIONS', 'orders                       3', 'a-much-longer-name          12', ''].join('\n'))
  })

  it('shows missing cells as a dash and honours explicit alignment', () => {
    const text = formatTable(['A', 'B', 'C'], [['x', null, 7]], ['left', 'left', 'left'])
    expect(text).toBe('A  B  C\nx  -  7\n')
  })

  it('prints only the header for no rows', () => {
    expect(formatTable(['A', 'B'], [])).toBe('A  B\n')
  })
})

describe('jsonLine', () => {
  it('writes one line and keeps bigints exact', () => {
    expect(jsonLine({ offset: 9007199254740993n, topic: 't' })).toBe('{"offset":"9007199254740993","topic":"t"}\n')
  })
})

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1023)).toBe('1023 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(50 * 1048576)).toBe('50 MiB')
    expect(formatBytes(null)).toBe('-')
  })
})
