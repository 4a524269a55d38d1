// The state of one group that speaks the classic (JoinGroup/SyncGroup) rebalance protocol: its
// members, the generation, the chosen protocol and the rebalance bookkeeping. Kafka's
// ClassicGroup is the model. This class keeps its own invariants (member counts, protocol votes,
// the static-member index, legal state transitions) and answers what any group answers (member
// and offset validation, offset expiry); the protocol rules and every deadline decision live in
// classic-kind.ts and classic-rebalance.ts. Single-threaded: all calls come from the event loop.
import { ErrorCode } from '../../protocol/errors.js'
import { ClassicMember, EMPTY_BYTES } from './classic-member.js'
import { CONSUMER_PROTOCOL_TYPE, subscribedTopicsOf } from './consumer-subscription.js'
import type { Group, OffsetExpiration } from './group.js'
import type {
  GroupType,
  JoinGroupMember,
  JoinGroupResult,
  JoinProtocol,
  MemberIdentity,
  SyncGroupResult,
  TxnOffsetCommitParams,
} from './types.js'

export type ClassicGroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead'

export const CLASSIC_GROUP_STATES: readonly ClassicGroupState[] = [
  'Empty',
  'PreparingRebalance',
  'CompletingRebalance',
  'Stable',
  'Dead',
]

const VALID_PREVIOUS: Record<ClassicGroupState, readonly ClassicGroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
}

const NO_TOPICS: ReadonlySet<string> = new Set()

export class ClassicGroup implements Group {
  readonly type: GroupType = 'classic'
  state: ClassicGroupState = 'Empty'
  /** When the group entered its current state; offsets of an empty group age from here. */
  stateTimestamp: number
  generationId = 0
  protocolType: string | null = null
  protocolName: string | null = null
  leaderId: string | null = null
  readonly members = new Map<string, ClassicMember>()
  /** group.instance.id -> member id of the static member currently holding it. */
  readonly staticMembers = new Map<string, string>()
  /** Member ids handed out with MEMBER_ID_REQUIRED, with the time they expire unless they rejoin. */
  readonly pendingMembers = new Map<string, number>()
  /** Members of the current generation that have not yet sent SyncGroup. */
  readonly pendingSyncMembers = new Set<string>()
  numMembersAwaitingJoin = 0
  private readonly protocolVotes = new Map<string, number>()

  /** Set when a member joins during the initial delay, which then extends the delay. */
  newMemberAdded = false
  /** When PreparingRebalance gives up waiting for members; null outside PreparingRebalance. */
  joinDeadline: number | null = null
  /** Rebalance time still left to the initial-delay phase; null when not in that phase. */
  initialDelayRemainingMs: number | null = null
  /** When members that have not synced are removed; null when no sync is pending. */
  syncDeadline: number | null = null

  constructor(
    readonly groupId: string,
    now: number,
  ) {
    this.stateTimestamp = now
  }

  is(state: ClassicGroupState): boolean {
    return this.state === state
  }

