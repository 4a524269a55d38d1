// Shared fixtures for the coordinator tests: an in-memory offset store, a hand-driven clock and
// request builders with the defaults a Java consumer would send.
import { Writer } from '../../../protocol/writer.js'
import { encodeConsumerProtocolSubscription } from '../../../protocol/generated/consumer-protocol.js'
import { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import type { GroupCoordinatorConfig, JoinGroupParams, TopicCatalog } from '../../../broker/groups/types.js'
import type { CommittedOffset, OffsetStore, TopicPartitionFilter } from '../../../broker/groups/offset-store.js'

export class MemoryOffsetStore implements OffsetStore {
  readonly groups = new Map<string, Map<string, CommittedOffset>>()
  failNextCommit = false

  async commitOffsets(group: string, entries: Array<{ topic: string; partition: number } & CommittedOffset>): Promise<void> {
    if (this.failNextCommit) {
      this.failNextCommit = false
      throw new Error('injected commit failure')
    }
    let offsets = this.groups.get(group)
    if (offsets === undefined) this.groups.set(group, (offsets = new Map()))
    for (const { topic, partition, ...o } of entries) offsets.set(`${topic}\u0000${partition}`, o)
  }

  fetchOffsets(group: string): Map<string, CommittedOffset> {
    return new Map(this.groups.get(group) ?? [])
  }

  async deleteOffsets(group: string, filter?: TopicPartitionFilter[]): Promise<number> {
    const offsets = this.groups.get(group)
    if (offsets === undefined) return 0
    let n = 0
    for (const key of [...offsets.keys()]) {
      const [topic, partition] = key.split('\u0000') as [string, string]
      if (filter === undefined || filter.some((f) => f.topic === topic && (f.partition === undefined || f.partition === Number(partition)))) {
        offsets.delete(key)
        n++
      }
    }
    if (offsets.size === 0) this.groups.delete(group)
    return n
  }

  listOffsetGroups(): string[] {
    return [...this.groups.keys()]
  }
}

export class Clock {
  constructor(public ms = 1_700_000_000_000) {}
  now = (): number => this.ms
  advance(ms: number): void {
    this.ms += ms
  }
}

export const catalog: TopicCatalog = {
  partitionCount: (topic) => (topic.startsWith('missing') ? undefined : 6),
}

export function newCoordinator(
  clock: Clock,
  config: Partial<GroupCoordinatorConfig> = {},
  store: MemoryOffsetStore = new MemoryOffsetStore(),
): { coordinator: GroupCoordinator; store: MemoryOffsetStore } {
  const coordinator = new GroupCoordinator({
    store,
    logs: catalog,
    config: { groupInitialRebalanceDelayMs: 0, ...config },
    now: clock.now,
    autoTick: false,
  })
  return { coordinator, store }
}

export function subscription(topics: string[]): Uint8Array {
  const w = new Writer(256)
  w.writeInt16(0)
  encodeConsumerProtocolSubscription(w, 0, { topics, userData: null, ownedPartitions: [], generationId: -1, rackId: null })
  return new Uint8Array(w.toBuffer())
}

export function join(overrides: Partial<JoinGroupParams> = {}): JoinGroupParams {
  return {
    groupId: 'g',
    memberId: '',
    groupInstanceId: null,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 30_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: subscription(['t']) }],
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    ...overrides,
  }
}

/** The promise's value if it has settled once pending I/O and microtasks ran, else 'pending'. */
export async function settled<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending')))])
}

export async function resolvedNow<T>(p: Promise<T>): Promise<T> {
  const v = await settled(p)
  if (v === 'pending') throw new Error('expected the request to be answered already')
  return v
}
