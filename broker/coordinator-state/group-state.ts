// Committed offsets and transactional offsets awaiting their outcome, kept in __consumer_offsets
// (state-topic.ts): the group coordinator's store. A group belongs to the partition of its id; the
// broker leading that partition coordinates it. Records:
//
//   offset/<url-encoded group>/<topic>/<partition>  -> the committed offset (CommittedOffset)
//   pending/<url-encoded group>                     -> { producerId: PendingOffset[] } awaiting a transaction's outcome
//
// What is read back is indexed by group here, so OffsetFetch and the coordinator read memory only.
// When a partition is loaded the coordinator takes over its groups (Empty until members join);
// when it moves away the coordinator drops them.
import type { CommittedOffset, OffsetStore, PendingOffset, PendingOffsetStore, TopicPartitionFilter } from '../groups/offset-store.js'
import type { StateMachine, StateTopic, StateWrite } from './state-topic.js'

const OFFSET = 'offset/'
const PENDING = 'pending/'

export type PendingByProducer = Record<string, PendingOffset[]>

/** What the coordinator does when groups come and go with their partition. */
export interface GroupLoadListener {
  restoreGroups(groupIds: string[]): void
  /** Drops every group for which `belongs` holds, with or without stored state. */
  unloadGroups(belongs: (groupId: string) => boolean): void
}

interface PartitionGroups {
  /** group -> `${topic}\u0000${partition}` -> offset */
  offsets: Map<string, Map<string, CommittedOffset>>
  pending: Map<string, PendingByProducer>
}

export class GroupStateStore implements OffsetStore, PendingOffsetStore, StateMachine {
  private readonly partitions = new Map<number, PartitionGroups>()
  private listener: GroupLoadListener | undefined

  constructor(readonly topic: StateTopic) {
    topic.setMachine(this)
  }

  setListener(listener: GroupLoadListener): void {
    this.listener = listener
  }

  /** NONE when this broker coordinates the group now, else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. */
  refusal(groupId: string): number {
    return this.topic.refusalFor(groupId)
  }

  // ---- OffsetStore ----------------------------------------------------------------------------

  commitOffsets(group: string, entries: Array<{ topic: string; partition: number } & CommittedOffset>): Promise<void> {
    return this.topic.write(
      this.topic.partitionFor(group),
      entries.map(({ topic, partition, ...offset }) => ({ key: offsetKey(group, topic, partition), value: offset })),
    )
  }

  fetchOffsets(group: string): Map<string, CommittedOffset> {
    return new Map(this.groupsOf(group)?.offsets.get(group) ?? [])
  }

  async deleteOffsets(group: string, filter?: TopicPartitionFilter[]): Promise<number> {
    const offsets = this.groupsOf(group)?.offsets.get(group)
    if (offsets === undefined) return 0
    const victims: StateWrite[] = []
    for (const tp of offsets.keys()) {
      const { topic, partition } = splitTp(tp)
      if (filter !== undefined && !filter.some((f) => f.topic === topic && (f.partition === undefined || f.partition === partition))) continue
      victims.push({ key: offsetKey(group, topic, partition), value: null })
    }
    await this.topic.write(this.topic.partitionFor(group), victims)
    return victims.length
  }

  /** Groups with committed or pending offsets in the partitions served here. */
  listOffsetGroups(): string[] {
    const out = new Set<string>()
    for (const p of this.partitions.values()) {
      for (const g of p.offsets.keys()) out.add(g)
      for (const g of p.pending.keys()) out.add(g)
    }
    return [...out]
  }

  // ---- PendingOffsetStore ---------------------------------------------------------------------

  pendingOffsets(groupId: string): PendingByProducer | undefined {
    return this.groupsOf(groupId)?.pending.get(groupId)
  }

  putPendingOffsets(groupId: string, byProducer: PendingByProducer | null): Promise<void> {
    const empty = byProducer === null || Object.keys(byProducer).length === 0
    return this.topic.write(this.topic.partitionFor(groupId), [{ key: PENDING + encodeURIComponent(groupId), value: empty ? null : byProducer }])
  }

  // ---- StateMachine ---------------------------------------------------------------------------

  replay(partition: number, key: string, value: unknown): void {
    let groups = this.partitions.get(partition)
    if (groups === undefined) this.partitions.set(partition, (groups = { offsets: new Map(), pending: new Map() }))
    if (key.startsWith(OFFSET)) {
      const { group, tp } = parseOffsetKey(key)
      let offsets = groups.offsets.get(group)
      if (value === null) {
        offsets?.delete(tp)
        if (offsets?.size === 0) groups.offsets.delete(group)
        return
      }
      if (offsets === undefined) groups.offsets.set(group, (offsets = new Map()))
      offsets.set(tp, value as CommittedOffset)
    } else if (key.startsWith(PENDING)) {
      const group = decodeURIComponent(key.slice(PENDING.length))
      if (value === null) groups.pending.delete(group)
      else groups.pending.set(group, value as PendingByProducer)
    }
    // Other keys belong to later versions: read past, kept by compaction.
  }

  loaded(partition: number): void {
    const groups = this.partitions.get(partition)
    if (groups === undefined) return
    this.listener?.restoreGroups([...new Set([...groups.offsets.keys(), ...groups.pending.keys()])])
  }

  unloaded(partition: number): void {
    this.partitions.delete(partition)
    this.listener?.unloadGroups((groupId) => this.topic.partitionFor(groupId) === partition)
  }

  private groupsOf(groupId: string): PartitionGroups | undefined {
    return this.partitions.get(this.topic.partitionFor(groupId))
  }
}

function offsetKey(group: string, topic: string, partition: number): string {
  return `${OFFSET}${encodeURIComponent(group)}/${topic}/${partition}`
}

function parseOffsetKey(key: string): { group: string; tp: string } {
  const rest = key.slice(OFFSET.length)
  const first = rest.indexOf('/')
  const last = rest.lastIndexOf('/')
  return { group: decodeURIComponent(rest.slice(0, first)), tp: `${rest.slice(first + 1, last)}\u0000${rest.slice(last + 1)}` }
}

function splitTp(tp: string): { topic: string; partition: number } {
  const i = tp.lastIndexOf('\u0000')
  return { topic: tp.slice(0, i), partition: Number(tp.slice(i + 1)) }
}
