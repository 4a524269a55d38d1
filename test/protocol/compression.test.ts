import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { compressSync as snappyRaw } from 'snappy'
import { compressFrameSync as lz4CompressFrame } from 'lz4-napi'
import type * as ZstdBinding from 'zstd-napi/binding.js'
import {
  Codec,
  DecompressionLimitError,
  compress,
  decompress,
  isXerialSnappy,
} from '../../protocol/compression.js'
import {
  BATCH_HEADER_SIZE,
  Compression,
  compressionOf,
  readBatchHeader,
  scanBatches,
} from '../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../protocol/record-batch-builder.js'
import { RecordDecodeError, decodeBatchRecords } from '../../protocol/record-reader.js'
import { DEFAULT_LOG_CONFIG } from '../../storage/log-config.js'
import { validateRecords } from '../../storage/log-validator.js'

const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding

// Compressible but not trivial: repeated words with random noise.
function corpus(size: number): Buffer {
  const words = ['kafka', 'record', 'batch', 'offset', 'partition', 'segment', 'zstd', 'snappy']
  const out = Buffer.alloc(size)
  let o = 0
  const noise = randomBytes(size)
  while (o < size) {
    const w = noise[o]! % 5 === 0 ? noise.subarray(o, o + 4).toString('hex') : words[noise[o]! % words.length]!
    o += out.write(w + ' ', o)
  }
  return out
}

const codecs = [
  ['gzip', Codec.Gzip],
  ['snappy', Codec.Snappy],
  ['lz4', Codec.Lz4],
  ['zstd', Codec.Zstd],
] as const

describe('compress / decompress', () => {
  for (const [name, codec] of codecs) {
    it(`${name} round-trips empty, small, multi-block and incompressible data`, () => {
      for (const data of [Buffer.alloc(0), Buffer.from('x'), corpus(200_000), randomBytes(70_000)]) {
        const c = compress(codec, data)
        expect(Buffer.compare(decompress(codec, c), data)).toBe(0)
      }
      const text = corpus(100_000)
      expect(compress(codec, text).length).toBeLessThan(text.length * 0.75)
    })

    it(`${name} accepts a Uint8Array view at an offset`, () => {
      const data = corpus(10_000)
      const c = compress(codec, new Uint8Array(data.buffer, data.byteOffset, data.length))
      const padded = new Uint8Array(c.length + 10)
      padded.set(c, 5)
      expect(Buffer.compare(decompress(codec, padded.subarray(5, 5 + c.length)), data)).toBe(0)
    })
  }

  it('throws on an unknown codec', () => {
    expect(() => compress(5, Buffer.from('x'))).toThrow(RangeError)
    expect(() => decompress(7, Buffer.from('x'))).toThrow(RangeError)
  })

  it('none passes bytes through', () => {
    const data = Buffer.from('plain')
    expect(decompress(Codec.None, compress(Codec.None, data))).toEqual(data)
  })
})

describe('snappy framing', () => {
  it('encodes xerial-framed with 32 KiB blocks like the Java client', () => {
    const data = corpus(100_000)
    const c = compress(Codec.Snappy, data)
    expect(isXerialSnappy(c)).toBe(true)
    expect([...c.subarray(0, 16)]).toEqual([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])
    // 100000 bytes -> 4 blocks; walk them
    let p = 16
    let blocks = 0
    while (p < c.length) {
      p += 4 + c.readInt32BE(p)
      blocks++
    }
    expect(p).toBe(c.length)
    expect(blocks).toBe(4)
  })

  it('decodes a hand-built xerial stream', () => {
    const parts = [Buffer.from('first block of text, '), Buffer.from('second block')]
    const blocks = parts.map((p) => snappyRaw(p))
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])
    const framed = Buffer.concat([
      header,
      ...blocks.flatMap((b) => {
        const len = Buffer.alloc(4)
        len.writeInt32BE(b.length)
        return [len, b]
      }),
    ])
    expect(decompress(Codec.Snappy, framed).toString()).toBe('first block of text, second block')
  })

  it('decodes a raw snappy block (kafkajs-snappy, librdkafka)', () => {
    const data = corpus(50_000)
    expect(Buffer.compare(decompress(Codec.Snappy, snappyRaw(data)), data)).toBe(0)
  })

  it('rejects a truncated xerial stream', () => {
    const c = compress(Codec.Snappy, corpus(50_000))
    expect(() => decompress(Codec.Snappy, c.subarray(0, c.length - 3))).toThrow()
  })
})

