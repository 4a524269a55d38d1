// One member of a KIP-932 share group: what it subscribes to, its epoch and its assignment. Unlike
// a consumer group member, a share-group member never waits for partitions to be revoked (several
// members may consume one partition), so it moves straight to its target at the target's epoch,
// as Kafka's ShareGroupAssignmentBuilder does.
import { EMPTY_ASSIGNMENT, type Assignment } from './consumer-assignment.js'

export const SHARE_LEAVE_EPOCH = -1

export class ShareMember {
  rackId: string | null = null
  clientId = ''
  clientHost = ''
  subscribedTopicNames: readonly string[] = []
  memberEpoch = 0
  /** The epoch before the last move: a heartbeat at it is still accepted (its answer may have been lost). */
  previousMemberEpoch = -1
  assigned: Assignment = EMPTY_ASSIGNMENT
  /** Removed unless it heartbeats by then. */
  sessionDeadline = 0

  constructor(readonly memberId: string) {}
}
