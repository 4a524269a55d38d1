// Share sessions (KIP-932), Kafka's ShareSessionCache: one per (group, member). ShareSessionEpoch 0
// opens a session with the partitions the request names (replacing the member's previous one);
// later requests carry the next epoch (1, 2, ...) and only the partitions added or forgotten; -1
// closes the session. A request for a session that does not exist answers SHARE_SESSION_NOT_FOUND,
// one at the wrong epoch INVALID_SHARE_SESSION_EPOCH; a full cache SHARE_SESSION_LIMIT_REACHED
// (group.share.max.share.sessions). The session is what a fetch fetches: every partition in it.
import { ErrorCode } from '../../protocol/errors.js'

export const SHARE_INITIAL_EPOCH = 0
export const SHARE_FINAL_EPOCH = -1

export interface SessionPartition {
  topicId: string
  partition: number
}

export class ShareSession {
  /** The epoch the next request must carry. */
  epoch = 1
  /** By `${topicId}:${partition}`, in the order they were added. */
  readonly partitions = new Map<string, SessionPartition>()
  /** Fetches so far: each starts one partition further, so a MaxRecords limit starves none. */
  private fetches = 0

  constructor(
    readonly groupId: string,
    readonly memberId: string,
  ) {}

  add(topicId: string, partition: number): void {
    const key = `${topicId}:${partition}`
    if (!this.partitions.has(key)) this.partitions.set(key, { topicId, partition })
  }

  forget(topicId: string, partition: number): void {
    this.partitions.delete(`${topicId}:${partition}`)
  }

  /** The partitions in the order the next fetch reads them (Kafka's round-robin rotation). */
  nextFetchOrder(): SessionPartition[] {
    const all = [...this.partitions.values()]
    if (all.length === 0) return all
    const start = this.fetches++ % all.length
    return [...all.slice(start), ...all.slice(0, start)]
  }
}

export class ShareSessionCache {
  private readonly sessions = new Map<string, ShareSession>()

  constructor(private readonly maxSessions: () => number) {}

  get size(): number {
    return this.sessions.size
  }

  get(groupId: string, memberId: string): ShareSession | undefined {
    return this.sessions.get(key(groupId, memberId))
  }

  /** Epoch 0: a new session, replacing the member's previous one; or SHARE_SESSION_LIMIT_REACHED. */
  open(groupId: string, memberId: string): ShareSession | number {
    const k = key(groupId, memberId)
    if (!this.sessions.has(k) && this.sessions.size >= this.maxSessions()) return ErrorCode.SHARE_SESSION_LIMIT_REACHED
    const session = new ShareSession(groupId, memberId)
    this.sessions.set(k, session)
    return session
  }

  /** Epoch n > 0 or -1: the member's session if the epoch is the one it expects; else the error. */
  check(groupId: string, memberId: string, epoch: number): ShareSession | number {
    const session = this.sessions.get(key(groupId, memberId))
    if (session === undefined) return ErrorCode.SHARE_SESSION_NOT_FOUND
    if (epoch !== SHARE_FINAL_EPOCH && epoch !== session.epoch) return ErrorCode.INVALID_SHARE_SESSION_EPOCH
    return session
  }

  close(session: ShareSession): void {
    const k = key(session.groupId, session.memberId)
    if (this.sessions.get(k) === session) this.sessions.delete(k)
  }

  /** Sessions of a member that left its group go with it. */
  removeMember(groupId: string, memberId: string): void {
    this.sessions.delete(key(groupId, memberId))
  }

  removeGroup(groupId: string): void {
    for (const s of [...this.sessions.values()]) if (s.groupId === groupId) this.close(s)
  }
}

function key(groupId: string, memberId: string): string {
  return `${groupId}\u0000${memberId}`
}
