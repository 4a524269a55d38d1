// The share coordinator's store (KIP-932): every share partition's state (its start offset, the
// state epoch, the leader epoch of the share-partition leader that wrote it last, and the in-flight
// ranges with their delivery states and counts) as records of __share_group_state, as Kafka's share
// coordinator keeps them. A share partition's record key is Kafka's share coordinator key,
// "group:topicId:partition"; the topic's partition for it is Kafka's partitionFor of that key, and
// the broker leading that partition serves it (state-topic.ts). Each record holds the whole state
// (Kafka writes deltas and snapshots; one snapshot per write is what Samsa's share partitions hand
// over), so the latest record of a key is its state and compaction keeps only that.
//
// A write from a share-partition leader older than the one that wrote the state last (a lower
// leader epoch) is refused with FENCED_LEADER_EPOCH: a deposed leader cannot undo its successor's
// acknowledgements. What is read back is kept in memory per partition, so reads cost no I/O.
import { ErrorCode } from '../../protocol/errors.js'
import type { ShareStateRecord } from '../../storage/metadata-store.js'
import { toKafkaError } from '../errors.js'
import type { StateMachine, StateTopic, StateWrite } from './state-topic.js'

export const SHARE_STATE_TOPIC = '__share_group_state'

/** Kafka's SharePartitionKey.asCoordinatorKey: "group:topicId:partition". */
export function shareCoordinatorKey(groupId: string, topicId: string, partition: number): string {
  return `${groupId}:${topicId}:${partition}`
}

/** The parts of a share coordinator key; the group may itself hold ':' (topic ids and partitions do not). */
export function parseShareCoordinatorKey(key: string): { groupId: string; topicId: string; partition: number } {
  const last = key.lastIndexOf(':')
  const middle = key.lastIndexOf(':', last - 1)
  return { groupId: key.slice(0, middle), topicId: key.slice(middle + 1, last), partition: Number(key.slice(last + 1)) }
}

/** One change: the share partition's new state, or null to delete it. */
export interface ShareStateChange {
  key: string
  state: ShareStateRecord | null
}

export class ShareStateCoordinator implements StateMachine {
  /** state partition -> coordinator key -> state */
  private readonly partitions = new Map<number, Map<string, ShareStateRecord>>()

  /** `loading`: a single broker still reading its internal topics back after a start. */
  constructor(
    readonly topic: StateTopic,
    private readonly loading: () => boolean = () => false,
  ) {
    topic.setMachine(this)
  }

  partitionFor(key: string): number {
    return this.topic.partitionFor(key)
  }

  /** NONE when this broker serves the key's state partition now, else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. */
  refusal(key: string): number {
    return this.loading() ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : this.topic.refusalFor(key)
  }

  /** The share partition's state (undefined: none yet), or the error code refusing it. */
  read(key: string): ShareStateRecord | undefined | number {
    const refused = this.refusal(key)
    if (refused !== ErrorCode.NONE) return refused
    return this.partitions.get(this.partitionFor(key))?.get(key)
  }

  /**
   * Writes the changes, one batch per state partition (the partitions in parallel); resolves with
   * each key's outcome once durable. Changes to keys not served here, or fenced by a newer leader
   * epoch, are refused and not written.
   */
  async write(changes: readonly ShareStateChange[]): Promise<Map<string, number>> {
    const outcomes = new Map<string, number>()
    const byPartition = new Map<number, StateWrite[]>()
    for (const c of changes) {
      const read = this.read(c.key)
      if (typeof read === 'number') {
        outcomes.set(c.key, read)
        continue
      }
      if (c.state !== null && read !== undefined && c.state.leaderEpoch < read.leaderEpoch) {
        outcomes.set(c.key, ErrorCode.FENCED_LEADER_EPOCH)
        continue
      }
      const p = this.partitionFor(c.key)
      let writes = byPartition.get(p)
      if (writes === undefined) byPartition.set(p, (writes = []))
      writes.push({ key: c.key, value: c.state })
    }
    await Promise.all(
      [...byPartition].map(async ([p, writes]) => {
        let code: number = ErrorCode.NONE
        try {
          await this.topic.write(p, writes)
        } catch (err) {
          code = toKafkaError(err).code
        }
        for (const w of writes) outcomes.set(w.key, code)
      }),
    )
    return outcomes
  }

  /**
   * InitializeShareGroupState: the share partitions without state get one with nothing in flight
   * (start offset -1: the share-partition leader resolves it by share.auto.offset.reset when it
   * loads it); those with state keep it.
   */
  async initialize(keys: readonly string[], stateEpoch: number, startOffset: number): Promise<Map<string, number>> {
    const outcomes = new Map<string, number>()
    const changes: ShareStateChange[] = []
    for (const key of keys) {
      const read = this.read(key)
      if (typeof read === 'number') outcomes.set(key, read)
      else if (read !== undefined) outcomes.set(key, ErrorCode.NONE)
      else changes.push({ key, state: { startOffset, stateEpoch, leaderEpoch: -1, stateBatches: [] } })
    }
    for (const [key, code] of await this.write(changes)) outcomes.set(key, code)
    return outcomes
  }

  /** Every share partition's state served here (a single broker serves them all). */
  list(): Array<{ key: string; state: ShareStateRecord }> {
    const out: Array<{ key: string; state: ShareStateRecord }> = []
    for (const states of this.partitions.values()) for (const [key, state] of states) out.push({ key, state })
    return out
  }

  // ---- StateMachine ---------------------------------------------------------------------------

  replay(partition: number, key: string, value: unknown): void {
    let states = this.partitions.get(partition)
    if (states === undefined) this.partitions.set(partition, (states = new Map()))
    if (value === null) states.delete(key)
    else states.set(key, value as ShareStateRecord)
  }

  loaded(): void {}

  unloaded(partition: number): void {
    this.partitions.delete(partition)
  }
}
