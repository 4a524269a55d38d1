// Shapes and helpers shared by every generated codec in protocol/generated.
import type { Reader } from './reader.js'
import { Writer } from './writer.js'

/** A tagged field this version of the codec does not know, kept so it can be re-emitted. */
export interface RawTaggedField {
  tag: number
  data: Uint8Array
}

export interface ApiDescriptor<Req, Res> {
  readonly apiKey: number
  readonly name: string
  readonly minVersion: number
  readonly maxVersion: number
  /** Highest version Kafka considers stable; versions above it are generated but not advertised. */
  readonly maxStableVersion: number
  /** First flexible (KIP-482) version, or Infinity when the API has none. */
  readonly flexibleMinVersion: number
  decodeRequest(r: Reader, version: number): Req
  encodeRequest(w: Writer, version: number, m: Req): void
  decodeResponse(r: Reader, version: number): Res
  encodeResponse(w: Writer, version: number, m: Res): void
}

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

/**
 * Writes the unknown tagged fields of `fields` from index `from` whose tag is below `belowTag`,
 * returning the index of the first one not written. Lets a codec interleave them with its
 * known tags so the section stays sorted by tag.
 */
export function writeRawTaggedFields(
  w: Writer,
  fields: RawTaggedField[] | undefined,
  from: number,
  belowTag: number,
): number {
  if (fields === undefined) return 0
  let i = from
  for (; i < fields.length; i++) {
    const f = fields[i]!
    if (f.tag >= belowTag) break
    w.writeUnsignedVarInt(f.tag)
    w.writeUnsignedVarInt(f.data.length)
    w.writeRaw(f.data)
  }
  return i
}

/** The tagged-field section of a struct that declares no tagged fields of its own. */
export function writeTaggedFields(w: Writer, fields: RawTaggedField[] | undefined): void {
  if (fields === undefined || fields.length === 0) {
    w.writeUnsignedVarInt(0)
    return
  }
  w.writeUnsignedVarInt(fields.length)
  writeRawTaggedFields(w, fields, 0, Infinity)
}

/** Reads a tagged-field section, keeping every field as raw bytes. */
export function readTaggedFields(r: Reader): RawTaggedField[] | undefined {
  const n = r.readUnsignedVarInt()
  let out: RawTaggedField[] | undefined
  for (let i = 0; i < n && !r.bad; i++) {
    const tag = r.readUnsignedVarInt()
    const data = r.readRaw(r.readUnsignedVarInt())
    if (r.bad) break
    ;(out ??= []).push({ tag, data })
  }
  return out
}

/** Encodes one tagged value through `encode` to learn its size before writing it. */
export function writeSizedTaggedField(w: Writer, tag: number, encode: (w: Writer) => void): void {
  const sub = new Writer(256)
  encode(sub)
  const bytes = sub.toBuffer()
  w.writeUnsignedVarInt(tag)
  w.writeUnsignedVarInt(bytes.length)
  w.writeRaw(bytes)
}
