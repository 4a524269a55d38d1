// Kafka's CooperativeStickyAssignor (KIP-429): a balanced assignment that moves as few
// partitions as possible, and never hands a partition to a new member in the same round that
// takes it from its owner.
//
// 1. Each member keeps the partitions it owned (from its subscription's ownedPartitions), if it
//    still subscribes to them; when two members claim one, the claim of the newer generation
//    wins. Members over their quota (partitions / members, the first `remainder` members of
//    the largest holdings one more) give up the excess.
// 2. Partitions nobody keeps go, one by one, to the least-loaded member subscribed to them;
//    then partitions move from the most to the least loaded member while they differ by more
//    than one (needed only when subscriptions differ).
// 3. A partition whose new member differs from its owner is left out of this round: the owner
//    sees it revoked, gives it up and rejoins, and the next round assigns it, by then unowned.

import { normalize, sortMembers, type Assignor, type GroupMemberSubscription } from './assignor.js'
import type { TopicPartitions } from './consumer-protocol.js'

type Key = string

const keyOf = (topic: string, partition: number): Key => `${topic}\0${partition}`

function split(key: Key): [string, number] {
  const i = key.lastIndexOf('\0')
  return [key.slice(0, i), Number(key.slice(i + 1))]
}

/** The valid owner of each partition: still existing, still subscribed, newest generation. */
function currentOwners(members: readonly GroupMemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>): Map<Key, string> {
  const owner = new Map<Key, string>()
  const generation = new Map<Key, number>()
  for (const m of members) {
    const s = m.subscription
    for (const [topic, partitions] of s.ownedPartitions) {
      const count = partitionsPerTopic.get(topic)
      if (count === undefined || !s.topics.includes(topic)) continue
      for (const p of partitions) {
        if (p < 0 || p >= count) continue
        const k = keyOf(topic, p)
        const claimed = generation.get(k)
        if (claimed !== undefined && claimed >= s.generationId) continue
        owner.set(k, m.memberId)
        generation.set(k, s.generationId)
      }
    }
  }
  return owner
}

function stickyAssignment(members: readonly GroupMemberSubscription[], partitionsPerTopic: ReadonlyMap<string, number>, owners: Map<Key, string>): Map<string, Key[]> {
  const sorted = sortMembers(members)
  const subscribed = new Map(sorted.map((m) => [m.memberId, new Set(m.subscription.topics)]))
  const all: Key[] = []
  for (const topic of [...partitionsPerTopic.keys()].sort()) {
    if (!sorted.some((m) => subscribed.get(m.memberId)!.has(topic))) continue
    for (let p = 0; p < partitionsPerTopic.get(topic)!; p++) all.push(keyOf(topic, p))
  }
  const held = new Map<string, Key[]>(sorted.map((m) => [m.memberId, []]))
  for (const k of all) {
    const o = owners.get(k)
    if (o !== undefined) held.get(o)!.push(k)
  }
  // Quotas: the largest holdings keep the extra partition, so the fewest partitions move.
  const minQuota = sorted.length === 0 ? 0 : Math.floor(all.length / sorted.length)
  let withExtra = sorted.length === 0 ? 0 : all.length % sorted.length
  const byHolding = [...sorted].sort((a, b) => held.get(b.memberId)!.length - held.get(a.memberId)!.length)
  for (const m of byHolding) {
    const list = held.get(m.memberId)!
    let quota = minQuota
    if (withExtra > 0 && list.length > minQuota) {
      quota++
      withExtra--
    }
    if (list.length > quota) list.length = quota
  }
  const taken = new Set<Key>()
  for (const list of held.values()) for (const k of list) taken.add(k)
  const leastLoaded = (topic: string, except?: string) => {
    let best: string | undefined
    for (const m of sorted) {
      if (m.memberId === except || !subscribed.get(m.memberId)!.has(topic)) continue
      if (best === undefined || held.get(m.memberId)!.length < held.get(best)!.length) best = m.memberId
    }
    return best
  }
  for (const k of all) {
    if (taken.has(k)) continue
    const to = leastLoaded(split(k)[0])
    if (to !== undefined) held.get(to)!.push(k)
  }
  // Uneven subscriptions can leave a member two or more above another that could take over.
  for (let moves = 0; moves < all.length; moves++) {
    let moved = false
    const byLoad = [...sorted].sort((a, b) => held.get(b.memberId)!.length - held.get(a.memberId)!.length)
    for (const from of byLoad) {
      const list = held.get(from.memberId)!
      for (let i = list.length - 1; i >= 0 && !moved; i--) {
        const to = leastLoaded(split(list[i])[0], from.memberId)
        if (to === undefined || held.get(to)!.length + 1 >= list.length) continue
        held.get(to)!.push(list[i])
        list.splice(i, 1)
        moved = true
      }
      if (moved) break
    }
    if (!moved) break
  }
  return held
}

export const cooperativeStickyAssignor: Assignor = {
  name: 'cooperative-sticky',
  rebalanceProtocol: 'cooperative',
  assign(members, partitionsPerTopic) {
    const owners = currentOwners(members, partitionsPerTopic)
    const target = stickyAssignment(members, partitionsPerTopic, owners)
    const out = new Map<string, TopicPartitions>()
    for (const [memberId, keys] of target) {
      const a: TopicPartitions = new Map()
      for (const k of keys) {
        const owner = owners.get(k)
        // Moving from another member: that member must revoke it first.
        if (owner !== undefined && owner !== memberId) continue
        const [topic, p] = split(k)
        const list = a.get(topic)
        if (list === undefined) a.set(topic, [p])
        else list.push(p)
      }
      out.set(memberId, normalize(a))
    }
    return out
  },
}
