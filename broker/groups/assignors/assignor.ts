// What a server-side assignor (KIP-848) sees and returns. The coordinator computes a target
// assignment for the whole group each time the group epoch moves; members then reconcile towards
// it one by one. An assignor is a pure function of the members' subscriptions, the topics' sizes
// and the previous target (so it can be sticky); it never sees who owns what right now.
import type { Assignment } from '../consumer-assignment.js'

export interface AssignorMember {
  memberId: string
  /** Passed through for rack-aware placement; the assignors here do not use it yet. */
  rackId: string | null
  /** Ids of the subscribed topics that exist. */
  topicIds: ReadonlySet<string>
  /** The member's previous target assignment. */
  previous: Assignment
}

export interface ServerAssignor {
  readonly name: string
  /** Every member gets an entry; `topics` maps each subscribed topic id to its partition count. */
  assign(members: readonly AssignorMember[], topics: ReadonlyMap<string, number>): Map<string, Assignment>
}

/** Members sorted by id, so that every assignment is a function of its inputs alone. */
export function byMemberId(members: readonly AssignorMember[]): AssignorMember[] {
  return [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0))
}