  transitionTo(state: ClassicGroupState, now: number): void {
    if (!VALID_PREVIOUS[state].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} -> ${state}`)
    }
    this.state = state
    this.stateTimestamp = now
  }

  canRebalance(): boolean {
    return this.state === 'Stable' || this.state === 'CompletingRebalance' || this.state === 'Empty'
  }

  get size(): number {
    return this.members.size + this.pendingMembers.size
  }

  has(memberId: string): boolean {
    return this.members.has(memberId)
  }

  get(memberId: string): ClassicMember {
    const m = this.members.get(memberId)
    if (m === undefined) throw new Error(`group ${this.groupId} has no member ${memberId}`)
    return m
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId
  }

  /** The largest rebalance timeout of the members bounds how long PreparingRebalance waits. */
  rebalanceTimeoutMs(): number {
    let max = 0
    for (const m of this.members.values()) if (m.rebalanceTimeoutMs > max) max = m.rebalanceTimeoutMs
    return max
  }

  add(member: ClassicMember, onJoin: ((r: JoinGroupResult) => void) | null): void {
    if (this.members.size === 0) this.protocolType = member.protocolType
    if (this.leaderId === null) this.leaderId = member.memberId
    this.members.set(member.memberId, member)
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId)
    this.vote(member.protocols, 1)
    member.awaitingJoin = onJoin
    if (onJoin !== null) this.numMembersAwaitingJoin++
    this.pendingMembers.delete(member.memberId)
  }

  /** Removes the member and hands leadership to another member if it led. */
  remove(memberId: string): ClassicMember | undefined {
    const member = this.members.get(memberId)
    if (member === undefined) return undefined
    this.members.delete(memberId)
    this.vote(member.protocols, -1)
    if (member.awaitingJoin !== null) this.numMembersAwaitingJoin--
    if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
      this.staticMembers.delete(member.groupInstanceId)
    }
    this.pendingSyncMembers.delete(memberId)
    if (this.leaderId === memberId) {
      const next = this.members.keys().next()
      this.leaderId = next.done ? null : next.value
    }
    return member
  }

  updateMember(
    member: ClassicMember,
    protocols: JoinProtocol[],
    rebalanceTimeoutMs: number,
    sessionTimeoutMs: number,
    onJoin: ((r: JoinGroupResult) => void) | null,
  ): void {
    this.vote(member.protocols, -1)
    member.protocols = protocols
    this.vote(protocols, 1)
    member.rebalanceTimeoutMs = rebalanceTimeoutMs
    member.sessionTimeoutMs = sessionTimeoutMs
    if (onJoin !== null && member.awaitingJoin === null) this.numMembersAwaitingJoin++
    else if (onJoin === null && member.awaitingJoin !== null) this.numMembersAwaitingJoin--
    member.awaitingJoin = onJoin
  }

  /** Completes a pending JoinGroup of the member; returns whether there was one. */
  completeJoin(member: ClassicMember, result: JoinGroupResult): boolean {
    const cb = member.awaitingJoin
    if (cb === null) return false
    member.awaitingJoin = null
    this.numMembersAwaitingJoin--
    cb(result)
    return true
  }

  completeSync(member: ClassicMember, result: SyncGroupResult): boolean {
    const cb = member.awaitingSync
    if (cb === null) return false
    member.awaitingSync = null
    cb(result)
    return true
  }

  /**
   * Moves a static member's identity to a new member id (KIP-345): the old id is fenced, any of
   * its pending requests are answered with `fencedError`, and leadership follows the member.
   */
  replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string, fencedError: number): ClassicMember {
    const member = this.get(oldMemberId)
    this.completeJoin(member, joinError(oldMemberId, fencedError))
    this.completeSync(member, syncError(fencedError))
    this.members.delete(oldMemberId)
    member.memberId = newMemberId
    this.members.set(newMemberId, member)
    if (this.leaderId === oldMemberId) this.leaderId = newMemberId
    this.staticMembers.set(groupInstanceId, newMemberId)
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId)
    return member
  }

  /** A static member whose instance id is now held by another member id has been fenced. */
  isStaticMemberFenced(groupInstanceId: string | null, memberId: string): boolean {
    if (groupInstanceId === null) return false
    const current = this.staticMembers.get(groupInstanceId)
    return current !== undefined && current !== memberId
  }

  hasAllMembersJoined(): boolean {
    return this.members.size === this.numMembersAwaitingJoin && this.pendingMembers.size === 0
  }

  /** Keeps the leader if it rejoined, else picks any member that did; false when none did. */
  maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false
    if (this.members.get(this.leaderId)?.awaitingJoin != null) return true
    for (const m of this.members.values()) {
      if (m.awaitingJoin !== null) {
        this.leaderId = m.memberId
        return true
      }
    }
    return false
  }

  /**
   * The group accepts a joining member only if the member shares the protocol type and supports
   * at least one protocol every current member supports.
   */
  supportsProtocols(protocolType: string, protocols: readonly JoinProtocol[]): boolean {
    if (this.members.size === 0) return protocolType !== '' && protocols.length > 0
    if (this.protocolType !== protocolType) return false
    const all = this.members.size
    return protocols.some((p) => this.protocolVotes.get(p.name) === all)
  }

  /** Each member votes for its most preferred protocol among those all members support. */
  selectProtocol(): string {
    const all = this.members.size
    const candidates: string[] = []
    for (const [name, count] of this.protocolVotes) if (count === all) candidates.push(name)
    if (candidates.length === 0) throw new Error(`group ${this.groupId}: no protocol supported by all members`)
    const votes = new Map<string, number>()
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))!.name
      votes.set(choice, (votes.get(choice) ?? 0) + 1)
    }
    let best = candidates[0]!
    let bestVotes = -1
    for (const [name, n] of votes) {
      if (n > bestVotes) {
        best = name
        bestVotes = n
      }
    }
    return best
  }

  initNextGeneration(now: number): void {
    this.generationId++
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol()
      this.transitionTo('CompletingRebalance', now)
    } else {
      this.protocolName = null
      this.transitionTo('Empty', now)
    }
    this.pendingSyncMembers.clear()
  }

  currentMemberMetadata(): JoinGroupMember[] {
    const protocol = this.protocolName
    if (protocol === null) throw new Error(`group ${this.groupId} has no protocol in state ${this.state}`)
    const out: JoinGroupMember[] = []
    for (const m of this.members.values()) {
      out.push({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) })
    }
    return out
  }

  // ---- Validation shared by SyncGroup, Heartbeat and the offset requests -----------------------

  /** Kafka's validateMember: the member exists and, if static, still holds its instance id. */
  validateMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId)
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID
      if (current !== memberId) return ErrorCode.FENCED_INSTANCE_ID
    }
    return this.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID
  }

  /** validateMember plus the generation check shared by SyncGroup and Heartbeat. */
  validateGeneration(p: MemberIdentity): number {
    if (this.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    const invalid = this.validateMember(p.memberId, p.groupInstanceId)
    if (invalid !== ErrorCode.NONE) return invalid
    return p.generationId === this.generationId ? ErrorCode.NONE : ErrorCode.ILLEGAL_GENERATION
  }

  // ---- Group: what the shell and the offset manager ask of any group -----------------------------

  isEmpty(): boolean {
    return this.state === 'Empty'
  }

  isDead(): boolean {
    return this.state === 'Dead'
  }

  markDead(now: number): void {
    this.transitionTo('Dead', now)
  }

  shouldExpire(): boolean {
    return this.state === 'Empty' && this.pendingMembers.size === 0
  }

  validateOffsetCommit(p: MemberIdentity): number {
    if (this.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (p.generationId < 0 && this.is('Empty')) return ErrorCode.NONE
    if (p.generationId >= 0 || p.memberId !== '' || p.groupInstanceId !== null) {
      const invalid = this.validateMember(p.memberId, p.groupInstanceId)
      if (invalid !== ErrorCode.NONE) return invalid
      if (p.generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION
    } else if (!this.is('Empty')) {
      // Without member id and generation, offsets are only accepted while nobody consumes.
      return ErrorCode.UNKNOWN_MEMBER_ID
    }
    // The member has its new generation but not yet its assignment.
    if (this.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS
    return ErrorCode.NONE
  }

  onOffsetCommit(memberId: string, now: number): void {
    const member = this.members.get(memberId)
    if (member !== undefined && (this.is('Stable') || this.is('PreparingRebalance'))) {
      member.heartbeatDeadline = now + member.sessionTimeoutMs
    }
  }

  /** Kafka's ClassicGroup checks only that the group is alive, and the shell answers for a missing one. */
  validateOffsetFetch(): number {
    return ErrorCode.NONE
  }

  /** Kafka's doTxnCommitOffsets checks. */
  validateTxnOffsetCommit(p: TxnOffsetCommitParams): number {
    if (this.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if (p.memberId !== '' && !this.members.has(p.memberId)) return ErrorCode.UNKNOWN_MEMBER_ID
    if (p.generationId >= 0 && p.generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION
    return ErrorCode.NONE
  }

  /** KIP-496: only consumer groups know which topics they consume; others must be empty. */
  validateOffsetDelete(): number {
    if (this.is('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND
    if (!this.is('Empty') && this.protocolType !== CONSUMER_PROTOCOL_TYPE) return ErrorCode.NON_EMPTY_GROUP
    return ErrorCode.NONE
  }

  validateDeleteGroup(): number {
    if (this.is('Dead')) return ErrorCode.GROUP_ID_NOT_FOUND
    return this.is('Empty') ? ErrorCode.NONE : ErrorCode.NON_EMPTY_GROUP
  }

  /** Read from the members' "consumer" protocol metadata; null for other protocol types. */
  subscribedTopics(): ReadonlySet<string> | null {
    if (this.is('Empty')) return NO_TOPICS
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE || this.protocolName === null) return null
    const topics = new Set<string>()
    for (const m of this.members.values()) {
      const sub = subscribedTopicsOf(m.metadataFor(this.protocolName))
      if (sub === null) return null
      for (const t of sub) topics.add(t)
    }
    return topics
  }

  /**
   * An Empty group's offsets age from when it became empty (those of a group that never had
   * members: from their commit); a Stable consumer group's offsets of topics it no longer
   * subscribes to age from their commit. Nothing else expires.
   */
  offsetExpiration(): OffsetExpiration | null {
    if (this.is('Empty')) {
      const since = this.stateTimestamp
      const neverHadMembers = this.protocolType === null
      return {
        appliesTo: () => true,
        baseTimestamp: (o) => (neverHadMembers ? Math.max(o.commitTimestamp, since) : since),
      }
    }
    if (!this.is('Stable') || this.protocolType !== CONSUMER_PROTOCOL_TYPE) return null
    const subscribed = this.subscribedTopics()
    if (subscribed === null) return null
    return { appliesTo: (topic) => !subscribed.has(topic), baseTimestamp: (o) => o.commitTimestamp }
  }

  private vote(protocols: readonly JoinProtocol[], delta: number): void {
    for (const p of protocols) {
      const n = (this.protocolVotes.get(p.name) ?? 0) + delta
      if (n === 0) this.protocolVotes.delete(p.name)
      else this.protocolVotes.set(p.name, n)
    }
  }
}

export function joinError(memberId: string, errorCode: number): JoinGroupResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: '',
    skipAssignment: false,
    memberId,
    members: [],
  }
}

export function syncError(errorCode: number): SyncGroupResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY_BYTES }
}
