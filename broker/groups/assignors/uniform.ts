// The `uniform` server assignor, the default: spreads partitions so that member counts differ by at
// most one where subscriptions allow it, and keeps each member's previous partitions where it can,
// so a member joining or leaving moves few partitions. Three passes: each member keeps its previous
// partitions up to its fair share; the free partitions go one by one to the least loaded subscribed
// member; then partitions move from the most loaded member to a subscribed member holding at least
// two fewer until none can. Members subscribed to different topics are balanced as far as the moves
// allow, not optimally.
import type { Assignment } from '../consumer-assignment.js'
import { byMemberId, type AssignorMember, type ServerAssignor } from './assignor.js'

export class UniformAssignor implements ServerAssignor {
  readonly name = 'uniform'

  assign(members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): Map<string, Assignment> {
    const sorted = byMemberId(members)
    const held = new Map<string, Map<string, Set<number>>>(sorted.map((m) => [m.memberId, new Map()]))
    const count = new Map<string, number>(sorted.map((m) => [m.memberId, 0]))
    const taken = new Set<string>()
    const topicIds = [...topics.keys()].sort()
    const eligible = new Map<string, AssignorMember[]>(topicIds.map((t) => [t, sorted.filter((m) => m.topicIds.has(t))]))

    const give = (memberId: string, topicId: string, p: number): void => {
      const byTopic = held.get(memberId)!
      let set = byTopic.get(topicId)
      if (set === undefined) byTopic.set(topicId, (set = new Set()))
      set.add(p)
      count.set(memberId, count.get(memberId)! + 1)
      taken.add(`${topicId}\u0000${p}`)
    }
    const leastLoaded = (topicId: string): AssignorMember | undefined => {
      let best: AssignorMember | undefined
      for (const m of eligible.get(topicId) ?? []) if (best === undefined || count.get(m.memberId)! < count.get(best.memberId)!) best = m
      return best
    }

    // 1. Sticky: previous partitions still subscribed and existing, up to a fair share.
    for (const m of sorted) {
      const cap = fairShare(m, sorted, topics)
      for (const topicId of [...m.previous.keys()].sort()) {
        const partitions = topics.get(topicId)
        if (partitions === undefined || !m.topicIds.has(topicId)) continue
        for (const p of [...m.previous.get(topicId)!].sort((a, b) => a - b)) {
          if (count.get(m.memberId)! >= cap) break
          if (p < partitions && !taken.has(`${topicId}\u0000${p}`)) give(m.memberId, topicId, p)
        }
      }
    }
    // 2. Free partitions to the least loaded subscribed member.
    for (const topicId of topicIds) {
      const partitions = topics.get(topicId)!
      for (let p = 0; p < partitions; p++) {
        if (taken.has(`${topicId}\u0000${p}`)) continue
        const m = leastLoaded(topicId)
        if (m !== undefined) give(m.memberId, topicId, p)
      }
    }
    // 3. Even out: each move lowers the spread, so this ends.
    for (let moved = true; moved; ) {
      moved = false
      const byLoad = [...sorted].sort((a, b) => count.get(b.memberId)! - count.get(a.memberId)!)
      outer: for (const a of byLoad) {
        for (const [topicId, set] of held.get(a.memberId)!) {
          const b = leastLoaded(topicId)
          if (b === undefined || count.get(b.memberId)! > count.get(a.memberId)! - 2) continue
          const p = Math.max(...set)
          set.delete(p)
          if (set.size === 0) held.get(a.memberId)!.delete(topicId)
          count.set(a.memberId, count.get(a.memberId)! - 1)
          give(b.memberId, topicId, p)
          moved = true
          break outer
        }
      }
    }
    return held
  }
}

/** The partitions of the member's topics divided among the members sharing any of them, rounded up. */
function fairShare(m: AssignorMember, members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): number {
  let total = 0
  for (const t of m.topicIds) total += topics.get(t) ?? 0
  let sharing = 0
  for (const other of members) {
    for (const t of other.topicIds) {
      if (m.topicIds.has(t)) {
        sharing++
        break
      }
    }
  }
  return Math.ceil(total / Math.max(1, sharing))
}
