// Record batch compression codecs, as Kafka's attribute bits number them:
// 1 gzip (node:zlib), 2 snappy, 3 lz4 (frame format), 4 zstd.
//
// lz4: compressed by lz4-napi, decoded by lz4-frame.ts.
//
// Snappy: Kafka's Java client writes the xerial-framed stream (magic \x82SNAPPY\0, two int32s
// version and compatible version, then [int32 length][raw snappy block]...), while some clients
// (kafkajs-snappy, librdkafka) write one raw snappy block. Decoding accepts both; encoding uses
// xerial framing with 32 KiB blocks, as Java does.
//
// Decompression is bounded: output beyond `limit` bytes (DEFAULT_DECOMPRESS_LIMIT unless given)
// throws before or while inflating, so a small hostile batch cannot exhaust memory. The limit is
// generous for real traffic: a producer batch is bounded by max.request.size (1 MiB by default)
// and message.max.bytes, and ordinary data rarely compresses past 10-20x. gzip, snappy and zstd
// enforce the limit exactly; lz4 bounds each compressed block by the frame's maximum block size
// (64 KiB to 4 MiB) and by LZ4's greatest expansion, so it may refuse output slightly below the
// limit.
//
// Everything here is synchronous: record batches are small and callers are on the request path.

import { createRequire } from 'node:module'
import { gunzipSync, gzipSync } from 'node:zlib'
import type * as Snappy from 'snappy'
import type * as Lz4 from 'lz4-napi'
import type * as Zstd from 'zstd-napi'
import { decodeLz4Frames, lz4FrameBound } from './lz4-frame.js'
import type * as ZstdBinding from 'zstd-napi/binding.js'

export const DEFAULT_DECOMPRESS_LIMIT = 64 * 1024 * 1024

export const Codec = { None: 0, Gzip: 1, Snappy: 2, Lz4: 3, Zstd: 4 } as const

export class DecompressionLimitError extends Error {
  override name = 'DecompressionLimitError'
}

// The native codecs are loaded on first use, not at import: most processes that load the protocol
// (every CLI command) never compress anything, and loading the three addons costs about as much
// start-up time as the rest of a CLI command's modules. They are CommonJS, so require() keeps the
// functions here synchronous.
const require = createRequire(import.meta.url)
let snappyModule: typeof Snappy | undefined
let lz4Module: typeof Lz4 | undefined
let zstdModule: typeof Zstd | undefined
let zstdBinding: typeof ZstdBinding | undefined
const snappy = () => (snappyModule ??= require('snappy') as typeof Snappy)
const lz4 = () => (lz4Module ??= require('lz4-napi') as typeof Lz4)
const zstdCompress = (data: Uint8Array) => (zstdModule ??= require('zstd-napi') as typeof Zstd).compress(data)
const snappyCompress = (data: Buffer) => snappy().compressSync(data)
const snappyUncompress = (data: Uint8Array, opts: { asBuffer: true }) => snappy().uncompressSync(data, opts)
const lz4Compress = (data: Buffer) => lz4().compressFrameSync(data)

// zstd-napi's high-level decompress grows its output without bound; its native binding lets us
// stream with a cap. The binding is CommonJS whose exports are not statically visible to ESM.
const zstdNative = () => (zstdBinding ??= require('zstd-napi/binding.js') as typeof ZstdBinding)
let zstdDctx: ZstdBinding.DCtx | null = null

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

function tooLarge(codec: string, size: number, limit: number): never {
  throw new DecompressionLimitError(`${codec}: decompressed size ${size} exceeds limit ${limit}`)
}

export function compress(codec: number, data: Uint8Array): Buffer {
  switch (codec) {
    case Codec.None:
      return asBuffer(data)
    case Codec.Gzip:
      return gzipSync(data)
    case Codec.Snappy:
      return xerialCompress(data)
    case Codec.Lz4:
      return lz4Compress(asBuffer(data))
    case Codec.Zstd:
      return zstdCompress(data)
    default:
      throw new RangeError(`unknown compression codec ${codec}`)
  }
}

export function decompress(codec: number, data: Uint8Array, limit = DEFAULT_DECOMPRESS_LIMIT): Buffer {
  switch (codec) {
    case Codec.None:
      if (data.length > limit) tooLarge('none', data.length, limit)
      return asBuffer(data)
    case Codec.Gzip:
      return gunzip(data, limit)
    case Codec.Snappy:
      return snappyDecompress(data, limit)
    case Codec.Lz4:
      return lz4Decompress(data, limit)
    case Codec.Zstd:
      return zstdDecompress(data, limit)
    default:
      throw new RangeError(`unknown compression codec ${codec}`)
  }
}

// --- gzip -----------------------------------------------------------------------------------

function gunzip(data: Uint8Array, limit: number): Buffer {
  try {
    return gunzipSync(data, { maxOutputLength: limit })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') tooLarge('gzip', limit + 1, limit)
    throw err
  }
}

