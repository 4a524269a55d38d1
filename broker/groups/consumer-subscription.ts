// Reads the topics out of the "consumer" protocol's member metadata (ConsumerProtocolSubscription,
// prefixed by its int16 version). The coordinator needs them to keep subscribed topics' offsets
// from expiring or being deleted. Newer versions only append fields, so a version beyond the
// highest known is read as the highest known.
import { Reader } from '../../protocol/reader.js'
import { decodeConsumerProtocolSubscription } from '../../protocol/generated/consumer-protocol.js'

export const CONSUMER_PROTOCOL_TYPE = 'consumer'
const HIGHEST_SUBSCRIPTION_VERSION = 3

/** The subscribed topics, or null when the metadata cannot be read. */
export function subscribedTopicsOf(metadata: Uint8Array): string[] | null {
  if (metadata.length < 2) return null
  const r = new Reader(metadata)
  const version = r.readInt16()
  if (version < 0) return null
  const sub = decodeConsumerProtocolSubscription(r, Math.min(version, HIGHEST_SUBSCRIPTION_VERSION))
  return r.bad ? null : sub.topics
}
