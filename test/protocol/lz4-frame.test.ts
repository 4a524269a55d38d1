// The LZ4 frame decoder: round trips against two independent encoders (lz4-napi's lz4_flex and
// python-lz4's liblz4), and malformed frames that must fail with Lz4FrameError, never read or
// write outside their buffers, never hang.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { compressFrameSync, decompressFrameSync } from 'lz4-napi'
import { describe, expect, it } from 'vitest'
import { Codec, DecompressionLimitError, decompress } from '../../protocol/compression.js'
import { Lz4FrameError, decodeLz4Frames, lz4FrameBound, xxh32 } from '../../protocol/lz4-frame.js'
import { PYTHON } from '../helpers/external-clients.js'

const lz4 = (frame: Uint8Array, limit?: number): Buffer => decompress(Codec.Lz4, frame, limit)

/** Data with the structure LZ4 works on: random stretches, byte runs, repeated patterns. */
const payload = fc
  .array(
    fc.oneof(
      fc.uint8Array({ maxLength: 3000 }),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 20_000 })).map(([b, n]) => new Uint8Array(n).fill(b)),
      fc
        .tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 2000 }))
        .map(([pattern, times]) => Buffer.concat(Array.from({ length: times }, () => pattern))),
    ),
    { maxLength: 30 },
  )
  .map((parts) => Buffer.concat(parts))

// --- hand-made frames -------------------------------------------------------------------------

/** One LZ4 sequence: literals, then (unless last) a match of `length` bytes `offset` back. */
function sequence(literals: Uint8Array, match?: { offset: number; length: number }): Buffer {
  const ext = (n: number): number[] => {
    const out: number[] = []
    for (; n >= 255; n -= 255) out.push(255)
    out.push(n)
    return out
  }
  const lit = literals.length
  const ml = match ? match.length - 4 : 0
  const token = (Math.min(lit, 15) << 4) | Math.min(ml, 15)
  const bytes = [token, ...(lit >= 15 ? ext(lit - 15) : []), ...literals]
  if (match) bytes.push(match.offset & 0xff, match.offset >> 8, ...(ml >= 15 ? ext(ml - 15) : []))
  return Buffer.from(bytes)
}

interface FrameOptions {
  independent?: boolean
  blockSizeId?: number
  contentSize?: number
  blockChecksum?: boolean
  contentChecksum?: Buffer
}