// --- snappy ---------------------------------------------------------------------------------

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]
const XERIAL_HEADER_SIZE = 16
const XERIAL_BLOCK_SIZE = 32 * 1024

export function isXerialSnappy(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_SIZE) return false
  for (let i = 0; i < 8; i++) if (data[i] !== XERIAL_MAGIC[i]) return false
  return true
}

function xerialCompress(data: Uint8Array): Buffer {
  const src = asBuffer(data)
  const blocks: Buffer[] = []
  let size = XERIAL_HEADER_SIZE
  for (let p = 0; p < src.length; p += XERIAL_BLOCK_SIZE) {
    const block = snappyCompress(src.subarray(p, Math.min(src.length, p + XERIAL_BLOCK_SIZE)))
    blocks.push(block)
    size += 4 + block.length
  }
  const out = Buffer.allocUnsafe(size)
  out.set(XERIAL_MAGIC, 0)
  out.writeInt32BE(1, 8) // version
  out.writeInt32BE(1, 12) // minimum compatible version
  let o = XERIAL_HEADER_SIZE
  for (const block of blocks) {
    out.writeInt32BE(block.length, o)
    out.set(block, o + 4)
    o += 4 + block.length
  }
  return out
}

/** Uncompressed length stored as a varint at the start of a raw snappy block. */
function snappyRawLength(block: Uint8Array): number {
  let v = 0
  let mul = 1
  for (let i = 0; i < 5 && i < block.length; i++) {
    const b = block[i]!
    v += (b & 0x7f) * mul
    if (b < 0x80) return v
    mul *= 128
  }
  throw new Error('snappy: invalid block length header')
}

function snappyBlock(block: Uint8Array): Buffer {
  return snappyUncompress(block, { asBuffer: true }) as Buffer
}

function snappyDecompress(data: Uint8Array, limit: number): Buffer {
  if (!isXerialSnappy(data)) {
    const n = snappyRawLength(data)
    if (n > limit) tooLarge('snappy', n, limit)
    return snappyBlock(data)
  }
  // Read the declared lengths first so the limit holds before anything is inflated.
  const blocks: Uint8Array[] = []
  let total = 0
  let p = XERIAL_HEADER_SIZE
  while (p < data.length) {
    if (p + 4 > data.length) throw new Error('snappy: truncated xerial block header')
    const len = ((data[p]! << 24) | (data[p + 1]! << 16) | (data[p + 2]! << 8) | data[p + 3]!) >>> 0
    p += 4
    if (p + len > data.length) throw new Error('snappy: truncated xerial block')
    const block = data.subarray(p, p + len)
    p += len
    total += snappyRawLength(block)
    if (total > limit) tooLarge('snappy', total, limit)
    blocks.push(block)
  }
  if (blocks.length === 1) return snappyBlock(blocks[0]!)
  const out = Buffer.allocUnsafe(total)
  let o = 0
  for (const block of blocks) {
    const plain = snappyBlock(block)
    out.set(plain, o)
    o += plain.length
  }
  if (o !== total) throw new Error('snappy: block lengths disagree with their contents')
  return out
}

// --- lz4 ------------------------------------------------------------------------------------

function lz4Decompress(data: Uint8Array, limit: number): Buffer {
  const src = asBuffer(data)
  const bound = lz4FrameBound(src)
  if (bound > limit) tooLarge('lz4', bound, limit)
  return decodeLz4Frames(src, bound)
}

// --- zstd -----------------------------------------------------------------------------------

function zstdDecompress(data: Uint8Array, limit: number): Buffer {
  const zstd = zstdNative()
  const dctx = (zstdDctx ??= new zstd.DCtx())
  // Fast path: every frame declares its content size.
  let declared = 0
  let frame = data
  while (frame.length > 0) {
    const size = zstd.getFrameContentSize(frame)
    if (size === null) {
      declared = -1
      break
    }
    declared += size
    if (declared > limit) tooLarge('zstd', declared, limit)
    frame = frame.subarray(zstd.findFrameCompressedSize(frame))
  }
  if (declared >= 0) {
    const out = Buffer.allocUnsafe(declared)
    const n = dctx.decompress(out, data)
    if (n !== declared) throw new Error(`zstd: expected ${declared} bytes, got ${n}`)
    return out
  }
  dctx.reset(zstd.ResetDirective.sessionOnly)
  const chunks: Buffer[] = []
  let total = 0
  let input = data
  let pending = 1
  let outputFull = false
  while (input.length > 0 || outputFull) {
    const chunk = Buffer.allocUnsafe(zstd.dStreamOutSize())
    const [hint, produced, consumed] = dctx.decompressStream(chunk, input)
    pending = hint
    input = input.subarray(consumed)
    total += produced
    if (total > limit) tooLarge('zstd', total, limit)
    if (produced > 0) chunks.push(chunk.subarray(0, produced))
    outputFull = produced === chunk.length
    if (produced === 0 && consumed === 0) break
  }
  if (pending !== 0) throw new Error('zstd: truncated frame')
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}
