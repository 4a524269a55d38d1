import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import { TransactionCoordinator } from '../../../broker/txn/coordinator.js'
import type { TxnMetadata, TxnStateLog } from '../../../broker/txn/txn-model.js'
import { partitionForKey } from '../../../broker/coordinator-state/state-topic.js'
import { ProducerIdManager } from '../../../broker/txn/producer-ids.js'
import { KafkaStorageError } from '../../../storage/errors.js'
import { KafkaError } from '../../../broker/errors.js'
import type { TxnMarkerInput } from '../../../storage/partition-log.js'
import { Clock, MemoryOffsetStore, catalog } from '../groups/helpers.js'
import type { PendingOffset } from '../../../broker/groups/offset-store.js'

const logger = pino({ level: 'silent' })
const FENCED = ErrorCode.PRODUCER_FENCED

class MemoryKv {
  readonly data = new Map<string, unknown>()
  /** Refuse every write, as the metadata store does on a full disk. */
  full = false
  get<T>(key: string): T | undefined {
    const v = this.data.get(key)
    return v === undefined ? undefined : (structuredClone(v) as T)
  }
  async put(key: string, value: unknown): Promise<void> {
    if (this.full) throw new KafkaStorageError(`storing ${key} failed`)
    this.data.set(key, structuredClone(value))
  }
  async delete(key: string): Promise<void> {
    if (this.full) throw new KafkaStorageError(`deleting ${key} failed`)
    this.data.delete(key)
  }
}

/** Transaction state as __transaction_state keeps it, one record per id, in memory. */
class MemoryTxnLog implements TxnStateLog {
  /** Ids this broker does not serve (another leads their partition, or it is loading): their error. */
  readonly refused = new Map<string, number>()
  constructor(readonly kv: MemoryKv) {}
  refusal(transactionalId: string): number {
    return this.refused.get(transactionalId) ?? ErrorCode.NONE
  }
  put(meta: TxnMetadata): Promise<void> {
    return this.kv.put(`txn.state/${meta.transactionalId}`, meta)
  }
  remove(transactionalId: string): Promise<void> {
    return this.kv.delete(`txn.state/${transactionalId}`)
  }
  /** What a coordinator that loads the partitions reads back. */
  metas(): TxnMetadata[] {
    return [...this.kv.data.keys()].filter((k) => k.startsWith('txn.state/')).map((k) => this.kv.get<TxnMetadata>(k)!)
  }
}

const OFFSETS_PARTITIONS = 50
const offsetsPartition = (groupId: string) => ({ topic: '__consumer_offsets', partition: partitionForKey(groupId, OFFSETS_PARTITIONS) })
const G = offsetsPartition('g').partition

class MarkerLog {
  readonly markers: Array<{ topic: string; partition: number } & TxnMarkerInput> = []
  /** Markers sent to __consumer_offsets partitions (which settle group offsets): [partition, producer id, commit]. */
  readonly offsetMarkers: Array<[number, number, boolean]> = []
  partition(topic: string, partition: number) {
    if (topic === 'gone') return undefined
    return {
      appendTxnMarker: async (m: TxnMarkerInput) => {
        if (topic === '__consumer_offsets') this.offsetMarkers.push([partition, m.producerId, m.commit])
        else this.markers.push({ topic, partition, ...m })
      },
    }
  }
}

function setup(opts: { store?: MemoryKv; clock?: Clock } = {}) {
  const store = opts.store ?? new MemoryKv()
  const logs = new MarkerLog()
  const clock = opts.clock ?? new Clock()
  const state = new MemoryTxnLog(store)
  const txn = new TransactionCoordinator({
    state,
    producerIdStore: store,
    logs,
    offsetsPartition,
    logger,
    now: clock.now,
    autoTick: false,
    config: { transactionMaxTimeoutMs: 60_000, transactionalIdExpirationMs: 100_000, removeExpiredTransactionalIdsIntervalMs: 1000 },
  })
  /** What a broker does at start: the stored transactions are restored, open ones aborted. */
  const load = () => txn.restoreTransactions(new MemoryTxnLog(store).metas(), true)
  return { store, state, logs, clock, txn, load }
}

const none = { producerId: -1, producerEpoch: -1 }