const u32le = (n: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

function frame(blocks: Array<{ bytes: Buffer; stored?: boolean }>, o: FrameOptions = {}): Buffer {
  let flg = 0x40 | (o.independent === false ? 0 : 0x20)
  if (o.blockChecksum) flg |= 0x10
  if (o.contentSize !== undefined) flg |= 0x08
  if (o.contentChecksum) flg |= 0x04
  const descriptor = [flg, (o.blockSizeId ?? 4) << 4]
  if (o.contentSize !== undefined) descriptor.push(...u32le(o.contentSize), 0, 0, 0, 0)
  const d = Buffer.from(descriptor)
  const parts = [u32le(0x184d2204), d, Buffer.from([(xxh32(d, 0, d.length) >>> 8) & 0xff])]
  for (const b of blocks) {
    parts.push(u32le(b.bytes.length | (b.stored ? 0x80000000 : 0)), b.bytes)
    if (o.blockChecksum) parts.push(u32le(xxh32(b.bytes, 0, b.bytes.length)))
  }
  parts.push(u32le(0))
  if (o.contentChecksum) parts.push(u32le(xxh32(o.contentChecksum, 0, o.contentChecksum.length)))
  return Buffer.concat(parts)
}

const block = (...seqs: Buffer[]): { bytes: Buffer } => ({ bytes: Buffer.concat(seqs) })
const text = (s: string): Buffer => Buffer.from(s)

function expectLz4Error(f: Buffer, message?: RegExp): void {
  let err: unknown
  try {
    lz4(f)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(Lz4FrameError)
  if (message) expect((err as Error).message).toMatch(message)
}

describe('xxh32', () => {
  it('matches the reference vectors', () => {
    expect(xxh32(text(''), 0, 0)).toBe(0x02cc5d05)
    expect(xxh32(text('a'), 0, 1)).toBe(0x550d7456)
    expect(xxh32(text('abc'), 0, 3)).toBe(0x32d153ff)
    expect(xxh32(text('Nobody inspects the spammish repetition'), 0, 39)).toBe(0xe2293b2f)
  })
})

describe('lz4 frames round trip', () => {
  it("decodes lz4-napi's frames, with and without checksums", () => {
    fc.assert(
      fc.property(payload, fc.boolean(), fc.boolean(), (data, contentChecksum, blockChecksums) => {
        const c = compressFrameSync(data, { contentChecksum, blockChecksums })
        expect(Buffer.compare(lz4(c), data)).toBe(0)
      }),
      { numRuns: 150 },
    )
  })

  it("decodes python-lz4's frames: linked blocks, content sizes, checksums, every block size", () => {
    const inputs = fc.sample(payload, { seed: 13, numRuns: 60 })
    inputs.push(randomBytes(300_000), Buffer.alloc(5_000_000, 7), Buffer.concat([randomBytes(70_000), Buffer.alloc(200_000, 1)]))
    const cases = inputs.map((data, i) => ({
      data: data.toString('hex'),
      kw: {
        block_size: [0, 4, 5, 6, 7][i % 5],
        block_linked: i % 2 === 0,
        content_checksum: i % 3 === 0,
        block_checksum: i % 4 === 1,
        store_size: i % 5 !== 2,
        compression_level: [0, 9, 16, -1][i % 4],
      },
    }))
    const script = [
      'import json, sys, lz4.frame as f',
      'sizes = [f.BLOCKSIZE_DEFAULT, f.BLOCKSIZE_MAX64KB, f.BLOCKSIZE_MAX256KB, f.BLOCKSIZE_MAX1MB, f.BLOCKSIZE_MAX4MB]',
      'out = []',
      'for c in json.load(sys.stdin):',
      '    kw = c["kw"]; kw["block_size"] = sizes[kw["block_size"] - 3 if kw["block_size"] else 0]',
      '    out.append(f.compress(bytes.fromhex(c["data"]), **kw).hex())',
      'json.dump(out, sys.stdout)',
    ].join('\n')
    const py = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(cases), maxBuffer: 1 << 28 })
    expect(py.stderr.toString()).toBe('')
    const frames = (JSON.parse(py.stdout.toString()) as string[]).map((h) => Buffer.from(h, 'hex'))
    expect(frames).toHaveLength(inputs.length)
    expect(frames.some((f) => (f[4]! & 0x20) === 0 && f.length > 70_000)).toBe(true) // linked, several blocks
    frames.forEach((f, i) => expect(Buffer.compare(lz4(f), inputs[i]!), `case ${i}`).toBe(0))
  })

  it('decodes stored blocks, linked blocks and skippable frames between frames', () => {
    const stored = frame([{ bytes: text('plain '), stored: true }, block(sequence(text('ab'), { offset: 2, length: 6 }), sequence(text('!')))])
    expect(lz4(stored).toString()).toBe('plain abababab!')
    const linked = frame([block(sequence(text('hello'))), block(sequence(text(''), { offset: 5, length: 5 }), sequence(text('.')))], { independent: false })
    expect(lz4(linked).toString()).toBe('hellohello.')
    const skippable = Buffer.concat([u32le(0x184d2a53), u32le(3), text('xyz')])
    expect(lz4(Buffer.concat([linked, skippable, stored])).toString()).toBe('hellohello.plain abababab!')
    // overlapping matches of every short period
    for (let period = 1; period <= 9; period++) {
      const lit = randomBytes(period)
      const f = frame([block(sequence(lit, { offset: period, length: 500 }), sequence(text('')))])
      const want = Buffer.alloc(period + 500)
      for (let i = 0; i < want.length; i++) want[i] = lit[i % period]!
      expect(Buffer.compare(lz4(f), want), `period ${period}`).toBe(0)
    }
  })

  it('verifies content size and checksums when present', () => {
    const body = block(sequence(text('abcd'), { offset: 4, length: 8 }), sequence(text('e')))
    const content = text('abcdabcdabcde')
    expect(lz4(frame([body], { contentSize: 13, blockChecksum: true, contentChecksum: content })).toString()).toBe('abcdabcdabcde')
    expectLz4Error(frame([body], { contentSize: 14 }), /declares 14 bytes/)
    // a declared size smaller than the blocks bounds the output: decoding stops at it
    expectLz4Error(frame([body], { contentSize: 12 }), /past the end of the output/)
    expectLz4Error(frame([{ bytes: text('abc'), stored: true }], { contentSize: 2 }), /declared content size/)
    expect(lz4FrameBound(frame([body], { contentSize: 13 }))).toBe(13)
    expectLz4Error(frame([body], { contentChecksum: text('abcdabcdabcdf') }), /content checksum/)
    const badBlock = frame([body], { blockChecksum: true })
    badBlock[badBlock.length - 5] ^= 1
    expectLz4Error(badBlock, /block checksum/)
  })
})

