// Which replicas of a topic replicate under a throttle (KIP-73): the topic configs
// leader.replication.throttled.replicas and follower.replication.throttled.replicas, each `*` (every
// replica of the topic) or a list of `partition:brokerId`. As in Kafka, each broker reads the pairs
// that name itself: a leader throttles what it sends for the partitions listed with its own id
// (kafka-reassign-partitions lists the current replicas there, any of which may lead), a follower
// what it fetches for the partitions listed with its own id (the replicas being added).
import { splitList } from '../../storage/config-defs.js'

export const LEADER_THROTTLED_REPLICAS = 'leader.replication.throttled.replicas'
export const FOLLOWER_THROTTLED_REPLICAS = 'follower.replication.throttled.replicas'

/** The partitions a list throttles on `brokerId`: every one, or those listed with it. */
export type ThrottledPartitions = 'all' | ReadonlySet<number>

const NONE: ReadonlySet<number> = new Set()

export function throttledPartitions(value: string | undefined, brokerId: number): ThrottledPartitions {
  if (value === undefined) return NONE
  const items = splitList(value)
  if (items.includes('*')) return 'all'
  const out = new Set<number>()
  for (const item of items) {
    const m = /^(\d+)\s*:\s*(\d+)$/.exec(item)
    if (m !== null && Number(m[2]) === brokerId) out.add(Number(m[1]))
  }
  return out
}

/**
 * Looks a partition up in a topic's list, parsing each distinct config value once: the lists are
 * read on every replica fetch, and change only with AlterConfigs.
 */
export class ThrottledReplicas {
  private readonly parsed = new Map<string, ThrottledPartitions>()

  constructor(private readonly brokerId: number) {}

  includes(value: string | undefined, partition: number): boolean {
    if (value === undefined || value === '') return false
    let set = this.parsed.get(value)
    if (set === undefined) {
      if (this.parsed.size >= 1024) this.parsed.clear()
      set = throttledPartitions(value, this.brokerId)
      this.parsed.set(value, set)
    }
    return set === 'all' || set.has(partition)
  }
}
