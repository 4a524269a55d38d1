import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LineSplitter, parseHeaderList, parseLine } from '../../cli/lib/lines.js'

function split(chunks: Buffer[]): string[] {
  const s = new LineSplitter()
  const lines: string[] = []
  for (const c of chunks) s.push(c, (l) => lines.push(l.toString('latin1')))
  s.end((l) => lines.push(l.toString('latin1')))
  return lines
}

describe('LineSplitter', () => {
  it('splits on newlines, keeps empty lines, and flushes a last line without newline', () => {
    expect(split([Buffer.from('a\n\nb\nc')])).toEqual(['a', '', 'b', 'c'])
    expect(split([Buffer.from('a\n')])).toEqual(['a'])
  })

  it('joins lines that straddle chunks', () => {
    expect(split([Buffer.from('hel'), Buffer.from('lo\nwor'), Buffer.from('l'), Buffer.from('d\n')])).toEqual(['hello', 'world'])
  })

  it('gives the same lines however the input is chunked', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\n', '\r', 'é') })), fc.array(fc.nat(20)), (pieces, cuts) => {
        const whole = Buffer.from(pieces.join(''), 'latin1')
        const chunks: Buffer[] = []
        let pos = 0
        for (const cut of cuts) {
          if (pos >= whole.length) break
          chunks.push(whole.subarray(pos, pos + cut))
          pos += cut
        }
        chunks.push(whole.subarray(pos))
        expect(split(chunks)).toEqual(split([whole]))
      }),
    )
  })
})

describe('parseLine', () => {
  it('splits key and value at the first separator', () => {
    const p = parseLine(Buffer.from('k1:v:1'), { keySeparator: Buffer.from(':') })
    expect(p.key?.toString()).toBe('k1')
    expect(p.value.toString()).toBe('v:1')
  })

  it('reads per-line headers before the key', () => {
    const p = parseLine(Buffer.from('a=1,b=2\tk:v'), {
      headerSeparator: Buffer.from('\t'),
      keySeparator: Buffer.from(':'),
      staticHeaders: { source: 'cli', a: '0' },
    })
    expect(p.headers).toEqual({ source: 'cli', a: '1', b: '2' })
    expect(p.key?.toString()).toBe('k')
    expect(p.value.toString()).toBe('v')
  })

  it('reports a missing separator', () => {
    expect(() => parseLine(Buffer.from('novalue'), { keySeparator: Buffer.from(':') })).toThrow(/no key separator/)
    expect(() => parseHeaderList('broken')).toThrow(/invalid header/)
  })
})
