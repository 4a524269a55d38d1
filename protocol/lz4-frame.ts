// LZ4 frame decoding (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), the format
// Kafka's lz4 codec uses for magic v2 batches. Straight-line JS into one preallocated buffer:
// lz4-napi's native frame decoder was even with it per call on small batches, slower on average
// (a long tail of output allocations), and far slower on frames with 4 MiB blocks
// (bench/README.md, "LZ4 decompression").
//
// A frame: magic 0x184D2204, FLG, BD, optional content size (8 bytes) and dictionary id (4),
// header checksum HC; then blocks, each a little-endian int32 size whose high bit marks a stored
// (uncompressed) block, followed by an optional block checksum; a zero size ends the frame, and
// an optional content checksum follows. Frames may be concatenated, with skippable frames
// (magic 0x184D2A5x, int32 size, payload) between them.
//
// Checks, as Kafka's Lz4BlockInputStream makes them: HC is verified (Kafka skips it only for
// magic v0, whose old writers computed it wrongly), a block may not exceed the frame's maximum
// block size, and block and content checksums are verified when the frame carries them (the
// usual writers, Kafka's, librdkafka's, lz4-napi's and python-lz4's, set neither by default).
// Unlike Kafka, linked blocks (python-lz4's default) and concatenated frames are accepted;
// preset dictionaries are refused. A match may reach back to the start of its block, or of its
// frame when blocks are linked, never further.
//
// Decoding is two passes: lz4FrameBound walks the block headers and bounds the output (a stored
// block is its own length; a compressed one at most the frame's block size and at most 255 times
// its compressed length, LZ4's greatest expansion; a declared content size bounds its frame
// exactly), so the caller can refuse an oversized frame before any output exists;
// decodeLz4Frames then decodes into one buffer of that bound.

export class Lz4FrameError extends Error {
  override name = 'Lz4FrameError'
}

const MAGIC = 0x184d2204
const SKIPPABLE_MASK = 0xfffffff0
const SKIPPABLE_MAGIC = 0x184d2a50
const BLOCK_MAX = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20]
const STORED = 0x80000000

const FLG_VERSION_MASK = 0xc0
const FLG_VERSION_01 = 0x40
const FLG_BLOCK_INDEPENDENCE = 0x20
const FLG_BLOCK_CHECKSUM = 0x10
const FLG_CONTENT_SIZE = 0x08
const FLG_CONTENT_CHECKSUM = 0x04
const FLG_RESERVED = 0x02
const FLG_DICT_ID = 0x01
const BD_RESERVED = 0x8f

/** Copies shorter than this run as a byte loop; longer ones use native copies. */
const NATIVE_COPY_MIN = 32

function fail(message: string): never {
  throw new Lz4FrameError(`lz4: ${message}`)
}

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0
}

// Frame header fields, left here by readFrameHeader so it need not allocate.
let flg = 0
let blockMax = 0
let contentSize = -1

/** Checks the frame header at `p` and returns where its first block starts. */
function readFrameHeader(src: Uint8Array, p: number): number {
  if (src.length - p < 7) fail('truncated frame header')
  flg = src[p + 4]!
  const bd = src[p + 5]!
  if ((flg & FLG_VERSION_MASK) !== FLG_VERSION_01) fail(`unsupported frame version ${flg >> 6}`)
  if (flg & FLG_RESERVED || bd & BD_RESERVED) fail('reserved bits set in the frame descriptor')
  if (flg & FLG_DICT_ID) fail('frames with a preset dictionary are not supported')
  blockMax = BLOCK_MAX[(bd >> 4) & 7]!
  if (blockMax === 0) fail(`invalid block maximum size id ${(bd >> 4) & 7}`)
  const descriptorEnd = p + 6 + (flg & FLG_CONTENT_SIZE ? 8 : 0)
  if (descriptorEnd >= src.length) fail('truncated frame header')
  contentSize = flg & FLG_CONTENT_SIZE ? le32(src, p + 6) + le32(src, p + 10) * 4294967296 : -1
  if (src[descriptorEnd] !== ((xxh32(src, p + 4, descriptorEnd) >>> 8) & 0xff)) fail('frame header checksum mismatch')
  return descriptorEnd + 1
}

