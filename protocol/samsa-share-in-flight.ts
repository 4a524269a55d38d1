// Samsa's own tagged field on DescribeShareGroupOffsets response partitions (v0 is flexible, so a
// partition may carry tagged fields): the share partition's in-flight state, which Kafka's
// schema does not have. Its tag is far above any Kafka will use; clients that do not know it skip
// it, as every unknown tagged field is skipped (KIP-482), so nothing changes for them.
//
// Payload, version 0: Int8 version, Int32 records Acquired (locked to a member), Int32 records
// Available for delivery again inside the window, Int64 the window's end offset (SPEO,
// exclusive). A reader takes the fields it knows from a newer version and ignores the rest.
import { Reader } from './reader.js'
import type { RawTaggedField } from './types.js'
import { Writer } from './writer.js'

export const SAMSA_SHARE_IN_FLIGHT_TAG = 10000

export interface ShareInFlight {
  /** Records acquired by a member and not yet acknowledged. */
  acquired: number
  /** Records inside the window that are waiting to be delivered again. */
  available: number
  /** SPEO, exclusive: the first offset never delivered. */
  endOffset: number
}

export function shareInFlightTaggedField(s: ShareInFlight): RawTaggedField {
  const w = new Writer(17)
  w.writeInt8(0)
  w.writeInt32(s.acquired)
  w.writeInt32(s.available)
  w.writeInt64(s.endOffset)
  return { tag: SAMSA_SHARE_IN_FLIGHT_TAG, data: w.toBuffer() }
}

/** The in-flight state among a partition's unknown tagged fields, or null when absent or malformed. */
export function readShareInFlight(fields: readonly RawTaggedField[] | undefined): ShareInFlight | null {
  const f = fields?.find((x) => x.tag === SAMSA_SHARE_IN_FLIGHT_TAG)
  if (f === undefined) return null
  const r = new Reader(f.data)
  r.readInt8()
  const out = { acquired: r.readInt32(), available: r.readInt32(), endOffset: r.readInt64() }
  return r.bad ? null : out
}