describe('malformed lz4 frames', () => {
  it('refuses a match reaching before the output, or before its block when blocks are independent', () => {
    expectLz4Error(frame([block(sequence(text('ab'), { offset: 3, length: 4 }), sequence(text('')))]), /before the start/)
    expectLz4Error(frame([block(sequence(text('ab'), { offset: 0, length: 4 }), sequence(text('')))]), /offset 0/)
    expectLz4Error(frame([block(sequence(text(''), { offset: 65535, length: 4 }), sequence(text('')))]), /before the start/)
    const twoBlocks = [block(sequence(text('hello'))), block(sequence(text(''), { offset: 5, length: 5 }), sequence(text('')))]
    expectLz4Error(frame(twoBlocks), /before the start/)
    // a second frame cannot reach into the first one's output
    const first = frame([block(sequence(text('hello')))])
    expectLz4Error(Buffer.concat([first, frame([twoBlocks[1]!], { independent: false })]), /before the start/)
  })

  it('refuses literal and match lengths past the block or the output', () => {
    // literal count past the end of the block
    expectLz4Error(frame([{ bytes: Buffer.from([0x50, 0x61, 0x62]) }]), /literal run past the end of the block/)
    // an overlong literal run: length bytes of 255 up to the end of the block
    expectLz4Error(frame([{ bytes: Buffer.concat([Buffer.from([0xf0]), Buffer.alloc(60_000, 255)]) }]), /truncated literal length/)
    // a match longer than the frame's 64 KiB blocks
    expectLz4Error(frame([block(sequence(text('a'), { offset: 1, length: 70_000 }), sequence(text('')))]), /past the end of the output/)
    // a block ending inside a match offset, or inside its length
    expectLz4Error(frame([{ bytes: Buffer.from([0x1f, 0x61, 0x01]) }]), /truncated match offset/)
    expectLz4Error(frame([{ bytes: Buffer.from([0x1f, 0x61, 0x01, 0x00, 0xff]) }]), /truncated match length/)
    // a block that ends with a match instead of literals
    expectLz4Error(frame([block(sequence(text('ab'), { offset: 2, length: 4 }))]), /truncated block/)
    // a block declared larger than the frame's maximum block size
    const big = frame([{ bytes: Buffer.alloc(70_000), stored: true }])
    expectLz4Error(big, /exceeds the frame's maximum/)
  })

  it('refuses bad descriptors', () => {
    const good = frame([block(sequence(text('x')))])
    const variants: Array<[string, (f: Buffer) => void, RegExp]> = [
      ['header checksum', (f) => (f[6]! ^= 1), /header checksum/],
      ['version', (f) => (f[4] = 0x80 | (f[4]! & 0x3f)), /frame version/],
      ['reserved FLG bit', (f) => (f[4]! |= 0x02), /reserved bits/],
      ['reserved BD bit', (f) => (f[5]! |= 0x01), /reserved bits/],
      ['block size id', (f) => (f[5] = 0x30), /block maximum size id/],
      ['dictionary id', (f) => (f[4]! |= 0x01), /dictionary/],
      ['magic', (f) => (f[0] = 0), /magic/],
    ]
    for (const [, mutate, message] of variants) {
      const f = Buffer.from(good)
      mutate(f)
      expectLz4Error(f, message)
    }
  })

  it('refuses every truncation and trailing bytes', () => {
    const data = Buffer.concat([randomBytes(40_000), Buffer.alloc(100_000, 3), randomBytes(1000)])
    const c = compressFrameSync(data, { contentChecksum: true, blockChecksums: true })
    for (let n = 1; n < c.length; n += n < 200 || c.length - n < 200 ? 1 : 97) {
      expect(() => lz4(c.subarray(0, n)), `prefix of ${n}`).toThrow(Lz4FrameError)
    }
    expect(lz4(c.subarray(0, 0)).length).toBe(0)
    expectLz4Error(Buffer.concat([c, text('garbage!')]), /magic/)
    expectLz4Error(Buffer.concat([c, Buffer.from([0x50, 0x2a, 0x4d, 0x18, 9, 0, 0, 0, 1])]), /truncated skippable frame/)
  })

  it('fails cleanly on arbitrary corruption, and agrees with lz4-napi where both decode', () => {
    fc.assert(
      fc.property(
        payload,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.nat()),
        (data, edits, cut) => {
          const c = Buffer.from(compressFrameSync(data))
          for (const [at, value] of edits) c[at % c.length] = value
          const input = cut === null ? c : c.subarray(0, cut % (c.length + 1))
          let ours: Buffer | undefined
          try {
            ours = lz4(input)
          } catch (err) {
            if (!(err instanceof Lz4FrameError || err instanceof DecompressionLimitError)) throw err
            return
          }
          expect(ours.length).toBeLessThanOrEqual(lz4FrameBound(input))
          let theirs: Buffer | undefined
          try {
            theirs = decompressFrameSync(input)
          } catch {
            return
          }
          expect(Buffer.compare(ours, theirs)).toBe(0)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('random bytes after a valid header fail cleanly', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), (junk) => {
        const f = frame([{ bytes: Buffer.from(junk) }])
        try {
          const out = lz4(f)
          expect(out.length).toBeLessThanOrEqual(junk.length * 255)
        } catch (err) {
          expect(err).toBeInstanceOf(Lz4FrameError)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('bounds the output before decoding: the limit refuses what the blocks could hold', () => {
    const c = compressFrameSync(Buffer.alloc(1 << 20))
    const bound = lz4FrameBound(c)
    expect(bound).toBeGreaterThanOrEqual(1 << 20)
    expect(() => lz4(c, bound - 1)).toThrow(DecompressionLimitError)
    expect(lz4(c, bound).length).toBe(1 << 20)
    expect(decodeLz4Frames(c, bound).length).toBe(1 << 20)
  })
})