/** Where the skippable frame at `p` ends. */
function skipFrame(src: Uint8Array, p: number): number {
  if (src.length - p < 8) fail('truncated skippable frame')
  const end = p + 8 + le32(src, p + 4)
  if (end > src.length) fail('truncated skippable frame')
  return end
}

/**
 * Checks the framing of every frame in `src` and returns an upper bound of their decoded size.
 * Malformed framing, truncation and trailing bytes throw Lz4FrameError.
 */
export function lz4FrameBound(src: Uint8Array): number {
  let bound = 0
  let p = 0
  while (p < src.length) {
    if (src.length - p < 4) fail('truncated frame header')
    const magic = le32(src, p)
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      p = skipFrame(src, p)
      continue
    }
    if (magic !== MAGIC) fail(`bad frame magic at ${p}`)
    p = readFrameHeader(src, p)
    const checksumSize = flg & FLG_BLOCK_CHECKSUM ? 4 : 0
    let frameBound = 0
    for (;;) {
      if (src.length - p < 4) fail('truncated frame')
      const word = le32(src, p)
      p += 4
      if (word === 0) break
      const len = (word & ~STORED) >>> 0
      if (len > blockMax) fail(`block of ${len} bytes exceeds the frame's maximum ${blockMax}`)
      frameBound += word & STORED ? len : Math.min(blockMax, len * 255)
      p += len + checksumSize
      if (p > src.length) fail('truncated block')
    }
    bound += contentSize >= 0 ? Math.min(frameBound, contentSize) : frameBound
    if (flg & FLG_CONTENT_CHECKSUM) p += 4
    if (p > src.length) fail('truncated frame')
  }
  return bound
}

/**
 * Decodes every frame of `src` into one buffer of `bound` bytes (lz4FrameBound's answer) and
 * returns the part written. Malformed input throws Lz4FrameError; nothing is read or written
 * outside `src` and the output buffer.
 */
export function decodeLz4Frames(src: Buffer, bound: number): Buffer {
  const out = Buffer.allocUnsafe(bound)
  let op = 0
  let p = 0
  while (p < src.length) {
    if (le32(src, p) !== MAGIC) {
      p = skipFrame(src, p)
      continue
    }
    const frameStart = op
    p = readFrameHeader(src, p)
    // a declared content size bounds the frame's output exactly, and lz4FrameBound counted it so
    const frameLimit = contentSize >= 0 ? frameStart + contentSize : bound
    const linked = (flg & FLG_BLOCK_INDEPENDENCE) === 0
    const blockChecksum = (flg & FLG_BLOCK_CHECKSUM) !== 0
    for (;;) {
      const word = le32(src, p)
      p += 4
      if (word === 0) break
      const len = (word & ~STORED) >>> 0
      if (blockChecksum && xxh32(src, p, p + len) !== le32(src, p + len)) fail('block checksum mismatch')
      if (word & STORED) {
        if (len > frameLimit - op) fail(`stored block past the frame's declared content size ${contentSize}`)
        src.copy(out, op, p, p + len)
        op += len
      } else {
        op = decodeBlock(src, p, p + len, out, op, Math.min(op + Math.min(blockMax, len * 255), frameLimit), linked ? frameStart : op)
      }
      p += len + (blockChecksum ? 4 : 0)
    }
    if (contentSize >= 0 && op - frameStart !== contentSize) {
      fail(`frame declares ${contentSize} bytes of content, its blocks hold ${op - frameStart}`)
    }
    if (flg & FLG_CONTENT_CHECKSUM) {
      if (xxh32(out, frameStart, op) !== le32(src, p)) fail('content checksum mismatch')
      p += 4
    }
  }
  return out.subarray(0, op)
}