describe('TransactionCoordinator', () => {
  it('creates ids, bumps the epoch on re-init, and validates the timeout', async () => {
    const { txn } = setup()
    expect((await txn.initProducerId('a', 0, none, FENCED)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    expect((await txn.initProducerId('a', 60_001, none, FENCED)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    const first = await txn.initProducerId('a', 10_000, none, FENCED)
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0 })
    const second = await txn.initProducerId('a', 10_000, none, FENCED)
    expect(second).toEqual({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: 1 })
    // KIP-360: resuming with a stale epoch is a zombie
    expect((await txn.initProducerId('a', 10_000, { producerId: first.producerId, producerEpoch: 0 }, FENCED)).errorCode).toBe(FENCED)
    expect(await txn.initProducerId('a', 10_000, { producerId: first.producerId, producerEpoch: 1 }, FENCED)).toMatchObject({ producerEpoch: 2 })
    const other = await txn.initProducerId('b', 10_000, none, FENCED)
    expect(other.producerId).not.toBe(first.producerId)
  })

  it('runs a transaction: add partitions and offsets, commit writes markers then settles offsets', async () => {
    const { txn, logs } = setup()
    const { producerId: pid } = await txn.initProducerId('t', 10_000, none, FENCED)
    expect(await txn.endTransaction('t', pid, 0, true, FENCED)).toBe(ErrorCode.INVALID_TXN_STATE)
    expect(await txn.addToTransaction('t', pid, 0, { partitions: [{ topic: 'x', partition: 0 }, { topic: 'x', partition: 1 }] }, FENCED)).toBe(ErrorCode.NONE)
    expect(await txn.addToTransaction('t', pid, 0, { groupId: 'g' }, FENCED)).toBe(ErrorCode.NONE)
    expect(txn.isInTransaction('t', pid, 'x', 1)).toBe(true)
    expect(txn.isInTransaction('t', pid, 'x', 2)).toBe(false)
    expect(await txn.addToTransaction('t', pid + 1, 0, { groupId: 'g' }, FENCED)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
    expect(await txn.addToTransaction('t', pid, 5, { groupId: 'g' }, FENCED)).toBe(FENCED)
    expect(await txn.endTransaction('nope', pid, 0, true, FENCED)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING)

    expect(await txn.endTransaction('t', pid, 0, true, FENCED)).toBe(ErrorCode.NONE)
    expect(logs.markers).toEqual([
      { topic: 'x', partition: 0, producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit: true },
      { topic: 'x', partition: 1, producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit: true },
    ])
    expect(logs.offsetMarkers).toEqual([[G, pid, true]])
    expect(txn.get('t')).toMatchObject({ state: 'CompleteCommit', partitions: [], groups: [] })
    expect(txn.isInTransaction('t', pid, 'x', 1)).toBe(false)
    // a retried commit succeeds; an abort of the committed transaction does not
    expect(await txn.endTransaction('t', pid, 0, true, FENCED)).toBe(ErrorCode.NONE)
    expect(await txn.endTransaction('t', pid, 0, false, FENCED)).toBe(ErrorCode.INVALID_TXN_STATE)
    expect(logs.markers).toHaveLength(2)
  })

  it('fences an open transaction at InitProducerId: abort markers carry the bumped epoch', async () => {
    const { txn, logs } = setup()
    const { producerId: pid } = await txn.initProducerId('z', 10_000, none, FENCED)
    await txn.addToTransaction('z', pid, 0, { partitions: [{ topic: 'x', partition: 3 }], groupId: 'g' }, FENCED)
    const next = await txn.initProducerId('z', 10_000, none, FENCED)
    expect(next).toEqual({ errorCode: ErrorCode.NONE, producerId: pid, producerEpoch: 1 })
    expect(logs.markers).toEqual([{ topic: 'x', partition: 3, producerId: pid, producerEpoch: 1, coordinatorEpoch: 0, commit: false }])
    expect(logs.offsetMarkers).toEqual([[G, pid, false]])
    expect(await txn.endTransaction('z', pid, 0, true, FENCED)).toBe(FENCED)
  })

  it('aborts a timed-out transaction from the shared timer and forgets idle ids', async () => {
    const { txn, logs, clock, store } = setup()
    const { producerId: pid } = await txn.initProducerId('slow', 5_000, none, FENCED)
    await txn.addToTransaction('slow', pid, 0, { partitions: [{ topic: 'x', partition: 0 }] }, FENCED)
    clock.advance(5_000)
    await txn.tick()
    expect(txn.get('slow')!.state).toBe('Ongoing')
    clock.advance(1)
    await txn.tick()
    expect(txn.get('slow')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 })
    expect(logs.markers).toEqual([{ topic: 'x', partition: 0, producerId: pid, producerEpoch: 1, coordinatorEpoch: 0, commit: false }])
    clock.advance(100_000)
    await txn.tick()
    expect(txn.get('slow')).toBeUndefined()
    expect([...store.data.keys()].some((k) => k.includes('slow'))).toBe(false)
  })

  it('after a restart, completes a commit being written and aborts an open transaction', async () => {
    const store = new MemoryKv()
    const first = setup({ store })
    const { producerId: p1 } = await first.txn.initProducerId('committing', 10_000, none, FENCED)
    const { producerId: p2 } = await first.txn.initProducerId('open', 10_000, none, FENCED)
    await first.txn.addToTransaction('open', p2, 0, { partitions: [{ topic: 'x', partition: 1 }, { topic: 'gone', partition: 0 }] }, FENCED)
    first.txn.close()
    // the broker stopped right after recording PrepareCommit
    const meta = store.get<TxnMetadata>('txn.state/committing')!
    await store.put('txn.state/committing', {
      ...meta,
      state: 'PrepareCommit',
      partitions: [{ topic: 'x', partition: 0 }],
      groups: ['g'],
      startTimeMs: 1,
    })

    const second = setup({ store })
    await second.load()
    expect(second.txn.get('committing')).toMatchObject({ state: 'CompleteCommit', producerEpoch: 0 })
    expect(second.txn.get('open')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 })
    expect(second.logs.markers).toEqual([
      { topic: 'x', partition: 0, producerId: p1, producerEpoch: 0, coordinatorEpoch: 0, commit: true },
      { topic: 'x', partition: 1, producerId: p2, producerEpoch: 1, coordinatorEpoch: 0, commit: false },
    ])
    // An older release's transaction names its groups only: their partitions get the marker too.
    expect(second.logs.offsetMarkers).toEqual([[G, p1, true]])
    // ids allocated after the restart come from a new block
    const { producerId: p3 } = await second.txn.initProducerId('later', 10_000, none, FENCED)
    expect(p3).toBeGreaterThan(Math.max(p1, p2))
  })
})

describe('TransactionCoordinator failover (a partition of __transaction_state loaded or unloaded)', () => {
  it('completes what the previous coordinator left in prepare and leaves open transactions to their producer or timeout', async () => {
    const store = new MemoryKv()
    const first = setup({ store })
    const { producerId: p1 } = await first.txn.initProducerId('committing', 10_000, none, FENCED)
    const { producerId: p2 } = await first.txn.initProducerId('open', 10_000, none, FENCED)
    const { producerId: p3 } = await first.txn.initProducerId('idle', 10_000, none, FENCED)
    await first.txn.addToTransaction('committing', p1, 0, { partitions: [{ topic: 'x', partition: 0 }], groupId: 'g' }, FENCED)
    await first.txn.addToTransaction('open', p2, 0, { partitions: [{ topic: 'x', partition: 1 }] }, FENCED)
    await first.txn.addToTransaction('idle', p3, 0, { partitions: [{ topic: 'x', partition: 2 }] }, FENCED)
    // The coordinator died right after recording PrepareCommit.
    await store.put('txn.state/committing', { ...store.get<TxnMetadata>('txn.state/committing')!, state: 'PrepareCommit' })
    first.txn.close()

    const clock = new Clock()
    const next = setup({ store, clock })
    await next.txn.restoreTransactions(next.state.metas(), false)
    expect(next.txn.get('committing')).toMatchObject({ state: 'CompleteCommit', producerEpoch: 0 })
    expect(next.logs.markers).toEqual([{ topic: 'x', partition: 0, producerId: p1, producerEpoch: 0, coordinatorEpoch: 0, commit: true }])
    expect(next.logs.offsetMarkers).toEqual([[G, p1, true]])
    // The open transactions are still the producers': one commits through the new coordinator.
    expect(next.txn.get('open')).toMatchObject({ state: 'Ongoing', producerEpoch: 0 })
    expect(await next.txn.endTransaction('open', p2, 0, true, FENCED)).toBe(ErrorCode.NONE)
    expect(next.logs.markers).toHaveLength(2)
    // The other is aborted once past its timeout, its producer fenced.
    await next.txn.tick()
    expect(next.txn.get('idle')).toMatchObject({ state: 'Ongoing' })
    clock.advance(10_001)
    await next.txn.tick()
    expect(next.txn.get('idle')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 })
    expect(next.logs.markers[2]).toEqual({ topic: 'x', partition: 2, producerId: p3, producerEpoch: 1, coordinatorEpoch: 0, commit: false })
  })

  it('answers NOT_COORDINATOR for ids not served here, COORDINATOR_LOAD_IN_PROGRESS while loading, and stops work for unloaded ids', async () => {
    const { txn, state } = setup()
    state.refused.set('elsewhere', ErrorCode.NOT_COORDINATOR)
    state.refused.set('loading', ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    expect((await txn.initProducerId('elsewhere', 10_000, none, FENCED)).errorCode).toBe(ErrorCode.NOT_COORDINATOR)
    expect((await txn.initProducerId('loading', 10_000, none, FENCED)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    expect(await txn.endTransaction('elsewhere', 0, 0, true, FENCED)).toBe(ErrorCode.NOT_COORDINATOR)

    // A marker that cannot be written yet (its partition offline), retried while the id is served here.
    let attempts = 0
    txn.useMarkerWriter({
      async write(_tp, _m, live) {
        while (live?.() !== false) {
          attempts++
          await new Promise((r) => setTimeout(r, 5))
        }
        throw new KafkaError(ErrorCode.NOT_COORDINATOR, 'no longer coordinated here')
      },
    })
    const { producerId: pid } = await txn.initProducerId('moving', 10_000, none, FENCED)
    await txn.addToTransaction('moving', pid, 0, { partitions: [{ topic: 'x', partition: 0 }] }, FENCED)
    const ending = txn.endTransaction('moving', pid, 0, true, FENCED)
    while (attempts < 3) await new Promise((r) => setTimeout(r, 5))
    expect(txn.get('moving')!.state).toBe('PrepareCommit')
    // The partition moves to another broker: the id is forgotten and the request answers NOT_COORDINATOR.
    state.refused.set('moving', ErrorCode.NOT_COORDINATOR)
    txn.unloadTransactions((id) => id === 'moving')
    expect(await ending).toBe(ErrorCode.NOT_COORDINATOR)
    expect(txn.get('moving')).toBeUndefined()
    expect(txn.list().map((m) => m.transactionalId)).toEqual([])
  })
})

describe('TransactionCoordinator on a full disk', () => {
  it('answers a state change the store refuses as Kafka answers a failed append, and keeps the previous state', async () => {
    const { txn, store, logs } = setup()
    store.full = true
    expect(await txn.initProducerId(null, 0, none, FENCED)).toEqual({ errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, producerId: -1, producerEpoch: -1 })
    expect((await txn.initProducerId('full', 10_000, none, FENCED)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    expect(txn.get('full')).toBeUndefined()

    store.full = false
    const { producerId: pid } = await txn.initProducerId('full', 10_000, none, FENCED)
    expect(await txn.addToTransaction('full', pid, 0, { partitions: [{ topic: 'x', partition: 0 }] }, FENCED)).toBe(ErrorCode.NONE)
    store.full = true
    expect(await txn.addToTransaction('full', pid, 0, { partitions: [{ topic: 'x', partition: 1 }], groupId: 'g' }, FENCED)).toBe(ErrorCode.NOT_COORDINATOR)
    expect(txn.get('full')).toMatchObject({ state: 'Ongoing', partitions: [{ topic: 'x', partition: 0 }], groups: [] })
    expect(await txn.endTransaction('full', pid, 0, true, FENCED)).toBe(ErrorCode.NOT_COORDINATOR)
    // A new incarnation cannot fence either: the bumped epoch was never stored.
    expect((await txn.initProducerId('full', 10_000, none, FENCED)).errorCode).toBe(ErrorCode.NOT_COORDINATOR)
    expect(txn.get('full')).toMatchObject({ state: 'Ongoing', producerEpoch: 0 })
    expect(logs.markers).toEqual([])

    store.full = false
    expect(await txn.endTransaction('full', pid, 0, true, FENCED)).toBe(ErrorCode.NONE)
    expect(logs.markers).toEqual([{ topic: 'x', partition: 0, producerId: pid, producerEpoch: 0, coordinatorEpoch: 0, commit: true }])
    expect(store.get<TxnMetadata>('txn.state/full')).toMatchObject({ state: 'CompleteCommit' })
  })

  it('starts with a transaction it cannot finish for want of space, and finishes it once the store takes writes', async () => {
    const store = new MemoryKv()
    const first = setup({ store })
    const { producerId: pid } = await first.txn.initProducerId('open', 10_000, none, FENCED)
    await first.txn.addToTransaction('open', pid, 0, { partitions: [{ topic: 'x', partition: 0 }] }, FENCED)
    first.txn.close()

    store.full = true
    const second = setup({ store })
    await second.load()
    // The abort is under way (requests for the id answer CONCURRENT_TRANSACTIONS), not written.
    expect(second.txn.get('open')).toMatchObject({ state: 'PrepareAbort', producerEpoch: 1 })
    await second.txn.tick()
    expect(second.logs.markers).toEqual([])
    expect(store.get<TxnMetadata>('txn.state/open')).toMatchObject({ state: 'Ongoing', producerEpoch: 0 })
    store.full = false
    await second.txn.tick()
    expect(second.txn.get('open')).toMatchObject({ state: 'CompleteAbort', producerEpoch: 1 })
    expect(second.logs.markers).toEqual([{ topic: 'x', partition: 0, producerId: pid, producerEpoch: 1, coordinatorEpoch: 0, commit: false }])
  })
})

describe('ProducerIdManager', () => {
  it('reserves blocks before using them', async () => {
    const store = new MemoryKv()
    const a = new ProducerIdManager(store, 3)
    expect([await a.generate(), await a.generate(), await a.generate(), await a.generate()]).toEqual([0, 1, 2, 3])
    const b = new ProducerIdManager(store, 3)
    expect(await b.generate()).toBe(6)
    const concurrent = await Promise.all([b.generate(), b.generate(), b.generate(), b.generate()])
    expect(new Set(concurrent).size).toBe(4)
  })
})

describe('transactional offsets in the group coordinator', () => {
  function groupsWith(store: MemoryOffsetStore) {
    return new GroupCoordinator({ store, logs: catalog, logger, autoTick: false })
  }
  class Store extends MemoryOffsetStore {
    private readonly pending = new Map<string, Record<string, PendingOffset[]>>()
    pendingOffsets(groupId: string): Record<string, PendingOffset[]> | undefined {
      return this.pending.get(groupId)
    }
    async putPendingOffsets(groupId: string, byProducer: Record<string, PendingOffset[]> | null): Promise<void> {
      if (byProducer === null) this.pending.delete(groupId)
      else this.pending.set(groupId, structuredClone(byProducer))
    }
    override listOffsetGroups(): string[] {
      return [...new Set([...super.listOffsetGroups(), ...this.pending.keys()])]
    }
  }
  const commit = (partition: number, offset: number) => ({
    name: 'in',
    partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }],
  })
  const base = { groupId: 'g', producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: null }

  it('keeps offsets pending until commit, drops them on abort, and survives a restart', async () => {
    const store = new Store()
    const groups = groupsWith(store as never)
    const r = await groups.commitTransactionalOffsets({ ...base, producerId: 1, topics: [commit(0, 10)] })
    expect(r[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
    await groups.commitTransactionalOffsets({ ...base, producerId: 2, topics: [commit(1, 20)] })
    const fetch = (stable: boolean) => groups.fetchOffsets('g', [{ name: 'in', partitionIndexes: [0, 1] }], stable).topics[0]!.partitions
    expect(fetch(false).map((p) => p.committedOffset)).toEqual([-1, -1])
    expect(fetch(true).map((p) => p.errorCode)).toEqual([ErrorCode.UNSTABLE_OFFSET_COMMIT, ErrorCode.UNSTABLE_OFFSET_COMMIT])
    groups.close()

    const restarted = groupsWith(store as never)
    await restarted.completeTransactionalOffsets('g', 1, true)
    await restarted.completeTransactionalOffsets('g', 2, false)
    const after = restarted.fetchOffsets('g', [{ name: 'in', partitionIndexes: [0, 1] }], true).topics[0]!.partitions
    expect(after.map((p) => [p.errorCode, p.committedOffset])).toEqual([
      [ErrorCode.NONE, 10],
      [ErrorCode.NONE, -1],
    ])
    restarted.close()
  })

  it('validates the member and generation the producer passes', async () => {
    const groups = groupsWith(new Store() as never)
    const r = await groups.commitTransactionalOffsets({ ...base, producerId: 1, memberId: 'ghost', topics: [commit(0, 1)] })
    expect(r[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    const g = await groups.commitTransactionalOffsets({ ...base, producerId: 1, generationId: 4, topics: [commit(0, 1)] })
    expect(g[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION)
    groups.close()
  })
})
