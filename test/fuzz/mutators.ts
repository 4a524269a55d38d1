// Byte-level mutations of whole request frames. Each returns a new frame (size prefix included)
// and leaves its input alone. Most keep the size prefix consistent with what follows, so the
// broker's request decoding is what gets exercised rather than only its framing; a few break
// the framing on purpose.
import { ApiKey } from '../../protocol/generated/index.js'
import type { CorpusFrame } from './corpus.js'
import type { Rng } from './rng.js'

export type Mutator = (frame: Buffer, rng: Rng, corpus: readonly CorpusFrame[]) => Buffer

const BOUNDARY_8 = [0, 1, 0x7f, 0x80, 0xff]
const BOUNDARY_16 = [0, 1, -1, 0x7fff, -0x8000, 0xff, 0x100, 0xfffe]
const BOUNDARY_32 = [0, 1, -1, -2, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 0x1000000, 0x7ffffffe, 100 << 20]
const BOUNDARY_64: bigint[] = [0n, -1n, 1n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x20000000000000n, 0xffffffffn]
/** Unsigned varints as flexible versions encode lengths (n + 1) and tagged-field counts. */
const VARINTS = [[0x00], [0x01], [0x7f], [0x80, 0x01], [0xff, 0x7f], [0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff], [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]]

/** The frame with its size prefix set to match its length. */
export function withSize(body: Buffer): Buffer {
  body.writeInt32BE(body.length - 4, 0)
  return body
}

/** A position in the request after the size prefix, where there is room for `width` bytes. */
function bodyPos(frame: Buffer, rng: Rng, width = 1): number {
  return 4 + rng.int(Math.max(1, frame.length - 4 - width + 1))
}

function writeBoundary(b: Buffer, pos: number, width: number, rng: Rng): void {
  if (pos + width > b.length) return
  if (width === 1) b.writeUInt8(rng.pick(BOUNDARY_8), pos)
  else if (width === 2) b.writeUInt16BE(rng.pick(BOUNDARY_16) & 0xffff, pos)
  else if (width === 4) b.writeInt32BE(rng.pick(BOUNDARY_32) | 0, pos)
  else b.writeBigInt64BE(rng.pick(BOUNDARY_64), pos)
}

export const bitFlip: Mutator = (frame, rng) => {
  const b = Buffer.from(frame)
  for (let n = rng.range(1, 8); n > 0; n--) {
    const p = bodyPos(b, rng)
    b[p]! ^= 1 << rng.int(8)
  }
  return b
}

export const boundaryInt: Mutator = (frame, rng) => {
  const b = Buffer.from(frame)
  const width = rng.pick([1, 2, 4, 4, 8])
  writeBoundary(b, bodyPos(b, rng, width), width, rng)
  return b
}

export const boundaryVarint: Mutator = (frame, rng) => {
  const b = Buffer.from(frame)
  const v = rng.pick(VARINTS)
  const p = bodyPos(b, rng, v.length)
  for (let i = 0; i < v.length && p + i < b.length; i++) b[p + i] = v[i]!
  return b
}

/**
 * Replaces a length or count with something huge, negative or off by one. Lengths are found by
 * shape: an int16 or varint followed by that many printable bytes is a string; a small int32 is
 * most likely an array count. Falls back to the frame's own size prefix.
 */