describe('lz4 framing', () => {
  it('writes the LZ4 frame format with independent blocks, which the Java client requires', () => {
    const c = compress(Codec.Lz4, corpus(300_000))
    expect(c.readUInt32LE(0)).toBe(0x184d2204)
    const flg = c[4]!
    expect(flg >> 6).toBe(1) // frame version 01
    expect(flg & 0x20).toBe(0x20) // block independence
    expect(flg & 0x01).toBe(0) // no preset dictionary
    expect([4, 5, 6, 7]).toContain((c[5]! >> 4) & 7)
  })

  it('decodes and bounds frames with block and content checksums, and concatenated frames', () => {
    const data = corpus(600_000)
    const c = lz4CompressFrame(data, { blockChecksums: true, contentChecksum: true })
    expect(c[4]! & 0x14).toBe(0x14)
    expect(Buffer.compare(decompress(Codec.Lz4, c), data)).toBe(0)
    const two = Buffer.concat([c, compress(Codec.Lz4, data)])
    expect(decompress(Codec.Lz4, two).length).toBe(2 * data.length)
    // each frame alone fits, together they do not
    expect(() => decompress(Codec.Lz4, two, 1_200_000)).toThrow(DecompressionLimitError)
  })

  it('rejects truncated frames and trailing garbage', () => {
    const c = compress(Codec.Lz4, corpus(100_000))
    expect(() => decompress(Codec.Lz4, c.subarray(0, c.length - 2))).toThrow()
    expect(() => decompress(Codec.Lz4, c.subarray(0, c.length >> 1))).toThrow()
    expect(() => decompress(Codec.Lz4, Buffer.concat([c, Buffer.from('garbage!')]))).toThrow()
  })
})

describe('zstd without a declared content size', () => {
  it('decodes a streamed frame', () => {
    const data = corpus(300_000)
    const cctx = new zstd.CCtx()
    const out = Buffer.alloc(zstd.compressBound(data.length))
    const [, produced1, consumed] = cctx.compressStream2(out, data, zstd.EndDirective.continue)
    expect(consumed).toBe(data.length)
    const [rest, produced2] = cctx.compressStream2(out.subarray(produced1), Buffer.alloc(0), zstd.EndDirective.end)
    expect(rest).toBe(0)
    const frame = out.subarray(0, produced1 + produced2)
    expect(zstd.getFrameContentSize(frame)).toBeNull()
    expect(Buffer.compare(decompress(Codec.Zstd, frame), data)).toBe(0)
    expect(() => decompress(Codec.Zstd, frame, 100_000)).toThrow(DecompressionLimitError)
    expect(() => decompress(Codec.Zstd, frame.subarray(0, frame.length - 10))).toThrow()
  })
})

describe('decompression limit', () => {
  const data = Buffer.alloc(1 << 20, 0x61)

  for (const [name, codec] of codecs) {
    it(`${name} throws DecompressionLimitError past the limit and succeeds within it`, () => {
      const c = compress(codec, data)
      expect(() => decompress(codec, c, 100_000)).toThrow(DecompressionLimitError)
      // lz4 bounds by whole blocks (up to 4 MiB each), the others by exact size
      expect(decompress(codec, c, 8 << 20).length).toBe(data.length)
    })
  }

  it('gzip multi-member output counts toward the limit', () => {
    const member = gzipSync(Buffer.alloc(600_000))
    const two = Buffer.concat([member, member])
    expect(decompress(Codec.Gzip, two).length).toBe(1_200_000)
    expect(() => decompress(Codec.Gzip, two, 1_000_000)).toThrow(DecompressionLimitError)
  })

  it('a compressed batch that inflates past the default limit is rejected while decoding', () => {
    const bomb = encodeBatch([{ value: Buffer.alloc(80 << 20) }], { compression: Compression.Zstd })
    expect(bomb.length).toBeLessThan(100_000)
    expect(scanBatches(bomb).ok).toBe(true)
    expect(() => decodeBatchRecords(bomb)).toThrow(RecordDecodeError)
    expect(validateRecords(bomb, DEFAULT_LOG_CONFIG)).toMatchObject({ ok: false, error: 'CORRUPT_MESSAGE' })
  })
})

describe('compressed record batches', () => {
  const records: RecordInput[] = Array.from({ length: 500 }, (_, i) => ({
    key: `key-${i}`,
    value: corpus(200 + (i % 7) * 50),
    timestamp: 1_700_000_000_000 + i,
    headers: i % 3 === 0 ? [{ key: 'trace', value: `t${i}` }] : [],
  }))

  for (const [name, codec] of codecs) {
    it(`${name}: encodeBatch + iterateRecords round trip`, () => {
      const plain = encodeBatch(records, { baseOffset: 10 })
      const b = encodeBatch(records, { baseOffset: 10, compression: codec })
      expect(b.length).toBeLessThan(plain.length)
      expect(compressionOf(readBatchHeader(b).attributes)).toBe(codec)
      expect(validateRecords(b, DEFAULT_LOG_CONFIG).ok).toBe(true)
      // the compressed section really is that codec's output
      expect(Buffer.compare(decompress(codec, b.subarray(BATCH_HEADER_SIZE)), plain.subarray(BATCH_HEADER_SIZE))).toBe(0)
      const out = decodeBatchRecords(b)
      expect(out).toHaveLength(records.length)
      out.forEach((r, i) => {
        const want = records[i]!
        expect(r.offset).toBe(10 + i)
        expect(r.timestamp).toBe(want.timestamp)
        expect(Buffer.from(r.key!).toString()).toBe(want.key)
        expect(Buffer.compare(r.value!, want.value as Buffer)).toBe(0)
        expect(r.headers.map((h) => [h.key, Buffer.from(h.value!).toString()])).toEqual(
          want.headers!.map((h) => [h.key, h.value]),
        )
      })
    })
  }
})
