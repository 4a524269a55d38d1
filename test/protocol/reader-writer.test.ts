import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'

describe('Reader and Writer primitives', () => {
  it('round-trip fixed-width integers at their limits', () => {
    const w = new Writer(16)
    w.writeInt8(-128)
    w.writeInt16(-32768)
    w.writeUInt16(65535)
    w.writeInt32(-2147483648)
    w.writeUInt32(4294967295)
    for (const n of [0, -1, 1, 2 ** 32, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) w.writeInt64(n)
    w.writeFloat64(-1.5)
    w.writeBool(true)
    const r = new Reader(w.toBuffer())
    expect([r.readInt8(), r.readInt16(), r.readUInt16(), r.readInt32(), r.readUInt32()]).toEqual([-128, -32768, 65535, -2147483648, 4294967295])
    for (const n of [0, -1, 1, 2 ** 32, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) expect(r.readInt64()).toBe(n)
    expect(r.readFloat64()).toBe(-1.5)
    expect(r.readBool()).toBe(true)
    expect(r.remaining()).toBe(0)
    expect(r.bad).toBe(false)
  })

  it('int64 matches the two-complement encoding', () => {
    const w = new Writer()
    w.writeInt64(-2)
    w.writeInt64(0x0102030405)
    expect(w.toBuffer().toString('hex')).toBe('fffffffffffffffe' + '0000000102030405')
  })

  it('varints match Kafka zigzag encoding and round-trip', () => {
    const w = new Writer()
    w.writeVarInt(0)
    w.writeVarInt(-1)
    w.writeVarInt(1)
    w.writeVarInt(-64)
    w.writeVarInt(64)
    w.writeUnsignedVarInt(300)
    w.writeVarLong(-1)
    w.writeVarLong(2 ** 40)
    expect(w.toBuffer().toString('hex')).toBe('00' + '01' + '02' + '7f' + '8001' + 'ac02' + '01' + '808080808040')
    fc.assert(
      fc.property(fc.integer(), fc.maxSafeInteger(), fc.nat(), (i, l, u) => {
        const w2 = new Writer(8)
        w2.writeVarInt(i)
        w2.writeVarLong(l)
        w2.writeUnsignedVarInt(u)
        const r = new Reader(w2.toBuffer())
        expect([r.readVarInt(), r.readVarLong(), r.readUnsignedVarInt()]).toEqual([i, l, u])
        expect(r.remaining()).toBe(0)
      }),
    )
  })

  it('strings, bytes and uuids round-trip in classic and compact forms', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.uuid(), (s, b, id) => {
        const w = new Writer(16)
        w.writeString(s)
        w.writeCompactString(s)
        w.writeNullableString(null)
        w.writeCompactNullableString(null)
        w.writeBytes(b)
        w.writeCompactBytes(b)
        w.writeNullableBytes(null)
        w.writeCompactNullableBytes(null)
        w.writeUuid(id)
        const r = new Reader(w.toBuffer())
        expect(r.readString()).toBe(s)
        expect(r.readCompactString()).toBe(s)
        expect(r.readNullableString()).toBeNull()
        expect(r.readCompactNullableString()).toBeNull()
        expect(Buffer.from(r.readBytes())).toEqual(Buffer.from(b))
        expect(Buffer.from(r.readCompactBytes())).toEqual(Buffer.from(b))
        expect(r.readNullableBytes()).toBeNull()
        expect(r.readCompactNullableBytes()).toBeNull()
        expect(r.readUuid()).toBe(id)
        expect(r.remaining()).toBe(0)
      }),
    )
  })

  it('byte fields are views of the input, not copies', () => {
    const frame = Buffer.from([0, 0, 0, 3, 7, 8, 9])
    const b = new Reader(frame).readBytes()
    frame[4] = 42
    expect(b[0]).toBe(42)
  })

  it('a reader over a window stops at its end', () => {
    const r = new Reader(Buffer.from([1, 2, 3, 4, 5, 6]), 2, 4)
    expect(r.readInt16()).toBe(0x0304)
    expect(r.readInt8()).toBe(0)
    expect(r.bad).toBe(true)
  })
})

describe('Writer chunks', () => {
  it('chunks handed out by finish() are never overwritten by later writes', () => {
    const w = new Writer(64)
    const handed: { chunk: Uint8Array; copy: Buffer }[] = []
    for (let i = 0; i < 500; i++) {
      w.writeInt32(i)
      w.writeString('x'.repeat(i % 50))
      for (const chunk of w.finish()) handed.push({ chunk, copy: Buffer.from(chunk) })
    }
    for (const { chunk, copy } of handed) expect(Buffer.from(chunk)).toEqual(copy)
  })

  it('large raw payloads are appended by reference', () => {
    const big = new Uint8Array(64 * 1024).fill(7)
    const w = new Writer(128)
    w.writeInt32(big.length)
    w.writeRaw(big)
    w.writeInt16(1)
    expect(w.length).toBe(4 + big.length + 2)
    const chunks = w.finish()
    expect(chunks).toHaveLength(3)
    expect(chunks[1]).toBe(big)
    expect(w.length).toBe(0)
  })

  it('small raw payloads are copied so the caller may reuse them', () => {
    const small = new Uint8Array([1, 2, 3])
    const w = new Writer()
    w.writeRaw(small)
    small[0] = 9
    expect([...w.toBuffer()]).toEqual([1, 2, 3])
  })

  it('a reserved int32 is patched even after the writer moved to a new slab', () => {
    const w = new Writer(64)
    const h = w.reserveInt32()
    const start = w.length
    for (let i = 0; i < 100; i++) w.writeInt32(i)
    w.patchInt32(h, w.length - start)
    const out = w.toBuffer()
    expect(out.readInt32BE(0)).toBe(400)
    expect(out.length).toBe(404)
    expect(out.readInt32BE(400)).toBe(99)
  })

  it('length counts bytes since the last finish()', () => {
    const w = new Writer()
    w.writeInt64(1)
    w.finish()
    w.writeInt8(1)
    expect(w.length).toBe(1)
  })
})
