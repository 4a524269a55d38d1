// Growable big-endian writer, reused for the lifetime of a connection.
//
// Bytes go into a slab; finish() hands out views of the region written since the previous
// finish() and the writer carries on in the unused tail of the same slab. A handed-out view
// is never written again (the socket may still be holding it): when the tail runs out a new
// slab is allocated and the old one is left to whoever still references it. Payloads of
// LARGE_RAW bytes or more are appended by reference as their own chunk, so a Fetch response
// carrying stored record batches never copies them.

const LARGE_RAW = 16 * 1024
const MAX_SLAB = 1024 * 1024
const ZERO_UUID_BYTES = 16

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return 0
}

export class Writer {
  private buf: Buffer
  private pos = 0
  private start = 0
  private slabSize: number
  private chunks: Uint8Array[] = []
  private chunkBytes = 0
  private patchBufs: Buffer[] = []
  private patchOffsets: number[] = []

  constructor(initialCapacity = 64 * 1024) {
    this.slabSize = Math.max(64, initialCapacity)
    this.buf = Buffer.allocUnsafeSlow(this.slabSize)
  }

  get length(): number {
    return this.chunkBytes + (this.pos - this.start)
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.buf.subarray(this.start, this.pos))
      this.chunkBytes += this.pos - this.start
      this.start = this.pos
    }
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    this.seal()
    if (this.slabSize < MAX_SLAB) this.slabSize = Math.min(MAX_SLAB, this.slabSize * 2)
    this.buf = Buffer.allocUnsafeSlow(Math.max(this.slabSize, n))
    this.pos = 0
    this.start = 0
  }

  writeInt8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }

  writeBool(v: boolean): void {
    this.ensure(1)
    this.buf[this.pos++] = v ? 1 : 0
  }

  writeInt16(v: number): void {
    this.ensure(2)
    const b = this.buf
    const p = this.pos
    b[p] = v >>> 8
    b[p + 1] = v
    this.pos = p + 2
  }

  writeUInt16(v: number): void {
    this.writeInt16(v)
  }

  writeInt32(v: number): void {
    this.ensure(4)
    const b = this.buf
    const p = this.pos
    b[p] = v >>> 24
    b[p + 1] = v >>> 16
    b[p + 2] = v >>> 8
    b[p + 3] = v
    this.pos = p + 4
  }

  writeUInt32(v: number): void {
    this.writeInt32(v)
  }

  writeInt64(v: number): void {
    this.ensure(8)
    const hi = Math.floor(v / 4294967296)
    const lo = v - hi * 4294967296
    const b = this.buf
    const p = this.pos
    b[p] = hi >>> 24
    b[p + 1] = hi >>> 16
    b[p + 2] = hi >>> 8
    b[p + 3] = hi
    b[p + 4] = lo >>> 24
    b[p + 5] = lo >>> 16
    b[p + 6] = lo >>> 8
    b[p + 7] = lo
    this.pos = p + 8
  }

  writeFloat64(v: number): void {
    this.ensure(8)
    this.buf.writeDoubleBE(v, this.pos)
    this.pos += 8
  }

  /** Accepts the canonical 8-4-4-4-12 form; any non-hex digit is read as 0. */
  writeUuid(s: string): void {
    this.ensure(ZERO_UUID_BYTES)
    const b = this.buf
    let p = this.pos
    let i = 0
    for (let n = 0; n < 16; n++) {
      if (s.charCodeAt(i) === 45) i++
      b[p++] = (hexValue(s.charCodeAt(i)) << 4) | hexValue(s.charCodeAt(i + 1))
      i += 2
    }
    this.pos = p
  }

  writeUnsignedVarInt(v: number): void {
    this.ensure(5)
    const b = this.buf
    let p = this.pos
    v >>>= 0
    while (v > 0x7f) {
      b[p++] = (v & 0x7f) | 0x80
      v >>>= 7
    }
    b[p++] = v
    this.pos = p
  }

  writeVarInt(v: number): void {
    this.writeUnsignedVarInt((v << 1) ^ (v >> 31))
  }

  writeVarLong(v: number): void {
    this.ensure(10)
    // zigzag over 64 bits, computed on two 32-bit halves to stay exact up to 2^53
    const negative = v < 0
    const m = negative ? -v - 1 : v
    let hi = Math.floor(m / 4294967296)
    let lo = m - hi * 4294967296
    hi = ((hi << 1) | (lo >>> 31)) >>> 0
    lo = ((lo << 1) >>> 0) | (negative ? 1 : 0)
    lo >>>= 0
    const b = this.buf
    let p = this.pos
    while (hi !== 0 || lo > 0x7f) {
      b[p++] = (lo & 0x7f) | 0x80
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    b[p++] = lo
    this.pos = p
  }

  private writeUtf8(s: string, lengthPrefix: 0 | 1 | 2, nullOffset: number): void {
    // Short ASCII is the common case; size it with one scan and copy it byte by byte.
    const n = s.length
    let ascii = true
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false
        break
      }
    }
    const len = ascii ? n : Buffer.byteLength(s, 'utf8')
    if (lengthPrefix === 0) this.writeInt16(len)
    else if (lengthPrefix === 1) this.writeUnsignedVarInt(len + nullOffset)
    else this.writeInt32(len)
    this.ensure(len)
    const b = this.buf
    const p = this.pos
    if (ascii) for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i)
    else b.write(s, p, len, 'utf8')
    this.pos = p + len
  }

  writeString(s: string): void {
    this.writeUtf8(s, 0, 0)
  }

  writeNullableString(s: string | null): void {
    if (s === null) this.writeInt16(-1)
    else this.writeUtf8(s, 0, 0)
  }

  writeCompactString(s: string): void {
    this.writeUtf8(s, 1, 1)
  }

  writeCompactNullableString(s: string | null): void {
    if (s === null) this.writeUnsignedVarInt(0)
    else this.writeUtf8(s, 1, 1)
  }

  writeBytes(bytes: Uint8Array): void {
    this.writeInt32(bytes.length)
    this.writeRaw(bytes)
  }

  writeNullableBytes(bytes: Uint8Array | null): void {
    if (bytes === null) this.writeInt32(-1)
    else this.writeBytes(bytes)
  }

  writeCompactBytes(bytes: Uint8Array): void {
    this.writeUnsignedVarInt(bytes.length + 1)
    this.writeRaw(bytes)
  }

  writeCompactNullableBytes(bytes: Uint8Array | null): void {
    if (bytes === null) this.writeUnsignedVarInt(0)
    else this.writeCompactBytes(bytes)
  }

  writeArrayLength(n: number): void {
    this.writeInt32(n)
  }

  writeCompactArrayLength(n: number): void {
    this.writeUnsignedVarInt(n + 1)
  }

  writeRaw(bytes: Uint8Array): void {
    const n = bytes.length
    if (n >= LARGE_RAW) {
      this.seal()
      this.chunks.push(bytes)
      this.chunkBytes += n
      return
    }
    this.ensure(n)
    this.buf.set(bytes, this.pos)
    this.pos += n
  }

  /** Reserves four bytes (e.g. a frame size) to be filled by patchInt32 before finish(). */
  reserveInt32(): number {
    this.ensure(4)
    this.patchBufs.push(this.buf)
    this.patchOffsets.push(this.pos)
    this.pos += 4
    return this.patchBufs.length - 1
  }

  patchInt32(handle: number, value: number): void {
    const b = this.patchBufs[handle]
    const p = this.patchOffsets[handle]
    if (b === undefined || p === undefined) throw new RangeError(`unknown patch handle ${handle}`)
    b[p] = value >>> 24
    b[p + 1] = value >>> 16
    b[p + 2] = value >>> 8
    b[p + 3] = value
  }

  finish(): Uint8Array[] {
    this.seal()
    const out = this.chunks
    this.chunks = []
    this.chunkBytes = 0
    this.patchBufs.length = 0
    this.patchOffsets.length = 0
    return out
  }

  toBuffer(): Buffer {
    const chunks = this.finish()
    if (chunks.length === 1) return Buffer.from(chunks[0]!.buffer, chunks[0]!.byteOffset, chunks[0]!.byteLength)
    return Buffer.concat(chunks)
  }
}