export const hugeLength: Mutator = (frame, rng) => {
  const b = Buffer.from(frame)
  const strings: Array<{ pos: number; width: 1 | 2; n: number }> = []
  const counts: number[] = []
  for (let p = 8; p + 2 < b.length; p++) {
    const n16 = b.readInt16BE(p)
    if (n16 > 0 && n16 < 256 && p + 2 + n16 <= b.length && printable(b, p + 2, n16)) strings.push({ pos: p, width: 2, n: n16 })
    const n8 = b[p]! - 1
    if (n8 > 0 && n8 < 127 && p + 1 + n8 <= b.length && printable(b, p + 1, n8)) strings.push({ pos: p, width: 1, n: n8 })
    if (p + 4 <= b.length) {
      const n32 = b.readInt32BE(p)
      if (n32 > 0 && n32 <= 64) counts.push(p)
    }
  }
  const choice = rng.int(3)
  if (choice === 0 && strings.length > 0) {
    const s = rng.pick(strings)
    if (s.width === 2) b.writeInt16BE(rng.pick([0x7fff, -1, -2, 0, s.n + 1, s.n - 1]), s.pos)
    else b[s.pos] = rng.pick([0, 0x7f, s.n + 2, s.n, 0xff])
  } else if (choice === 1 && counts.length > 0) {
    b.writeInt32BE(rng.pick([0x7fffffff, -1, -2, 0x10000000, 0x100000, 1 << 24]) | 0, rng.pick(counts))
  } else {
    b.writeInt32BE(rng.pick([0x7fffffff, -1, 0, 1, b.length - 3, b.length + 1000, 100 << 20, (100 << 20) + 1]) | 0, 0)
  }
  return b
}

function printable(b: Buffer, start: number, n: number): boolean {
  for (let i = start; i < start + n; i++) if (b[i]! < 0x20 || b[i]! > 0x7e) return false
  return true
}

/** Cuts the request short and says so in the size prefix. */
export const truncate: Mutator = (frame, rng) => withSize(Buffer.from(frame.subarray(0, 4 + rng.int(frame.length - 4))))

/** Cuts the request short but keeps the original size: the broker waits for bytes that never come. */
export const truncateRaw: Mutator = (frame, rng) => Buffer.from(frame.subarray(0, rng.int(frame.length)))

/** API key, version or correlation id changed: bodies meet decoders they were not written for. */
export const header: Mutator = (frame, rng) => {
  const b = Buffer.from(frame)
  if (b.length < 12) return b
  switch (rng.int(4)) {
    case 0:
      b.writeInt16BE(rng.chance(0.7) ? rng.pick(Object.values(ApiKey)) : rng.pick([-1, 0x7fff, 27, 34, 57, 100, 1000]), 4)
      break
    case 1:
      b.writeInt16BE(rng.chance(0.8) ? rng.range(-1, 18) : rng.pick([0x7fff, -0x8000, 100]), 6)
      break
    case 2:
      b.writeInt16BE(rng.pick(Object.values(ApiKey)), 4)
      b.writeInt16BE(rng.range(0, 17), 6)
      break
    default:
      b.writeInt32BE(rng.pick([0, -1, 0x7fffffff, -0x80000000]), 8)
  }
  return b
}

/** The head of one frame joined to the tail of another. */
export const splice: Mutator = (frame, rng, corpus) => {
  const other = rng.chance(0.5) ? (corpus.find((f) => f.apiKey === frame.readInt16BE(4) && f.bytes !== frame)?.bytes ?? rng.pick(corpus).bytes) : rng.pick(corpus).bytes
  const head = frame.subarray(0, 4 + rng.int(frame.length - 4))
  const tail = other.subarray(4 + rng.int(other.length - 4))
  return withSize(Buffer.concat([head, tail]))
}

/** Random bytes inserted, or a run of bytes removed. */
export const insertDelete: Mutator = (frame, rng) => {
  const p = bodyPos(frame, rng)
  if (rng.chance(0.5)) return withSize(Buffer.concat([frame.subarray(0, p), rng.bytes(rng.range(1, 16)), frame.subarray(p)]))
  return withSize(Buffer.concat([frame.subarray(0, p), frame.subarray(Math.min(frame.length, p + rng.range(1, 16)))]))
}

export const FRAME_MUTATORS: ReadonlyArray<[string, Mutator, number]> = [
  ['bit-flip', bitFlip, 6],
  ['boundary-int', boundaryInt, 6],
  ['boundary-varint', boundaryVarint, 3],
  ['huge-length', hugeLength, 4],
  ['truncate', truncate, 2],
  ['truncate-raw', truncateRaw, 1],
  ['header', header, 3],
  ['splice', splice, 2],
  ['insert-delete', insertDelete, 2],
]
