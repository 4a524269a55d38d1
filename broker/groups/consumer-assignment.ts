// A set of partitions per topic id, the shape of every KIP-848 assignment: what a member owns, what
// it must give up, what the assignor targets for it. Values are treated as immutable: every
// operation returns a new assignment, so one can be shared between a member and its target.
import type { TopicPartitions } from './types.js'

export type Assignment = ReadonlyMap<string, ReadonlySet<number>>

export const EMPTY_ASSIGNMENT: Assignment = new Map()

export function assignmentOf(list: readonly TopicPartitions[]): Assignment {
  const out = new Map<string, Set<number>>()
  for (const t of list) {
    if (t.partitions.length === 0) continue
    let set = out.get(t.topicId)
    if (set === undefined) out.set(t.topicId, (set = new Set()))
    for (const p of t.partitions) set.add(p)
  }
  return out
}

/** Sorted by topic id and partition, as the wire carries it. */
export function toTopicPartitions(a: Assignment): TopicPartitions[] {
  const ids = [...a.keys()].sort()
  return ids.map((topicId) => ({ topicId, partitions: [...a.get(topicId)!].sort((x, y) => x - y) }))
}

export function isEmptyAssignment(a: Assignment): boolean {
  for (const set of a.values()) if (set.size > 0) return false
  return true
}

export function partitionCount(a: Assignment): number {
  let n = 0
  for (const set of a.values()) n += set.size
  return n
}

export function hasPartition(a: Assignment, topicId: string, partition: number): boolean {
  return a.get(topicId)?.has(partition) ?? false
}

/** Partitions of `a` that `keep` says yes to. */
export function filterAssignment(a: Assignment, keep: (topicId: string, partition: number) => boolean): Assignment {
  const out = new Map<string, Set<number>>()
  for (const [topicId, set] of a) {
    let kept: Set<number> | undefined
    for (const p of set) {
      if (!keep(topicId, p)) continue
      if (kept === undefined) out.set(topicId, (kept = new Set()))
      kept.add(p)
    }
  }
  return out
}

export function intersect(a: Assignment, b: Assignment): Assignment {
  return filterAssignment(a, (t, p) => hasPartition(b, t, p))
}

export function subtract(a: Assignment, b: Assignment): Assignment {
  return filterAssignment(a, (t, p) => !hasPartition(b, t, p))
}

export function union(a: Assignment, b: Assignment): Assignment {
  const out = new Map<string, Set<number>>()
  for (const src of [a, b]) {
    for (const [topicId, set] of src) {
      if (set.size === 0) continue
      let dst = out.get(topicId)
      if (dst === undefined) out.set(topicId, (dst = new Set()))
      for (const p of set) dst.add(p)
    }
  }
  return out
}

/** Whether every partition of `a` is in `b`. */
export function isSubset(a: Assignment, b: Assignment): boolean {
  for (const [topicId, set] of a) for (const p of set) if (!hasPartition(b, topicId, p)) return false
  return true
}

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  return partitionCount(a) === partitionCount(b) && isSubset(a, b)
}

export function forEachPartition(a: Assignment, fn: (topicId: string, partition: number) => void): void {
  for (const [topicId, set] of a) for (const p of set) fn(topicId, p)
}
