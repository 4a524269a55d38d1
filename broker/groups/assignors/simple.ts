// The share groups' server assignor (KIP-932), named "simple" as Kafka's SimpleAssignor. A share
// partition may be consumed by several members at once (records, not partitions, are handed out),
// so the goal is different from a consumer group's: every subscribed partition has at least one
// member, and every member has work. Per topic, among the members subscribed to it: with at least
// as many partitions as members, the partitions are dealt out round robin (each to one member);
// with more members than partitions, each member gets one partition, round robin (so partitions are
// shared by ceil(members / partitions) members or one fewer). A rotating start spreads the topics'
// first partitions over different members. Deterministic: a function of its inputs alone.
import type { Assignment } from '../consumer-assignment.js'
import { byMemberId, type AssignorMember, type ServerAssignor } from './assignor.js'

export class SimpleAssignor implements ServerAssignor {
  readonly name = 'simple'

  assign(members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): Map<string, Assignment> {
    const sorted = byMemberId(members)
    const out = new Map<string, Map<string, Set<number>>>()
    for (const m of sorted) out.set(m.memberId, new Map())
    let start = 0
    for (const topicId of [...topics.keys()].sort()) {
      const partitions = topics.get(topicId)!
      const subscribed = sorted.filter((m) => m.topicIds.has(topicId))
      if (partitions <= 0 || subscribed.length === 0) continue
      const give = (member: AssignorMember, p: number): void => {
        const mine = out.get(member.memberId)!
        let set = mine.get(topicId)
        if (set === undefined) mine.set(topicId, (set = new Set()))
        set.add(p)
      }
      const n = subscribed.length
      if (partitions >= n) {
        for (let p = 0; p < partitions; p++) give(subscribed[(p + start) % n]!, p)
      } else {
        for (let i = 0; i < n; i++) give(subscribed[i]!, (i + start) % partitions)
      }
      start++
    }
    return out
  }
}
