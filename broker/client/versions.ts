// Choosing the protocol version to speak with a broker.
import type { ApiDescriptor } from '../../protocol/types.js'

export type VersionRange = readonly [min: number, max: number]

/**
 * The version to speak: our newest stable version capped by the broker's maximum, or null
 * when the ranges do not overlap.
 */
export function pickVersion(api: ApiDescriptor<unknown, unknown>, broker: VersionRange | undefined): number | null {
  if (broker === undefined) return null
  const version = Math.min(api.maxStableVersion, broker[1])
  return version >= Math.max(api.minVersion, broker[0]) ? version : null
}
