// The classic "consumer" protocol's embedded bytes (ConsumerProtocolSubscription in JoinGroup,
// ConsumerProtocolAssignment in SyncGroup), translated to and from KIP-848 assignments by topic
// id, for classic members that share a consumer group and for converting a group between kinds.
// Each is prefixed by its int16 version; newer versions only append fields.
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import {
  decodeConsumerProtocolAssignment,
  decodeConsumerProtocolSubscription,
  encodeConsumerProtocolAssignment,
} from '../../protocol/generated/consumer-protocol.js'
import type { Assignment } from './consumer-assignment.js'
import type { TopicCatalog } from './types.js'

const HIGHEST_VERSION = 3

export interface DecodedSubscription {
  version: number
  topics: string[]
  /** Partitions the member says it owns (version 1+); empty before. */
  owned: Array<{ topic: string; partitions: number[] }>
  rackId: string | null
}

export function decodeSubscription(bytes: Uint8Array): DecodedSubscription | null {
  if (bytes.length < 2) return null
  const r = new Reader(bytes)
  const version = r.readInt16()
  if (version < 0) return null
  const sub = decodeConsumerProtocolSubscription(r, Math.min(version, HIGHEST_VERSION))
  if (r.bad) return null
  return { version, topics: sub.topics, owned: sub.ownedPartitions, rackId: sub.rackId }
}

/** Partitions per topic name of an assignment's bytes; null when they cannot be read. */
export function decodeAssignment(bytes: Uint8Array): Array<{ topic: string; partitions: number[] }> | null {
  if (bytes.length === 0) return []
  if (bytes.length < 2) return null
  const r = new Reader(bytes)
  const version = r.readInt16()
  const a = decodeConsumerProtocolAssignment(r, Math.min(Math.max(version, 0), HIGHEST_VERSION))
  return r.bad ? null : a.assignedPartitions
}

export function encodeAssignment(a: Assignment, topicNames: ReadonlyMap<string, string>, version: number): Uint8Array {
  const v = Math.min(Math.max(version, 0), HIGHEST_VERSION)
  const w = new Writer(64)
  w.writeInt16(v)
  const assignedPartitions: Array<{ topic: string; partitions: number[] }> = []
  for (const [topicId, set] of a) {
    const topic = topicNames.get(topicId)
    if (topic !== undefined && set.size > 0) assignedPartitions.push({ topic, partitions: [...set].sort((x, y) => x - y) })
  }
  encodeConsumerProtocolAssignment(w, v, { assignedPartitions, userData: null })
  return new Uint8Array(w.toBuffer())
}

/** Partitions by topic name to partitions by topic id; topics that do not exist are left out. */
export function byTopicId(list: ReadonlyArray<{ topic: string; partitions: number[] }>, catalog: TopicCatalog | undefined): Assignment {
  const out = new Map<string, Set<number>>()
  for (const t of list) {
    const id = catalog?.topicId?.(t.topic)
    if (id === undefined || t.partitions.length === 0) continue
    let set = out.get(id)
    if (set === undefined) out.set(id, (set = new Set()))
    for (const p of t.partitions) set.add(p)
  }
  return out
}
