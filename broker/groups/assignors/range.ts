// The `range` server assignor: for each topic, its partitions in order are cut into contiguous
// ranges, one per subscribed member in member-id order, the first (partitions % members) ranges one
// longer. Members subscribed to topics of equal size get the same partition numbers of each, which
// is what joins over co-partitioned topics need. Not sticky: ranges move with the member list.
import type { Assignment } from '../consumer-assignment.js'
import { byMemberId, type AssignorMember, type ServerAssignor } from './assignor.js'

export class RangeAssignor implements ServerAssignor {
  readonly name = 'range'

  assign(members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): Map<string, Assignment> {
    const out = new Map<string, Map<string, Set<number>>>()
    const sorted = byMemberId(members)
    for (const m of sorted) out.set(m.memberId, new Map())
    for (const [topicId, partitions] of topics) {
      const subscribed = sorted.filter((m) => m.topicIds.has(topicId))
      if (subscribed.length === 0) continue
      const per = Math.floor(partitions / subscribed.length)
      const extra = partitions % subscribed.length
      let next = 0
      subscribed.forEach((m, i) => {
        const n = per + (i < extra ? 1 : 0)
        if (n === 0) return
        const set = new Set<number>()
        for (let p = next; p < next + n; p++) set.add(p)
        next += n
        out.get(m.memberId)!.set(topicId, set)
      })
    }
    return out
  }
}
