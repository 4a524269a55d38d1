// One member of a KIP-848 consumer group: what it subscribes to, the epoch it is at, the partitions
// it owns and those it must still give up. Kafka's ConsumerGroupMember is the model; the rules that
// move it between states are in consumer-reconciliation.ts.
import { EMPTY_ASSIGNMENT, type Assignment } from './consumer-assignment.js'
import type { JoinProtocol } from './types.js'

/** A member speaking the classic protocol (JoinGroup/SyncGroup/Heartbeat) inside a consumer group. */
export interface ClassicProtocolState {
  sessionTimeoutMs: number
  protocols: JoinProtocol[]
  /** The ConsumerProtocol version of its subscription; its assignment is encoded at the same one. */
  version: number
}

/**
 * Kafka's MemberState. stable: at the target epoch with everything it may own; unrevoked: must
 * first give up `pendingRevocation` and stays at its old epoch until it has; unreleased: at the
 * target epoch but waiting for partitions other members still give up.
 */
export type ConsumerMemberState = 'stable' | 'unrevoked_partitions' | 'unreleased_partitions'

/** A static member that left with epoch -2 (it is expected back under a new member id). */
export const LEAVE_STATIC_EPOCH = -2
export const LEAVE_EPOCH = -1
/**
 * The rebalance timeout of a member that joined without one (consumer-kind.ts: a bare rejoin):
 * the default max.poll.interval.ms of Kafka's and librdkafka's consumers, which is what they send.
 */
export const DEFAULT_REBALANCE_TIMEOUT_MS = 300_000

export class ConsumerMember {
  instanceId: string | null = null
  rackId: string | null = null
  clientId = ''
  clientHost = ''
  rebalanceTimeoutMs = 0
  subscribedTopicNames: readonly string[] = []
  subscribedTopicRegex: string | null = null
  serverAssignor: string | null = null

  memberEpoch = 0
  previousMemberEpoch = -1
  state: ConsumerMemberState = 'stable'
  /** Partitions the member may consume at its epoch. */
  assigned: Assignment = EMPTY_ASSIGNMENT
  /** Partitions it still owns but must give up before it moves on. */
  pendingRevocation: Assignment = EMPTY_ASSIGNMENT
  /**
   * KIP-1251: the member epoch at which it was given each partition it owns (assigned or pending
   * revocation), keyed as ConsumerGroup keys partitions; kept by ConsumerGroup.setAssignment.
   */
  assignmentEpochs: ReadonlyMap<string, number> = new Map()

  /** Removed unless it heartbeats by then. */
  sessionDeadline = 0
  /** While it must revoke partitions: removed unless it has by then. */
  revocationDeadline: number | null = null
  /** Whether the broker logged that this revocation is taking long (once per revocation). */
  revocationSlowLogged = false

  /** A static member that left with epoch -2: it keeps its partitions until its session expires. */
  leftTemporarily = false
  /** Set for a member that joined with JoinGroup rather than ConsumerGroupHeartbeat. */
  classic: ClassicProtocolState | null = null

  constructor(public memberId: string) {}
}
