// The "consumer" protocol's member metadata and assignment: what a member subscribes to (and,
// for cooperative rebalancing, which partitions it still owns) and what the leader gives it.
// Both travel as opaque bytes in JoinGroup and SyncGroup, prefixed by an int16 version.

import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
  encodeConsumerProtocolSubscription,
} from '../../protocol/generated/consumer-protocol.js'

/** Partition ids per topic. */
export type TopicPartitions = Map<string, number[]>

export interface Subscription {
  topics: string[]
  /** Partitions the member owned when it joined (v1+); what cooperative assignors keep in place. */
  ownedPartitions: TopicPartitions
  /** The generation those partitions were owned in (v2+), -1 when unknown. */
  generationId: number
  userData: Uint8Array | null
}

/** Version 3 adds the rack; the newest the generated schema knows. */
const SUBSCRIPTION_VERSION = 3
const HIGHEST_ASSIGNMENT_VERSION = 3

export function encodeSubscription(s: Subscription, version = SUBSCRIPTION_VERSION): Uint8Array {
  const w = new Writer(256)
  w.writeInt16(version)
  encodeConsumerProtocolSubscription(w, version, {
    topics: s.topics,
    userData: s.userData,
    ownedPartitions: [...s.ownedPartitions].map(([topic, partitions]) => ({ topic, partitions })),
    generationId: s.generationId,
    rackId: null,
  })
  return w.toBuffer()
}

/** Reads any version; fields a newer member added past our schema are ignored. */
export function decodeSubscription(bytes: Uint8Array): Subscription {
  const r = new Reader(bytes)
  const version = r.readInt16()
  const s = decodeConsumerProtocolSubscription(r, Math.min(version, SUBSCRIPTION_VERSION))
  if (r.bad) throw new Error(`undecodable consumer subscription: ${r.error}`)
  return {
    topics: s.topics,
    ownedPartitions: new Map(s.ownedPartitions.map((t) => [t.topic, t.partitions])),
    generationId: s.generationId,
    userData: s.userData,
  }
}

export function encodeAssignment(assigned: TopicPartitions, version = 0): Uint8Array {
  const w = new Writer(256)
  w.writeInt16(version)
  encodeConsumerProtocolAssignment(w, version, {
    assignedPartitions: [...assigned].map(([topic, partitions]) => ({ topic, partitions })),
    userData: null,
  })
  return w.toBuffer()
}

/** Partitions per topic, sorted; empty bytes (a member the leader gave nothing) mean none. */
export function decodeAssignment(bytes: Uint8Array): TopicPartitions {
  const out: TopicPartitions = new Map()
  if (bytes.length < 2) return out
  const r = new Reader(bytes)
  const version = r.readInt16()
  const a = decodeConsumerProtocolAssignment(r, Math.min(version, HIGHEST_ASSIGNMENT_VERSION))
  if (r.bad) throw new Error(`undecodable consumer assignment: ${r.error}`)
  for (const t of a.assignedPartitions) out.set(t.topic, [...t.partitions].sort((x, y) => x - y))
  return out
}
