// Kafka's RangeAssignor: per topic, the partitions are cut into contiguous ranges, one per
// subscribed member in sorted order; the first (partitions % members) members get one more.
// Eager, like Kafka's: a member keeps nothing across a rebalance.

import { addPartition, normalize, sortMembers, type Assignor } from './assignor.js'
import type { TopicPartitions } from './consumer-protocol.js'

export const rangeAssignor: Assignor = {
  name: 'range',
  rebalanceProtocol: 'eager',
  assign(members, partitionsPerTopic) {
    const out = new Map<string, TopicPartitions>(members.map((m) => [m.memberId, new Map()]))
    const sorted = sortMembers(members)
    for (const [topic, count] of [...partitionsPerTopic].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const subscribed = sorted.filter((m) => m.subscription.topics.includes(topic))
      if (subscribed.length === 0) continue
      const per = Math.floor(count / subscribed.length)
      const extra = count % subscribed.length
      subscribed.forEach((m, i) => {
        const start = per * i + Math.min(i, extra)
        const length = per + (i < extra ? 1 : 0)
        for (let p = start; p < start + length; p++) addPartition(out.get(m.memberId)!, topic, p)
      })
    }
    for (const [id, a] of out) out.set(id, normalize(a))
    return out
  },
}