/**
 * Decodes the LZ4 block src[ip, ipEnd) to out[op, ...), writing below `opLimit` only and letting
 * matches reach back to `windowStart` only. Returns the output position after the block.
 */
function decodeBlock(src: Buffer, ip: number, ipEnd: number, out: Buffer, op: number, opLimit: number, windowStart: number): number {
  for (;;) {
    if (ip >= ipEnd) fail('truncated block')
    const token = src[ip++]!
    let literals = token >>> 4
    if (literals === 15) {
      let b: number
      do {
        if (ip >= ipEnd) fail('truncated literal length')
        b = src[ip++]!
        literals += b
      } while (b === 255)
    }
    if (literals > ipEnd - ip) fail('literal run past the end of the block')
    if (literals > opLimit - op) fail('literal run past the end of the output')
    if (literals < NATIVE_COPY_MIN) {
      for (const end = ip + literals; ip < end; ) out[op++] = src[ip++]!
    } else {
      src.copy(out, op, ip, ip + literals)
      ip += literals
      op += literals
    }
    // The last sequence of a block is literals only.
    if (ip === ipEnd) return op
    if (ipEnd - ip < 2) fail('truncated match offset')
    const offset = src[ip]! | (src[ip + 1]! << 8)
    ip += 2
    if (offset === 0 || offset > op - windowStart) fail(`match offset ${offset} points before the start of the output`)
    let length = (token & 15) + 4
    if (length === 19) {
      let b: number
      do {
        if (ip >= ipEnd) fail('truncated match length')
        b = src[ip++]!
        length += b
      } while (b === 255)
    }
    if (length > opLimit - op) fail('match past the end of the output')
    let m = op - offset
    if (length < NATIVE_COPY_MIN) {
      // may overlap: a match shorter than its offset repeats the bytes just written
      for (const end = op + length; op < end; ) out[op++] = out[m++]!
    } else if (offset === 1) {
      out.fill(out[m]!, op, op + length)
      op += length
    } else {
      // An overlapping match repeats out[m, op) with period `offset`; each copy doubles the
      // stretch that holds the pattern, so a long run of a short pattern takes few copies.
      for (const end = op + length; op < end; ) {
        const n = Math.min(op - m, end - op)
        out.copyWithin(op, m, m + n)
        op += n
      }
    }
  }
}

// --- xxHash32 -------------------------------------------------------------------------------

const P1 = 0x9e3779b1
const P2 = 0x85ebca77
const P3 = 0xc2b2ae3d
const P4 = 0x27d4eb2f
const P5 = 0x165667b1

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r))
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, P2)) | 0, 13), P1)
}

/** xxHash32 of b[start, end) with seed 0, the checksum of the LZ4 frame format. */
export function xxh32(b: Uint8Array, start: number, end: number): number {
  let p = start
  let h: number
  if (end - p >= 16) {
    let v1 = (P1 + P2) | 0
    let v2 = P2 | 0
    let v3 = 0
    let v4 = -P1 | 0
    for (const last = end - 16; p <= last; p += 16) {
      v1 = round(v1, le32(b, p))
      v2 = round(v2, le32(b, p + 4))
      v3 = round(v3, le32(b, p + 8))
      v4 = round(v4, le32(b, p + 12))
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0
  } else {
    h = P5 | 0
  }
  h = (h + (end - start)) | 0
  for (; p + 4 <= end; p += 4) h = Math.imul(rotl((h + Math.imul(le32(b, p), P3)) | 0, 17), P4)
  for (; p < end; p++) h = Math.imul(rotl((h + Math.imul(b[p]!, P5)) | 0, 11), P1)
  h ^= h >>> 15
  h = Math.imul(h, P2)
  h ^= h >>> 13
  h = Math.imul(h, P3)
  h ^= h >>> 16
  return h >>> 0
}
