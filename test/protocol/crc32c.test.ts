import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { crc32c, crc32cIsNative, crc32cTable } from '../../protocol/crc32c.js'

describe('crc32c', () => {
  it('matches the published check value', () => {
    const input = Buffer.from('123456789')
    expect(crc32c(input)).toBe(0xe3069283)
    expect(crc32cTable(input)).toBe(0xe3069283)
  })

  it('matches RFC 3720 (iSCSI) vectors', () => {
    expect(crc32cTable(new Uint8Array(32))).toBe(0x8a9136aa)
    expect(crc32cTable(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43)
    const inc = Uint8Array.from({ length: 32 }, (_, i) => i)
    expect(crc32cTable(inc)).toBe(0x46dd794e)
    expect(crc32c(inc)).toBe(0x46dd794e)
    expect(crc32c(new Uint8Array(0))).toBe(0)
  })

  it('uses the native implementation', () => {
    expect(crc32cIsNative).toBe(true)
  })

  it('native and table implementations agree on random data of every alignment', () => {
    const big = randomBytes(4096 + 16)
    for (let len = 0; len < 80; len++) {
      for (let off = 0; off < 9; off++) {
        const view = big.subarray(off, off + len)
        expect(crc32cTable(view)).toBe(crc32c(view))
      }
    }
    expect(crc32cTable(big)).toBe(crc32c(big))
  })

  it('chains: crc(a+b) == crc(b, crc(a)) for both implementations', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        const whole = Buffer.concat([a, b])
        expect(crc32c(b, crc32c(a))).toBe(crc32c(whole))
        expect(crc32cTable(b, crc32cTable(a))).toBe(crc32cTable(whole))
        expect(crc32cTable(whole)).toBe(crc32c(whole))
      }),
    )
  })
})
