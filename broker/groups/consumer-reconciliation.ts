// How a consumer-group member moves from its current assignment to its target (Kafka's
// CurrentAssignmentBuilder, KIP-848). Revocation comes first: a member that must give up partitions
// keeps its epoch and only the partitions it may keep, until a heartbeat shows it no longer owns the
// revoked ones; only then does it move to the target epoch. A partition of its target that another
// member still owns (assigned, or pending revocation) is withheld until that member releases it.
// Together these keep every partition owned by at most one member at any time.
import {
  EMPTY_ASSIGNMENT,
  filterAssignment,
  hasPartition,
  intersect,
  isEmptyAssignment,
  subtract,
  union,
  type Assignment,
} from './consumer-assignment.js'
import type { ConsumerMemberState } from './consumer-member.js'

export interface MemberAssignmentState {
  state: ConsumerMemberState
  memberEpoch: number
  previousMemberEpoch: number
  assigned: Assignment
  pendingRevocation: Assignment
}

export interface ReconcileInput {
  targetEpoch: number
  target: Assignment
  /** What the member reported owning in this heartbeat; null when it did not say. */
  owned: Assignment | null
  /** Whether a member other than this one owns the partition. */
  ownedByOther(topicId: string, partition: number): boolean
}

/** The member's next state; the same object when nothing changes. */
export function reconcile(m: MemberAssignmentState, input: ReconcileInput): MemberAssignmentState {
  switch (m.state) {
    case 'stable':
      return m.memberEpoch === input.targetEpoch ? m : next(m, input)
    case 'unrevoked_partitions':
      // Still owns (or did not say whether it owns) partitions it must give up: wait.
      if (input.owned === null || overlaps(input.owned, m.pendingRevocation)) return m
      return next(m, input)
    case 'unreleased_partitions':
      return next(m, input)
  }
}

function next(m: MemberAssignmentState, input: ReconcileInput): MemberAssignmentState {
  const retained = intersect(m.assigned, input.target)
  const revoking = subtract(m.assigned, input.target)
  if (!isEmptyAssignment(revoking) && (input.owned === null || overlaps(input.owned, revoking))) {
    return { state: 'unrevoked_partitions', memberEpoch: m.memberEpoch, previousMemberEpoch: m.previousMemberEpoch, assigned: retained, pendingRevocation: revoking }
  }
  const wanted = subtract(input.target, retained)
  const free = filterAssignment(wanted, (t, p) => !input.ownedByOther(t, p))
  const unreleased = !isEmptyAssignment(subtract(wanted, free))
  const assigned = union(retained, free)
  const epochMoves = m.memberEpoch !== input.targetEpoch
  const state: ConsumerMemberState = unreleased ? 'unreleased_partitions' : 'stable'
  if (!epochMoves && state === m.state && isEmptyAssignment(m.pendingRevocation) && isEmptyAssignment(free) && isEmptyAssignment(revoking)) return m
  return {
    state,
    memberEpoch: input.targetEpoch,
    previousMemberEpoch: epochMoves ? m.memberEpoch : m.previousMemberEpoch,
    assigned,
    pendingRevocation: EMPTY_ASSIGNMENT,
  }
}

function overlaps(a: Assignment, b: Assignment): boolean {
  for (const [topicId, set] of a) for (const p of set) if (hasPartition(b, topicId, p)) return true
  return false
}
