// CRC-32C (Castagnoli), the checksum of record batch v2. The native library uses SSE4.2/ARMv8
// CRC instructions; the table version exists to cross-check it and as a fallback where the
// native binding cannot load.
import { createRequire } from 'node:module'

type NativeCrc = (input: Uint8Array, initialState?: number | null) => number

function loadNative(): NativeCrc | null {
  try {
    const mod = createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: NativeCrc }
    return mod.crc32c
  } catch {
    return null
  }
}

const native = loadNative()

// Slicing-by-8 tables: 8 x 256 entries, reflected polynomial 0x82F63B78.
const TABLE = buildTable()

function buildTable(): Uint32Array {
  const t = new Uint32Array(8 * 256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[i] = c >>> 0
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i]!
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff]! ^ (c >>> 8)
      t[s * 256 + i] = c >>> 0
    }
  }
  return t
}

/** CRC-32C of `buf`, continuing from `initial` (a previous result). Unsigned 32-bit. */
export function crc32c(buf: Uint8Array, initial = 0): number {
  if (native !== null) return native(buf, initial) >>> 0
  return crc32cTable(buf, initial)
}

/** Plain-JS CRC-32C (slicing-by-8). Same results as {@link crc32c}. */
export function crc32cTable(buf: Uint8Array, initial = 0): number {
  const t = TABLE
  let crc = ~initial >>> 0
  let i = 0
  const n = buf.length
  const end8 = n - (n & 7)
  for (; i < end8; i += 8) {
    const a = (crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24))) >>> 0
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + buf[i + 4]!]! ^
      t[512 + buf[i + 5]!]! ^
      t[256 + buf[i + 6]!]! ^
      t[buf[i + 7]!]!
  }
  for (; i < n; i++) crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8)
  return ~crc >>> 0
}

/** True when the hardware-backed implementation is in use. */
export const crc32cIsNative = native !== null
