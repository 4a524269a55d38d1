// One member of a classic group: what it sent in its last JoinGroup, its assignment, its session
// deadline and the JoinGroup/SyncGroup answers it waits for. Kafka's ClassicGroupMember.
import type { JoinGroupResult, JoinProtocol, SyncGroupResult } from './types.js'

export const EMPTY_BYTES = new Uint8Array(0)

export class ClassicMember {
  assignment: Uint8Array = EMPTY_BYTES
  /** Set until the member's first JoinGroup completes; new members expire even while waiting. */
  isNew = false
  /** When the member is expired unless it heartbeats, joins or syncs before. */
  heartbeatDeadline = 0
  awaitingJoin: ((result: JoinGroupResult) => void) | null = null
  awaitingSync: ((result: SyncGroupResult) => void) | null = null

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    readonly protocolType: string,
    public protocols: JoinProtocol[],
  ) {}

  get isStatic(): boolean {
    return this.groupInstanceId !== null
  }

  metadataFor(protocolName: string): Uint8Array {
    for (const p of this.protocols) if (p.name === protocolName) return p.metadata
    throw new Error(`member ${this.memberId} does not support protocol ${protocolName}`)
  }

  /** Same protocols, in the same order, with the same metadata bytes. */
  matches(protocols: readonly JoinProtocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false
    for (let i = 0; i < protocols.length; i++) {
      const a = protocols[i]!
      const b = this.protocols[i]!
      if (a.name !== b.name || !sameBytes(a.metadata, b.metadata)) return false
    }
    return true
  }

  /** Members waiting on a JoinGroup or SyncGroup response cannot heartbeat, so they do not expire. */
  canExpire(): boolean {
    return this.isNew || (this.awaitingJoin === null && this.awaitingSync === null)
  }
}


function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
