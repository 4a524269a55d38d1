// Bounds-checked big-endian reader over one Kafka frame.
//
// Malformed input never throws: the first failure sets the sticky `bad` flag and records
// `error`, and every later read returns a zero value without touching the buffer. Callers
// decode a whole frame and check `bad` once (franz-go's kbin model). Every declared length
// is compared with the bytes left before anything is allocated, so a hostile length such as
// 2^31-1 costs nothing. Byte fields are subarray views of the input, never copies.

export class DecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DecodeError'
  }
}

const HEX: string[] = []
for (let i = 0; i < 256; i++) HEX.push(i.toString(16).padStart(2, '0'))

const EMPTY = Buffer.alloc(0)

// Short ASCII strings dominate Kafka headers and names; building them char by char beats
// the native utf8 decoder's call overhead up to roughly this length.
const SHORT_STRING = 24

export class Reader {
  offset: number
  readonly end: number
  bad = false
  error: string | undefined = undefined
  private readonly buf: Buffer

  constructor(buf: Uint8Array, offset = 0, end = buf.length) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
    this.offset = offset
    this.end = Math.min(end, buf.length)
    if (offset > this.end || offset < 0) this.fail(`offset ${offset} outside 0..${this.end}`)
  }

  remaining(): number {
    return this.end - this.offset
  }

  fail(msg: string): void {
    if (this.bad) return
    this.bad = true
    this.error = msg
    // Pin the cursor to the end so no later read can make progress.
    this.offset = this.end
  }

  /** Throws a DecodeError if any read failed; for callers that prefer exceptions. */
  check(): void {
    if (this.bad) throw new DecodeError(this.error ?? 'decode error')
  }

  private need(n: number, what: string): boolean {
    if (this.bad) return false
    if (n > this.end - this.offset) {
      this.fail(`${what} needs ${n} bytes, ${this.end - this.offset} remaining at offset ${this.offset}`)
      return false
    }
    return true
  }

  readInt8(): number {
    if (!this.need(1, 'int8')) return 0
    const v = this.buf[this.offset++]!
    return (v << 24) >> 24
  }

  readBool(): boolean {
    if (!this.need(1, 'bool')) return false
    return this.buf[this.offset++] !== 0
  }

  readInt16(): number {
    if (!this.need(2, 'int16')) return 0
    const b = this.buf
    const o = this.offset
    this.offset = o + 2
    return ((b[o]! << 24) | (b[o + 1]! << 16)) >> 16
  }

  readUInt16(): number {
    if (!this.need(2, 'uint16')) return 0
    const b = this.buf
    const o = this.offset
    this.offset = o + 2
    return (b[o]! << 8) | b[o + 1]!
  }

  readInt32(): number {
    if (!this.need(4, 'int32')) return 0
    const b = this.buf
    const o = this.offset
    this.offset = o + 4
    return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!
  }

  readUInt32(): number {
    return this.readInt32() >>> 0
  }

  /** int64 as a JS number; exact within ±2^53, which covers offsets and timestamps. */
  readInt64(): number {
    if (!this.need(8, 'int64')) return 0
    const b = this.buf
    const o = this.offset
    this.offset = o + 8
    const hi = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!
    const lo = ((b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!) >>> 0
    return hi * 4294967296 + lo
  }

  readFloat64(): number {
    if (!this.need(8, 'float64')) return 0
    const v = this.buf.readDoubleBE(this.offset)
    this.offset += 8
    return v
  }

  readUuid(): string {
    if (!this.need(16, 'uuid')) return '00000000-0000-0000-0000-000000000000'
    const b = this.buf
    const o = this.offset
    this.offset = o + 16
    return (
      HEX[b[o]!]! + HEX[b[o + 1]!]! + HEX[b[o + 2]!]! + HEX[b[o + 3]!]! + '-' +
      HEX[b[o + 4]!]! + HEX[b[o + 5]!]! + '-' + HEX[b[o + 6]!]! + HEX[b[o + 7]!]! + '-' +
      HEX[b[o + 8]!]! + HEX[b[o + 9]!]! + '-' + HEX[b[o + 10]!]! + HEX[b[o + 11]!]! +
      HEX[b[o + 12]!]! + HEX[b[o + 13]!]! + HEX[b[o + 14]!]! + HEX[b[o + 15]!]!
    )
  }

  readUnsignedVarInt(): number {
    if (this.bad) return 0
    const b = this.buf
    let o = this.offset
    let v = 0
    for (let shift = 0; shift < 35; shift += 7) {
      if (o >= this.end) {
        this.fail(`truncated varint at offset ${this.offset}`)
        return 0
      }
      const byte = b[o++]!
      // The fifth byte may only carry the top 4 bits of a 32-bit value.
      if (shift === 28 && byte > 0x0f) break
      v |= (byte & 0x7f) << shift
      if (byte < 0x80) {
        this.offset = o
        return v >>> 0
      }
    }
    this.fail(`varint longer than 5 bytes at offset ${this.offset}`)
    return 0
  }

  readVarInt(): number {
    const v = this.readUnsignedVarInt()
    return (v >>> 1) ^ -(v & 1)
  }

  readVarLong(): number {
    if (this.bad) return 0
    const b = this.buf
    let o = this.offset
    // Accumulate in two halves so values up to 2^53 stay exact without BigInt.
    let lo = 0
    let hi = 0
    for (let i = 0; i < 10; i++) {
      if (o >= this.end) {
        this.fail(`truncated varlong at offset ${this.offset}`)
        return 0
      }
      const byte = b[o++]!
      if (i === 9 && byte > 0x01) break
      const bits = byte & 0x7f
      if (i < 4) lo |= bits << (7 * i)
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28
        hi |= bits >>> 4
      } else hi |= bits << (7 * i - 32)
      if (byte < 0x80) {
        this.offset = o
        lo >>>= 0
        hi >>>= 0
        // zigzag: value = (u >>> 1) ^ -(u & 1), over the 64-bit pair
        const negative = lo & 1
        const uLo = ((lo >>> 1) | (hi << 31)) >>> 0
        const uHi = hi >>> 1
        const magnitude = uHi * 4294967296 + uLo
        return negative ? -magnitude - 1 : magnitude
      }
    }
    this.fail(`varlong longer than 10 bytes at offset ${this.offset}`)
    return 0
  }

  private utf8(start: number, len: number): string {
    const b = this.buf
    if (len < SHORT_STRING) {
      let s = ''
      for (let i = start, end = start + len; i < end; i++) {
        const c = b[i]!
        if (c > 0x7f) return b.toString('utf8', start, start + len)
        s += String.fromCharCode(c)
      }
      return s
    }
    return b.toString('utf8', start, start + len)
  }

  private stringOfLength(len: number, what: string): string {
    if (len < 0) {
      this.fail(`${what} length ${len} is invalid at offset ${this.offset}`)
      return ''
    }
    if (!this.need(len, `${what} length ${len}:`)) return ''
    const start = this.offset
    this.offset = start + len
    return this.utf8(start, len)
  }

  readString(): string {
    const len = this.readInt16()
    return this.stringOfLength(len, 'string')
  }

  readNullableString(): string | null {
    const len = this.readInt16()
    if (len === -1) return null
    return this.stringOfLength(len, 'string')
  }

  readCompactString(): string {
    const len = this.readUnsignedVarInt() - 1
    return this.stringOfLength(len, 'compact string')
  }

  readCompactNullableString(): string | null {
    const n = this.readUnsignedVarInt()
    if (n === 0) return this.bad ? '' : null
    return this.stringOfLength(n - 1, 'compact string')
  }

  private bytesOfLength(len: number, what: string): Uint8Array {
    if (len < 0) {
      this.fail(`${what} length ${len} is invalid at offset ${this.offset}`)
      return EMPTY
    }
    if (!this.need(len, `${what} length ${len}:`)) return EMPTY
    const start = this.offset
    this.offset = start + len
    return this.buf.subarray(start, start + len)
  }

  readBytes(): Uint8Array {
    return this.bytesOfLength(this.readInt32(), 'bytes')
  }

  readNullableBytes(): Uint8Array | null {
    const len = this.readInt32()
    if (len === -1) return null
    return this.bytesOfLength(len, 'bytes')
  }

  readCompactBytes(): Uint8Array {
    return this.bytesOfLength(this.readUnsignedVarInt() - 1, 'compact bytes')
  }

  readCompactNullableBytes(): Uint8Array | null {
    const n = this.readUnsignedVarInt()
    if (n === 0) return this.bad ? EMPTY : null
    return this.bytesOfLength(n - 1, 'compact bytes')
  }

  private count(n: number, what: string): number {
    if (this.bad) return 0
    if (n === -1) return -1
    // Every element occupies at least one byte, so a count above the bytes left is a lie.
    if (n < -1 || n > this.end - this.offset) {
      this.fail(`${what} count ${n} exceeds ${this.end - this.offset} remaining bytes at offset ${this.offset}`)
      return 0
    }
    return n
  }

  readArrayLength(): number {
    return this.count(this.readInt32(), 'array')
  }

  readCompactArrayLength(): number {
    return this.count(this.readUnsignedVarInt() - 1, 'compact array')
  }

  readRaw(n: number): Uint8Array {
    if (n < 0) {
      this.fail(`raw length ${n} is invalid at offset ${this.offset}`)
      return EMPTY
    }
    if (!this.need(n, 'raw')) return EMPTY
    const start = this.offset
    this.offset = start + n
    return this.buf.subarray(start, start + n)
  }

  skip(n: number): void {
    if (n < 0) {
      this.fail(`skip length ${n} is invalid at offset ${this.offset}`)
      return
    }
    if (!this.need(n, 'skip')) return
    this.offset += n
  }
}
