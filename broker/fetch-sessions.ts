// Incremental fetch sessions (KIP-227). A consumer that fetches many partitions sends the full
// list once; later requests carry only changes, and responses only partitions with news (records,
// a moved high watermark or log start offset, or an error). Sessions are evicted least recently
// used when the cache is full, and a client whose epoch is out of step gets an error and starts over.
import { randomInt } from 'node:crypto'

export interface SessionPartition {
  topic: string
  topicId: string
  partition: number
  fetchOffset: number
  partitionMaxBytes: number
  /** What the client was last told, to decide whether an incremental response must include it. */
  lastHighWatermark: number
  lastLastStableOffset: number
  lastLogStartOffset: number
  lastErrorCode: number
}

export class FetchSession {
  /** The epoch the next incremental request must carry. */
  nextEpoch = 1
  lastUsed = Date.now()
  readonly partitions = new Map<string, SessionPartition>()

  constructor(readonly id: number) {}
}

export const INVALID_SESSION_ID = 0
export const INITIAL_EPOCH = 0
export const FINAL_EPOCH = -1

export function partitionKey(topicOrId: string, partition: number): string {
  return `${topicOrId}\u0000${partition}`
}

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>()

  constructor(private readonly maxSlots: number) {}

  get size(): number {
    return this.sessions.size
  }

  create(): FetchSession | undefined {
    if (this.maxSlots <= 0) return undefined
    if (this.sessions.size >= this.maxSlots) {
      // Map iteration order is insertion order and get() re-inserts, so the first is the LRU.
      const oldest = this.sessions.keys().next().value as number
      this.sessions.delete(oldest)
    }
    let id: number
    do id = randomInt(1, 2 ** 31 - 1)
    while (this.sessions.has(id))
    const s = new FetchSession(id)
    this.sessions.set(id, s)
    return s
  }

  get(id: number): FetchSession | undefined {
    const s = this.sessions.get(id)
    if (s) {
      this.sessions.delete(id)
      this.sessions.set(id, s)
      s.lastUsed = Date.now()
    }
    return s
  }

  remove(id: number): void {
    this.sessions.delete(id)
  }
}
