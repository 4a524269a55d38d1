// Fixed-width big-endian integers read from and written to byte arrays in place, without a
// DataView per call. int64 values are JS numbers, exact up to 2^53: read as two int32 halves.

export function i16(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16)) >> 16
}
export function i32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!
}
export function u32(b: Uint8Array, o: number): number {
  return i32(b, o) >>> 0
}
export function i64(b: Uint8Array, o: number): number {
  return i32(b, o) * 4294967296 + u32(b, o + 4)
}
export function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8
  b[o + 1] = v
}
export function w32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24
  b[o + 1] = v >>> 16
  b[o + 2] = v >>> 8
  b[o + 3] = v
}
export function w64(b: Uint8Array, o: number, v: number): void {
  const hi = Math.floor(v / 4294967296)
  w32(b, o, hi)
  w32(b, o + 4, v - hi * 4294967296)
}
