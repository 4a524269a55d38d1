// The transaction coordinator: one state machine per transactional id, as Kafka's
// TransactionCoordinator runs it (pre-KIP-890 protocol: the epoch is bumped at InitProducerId and
// when the coordinator fences or times out a producer, not on every transaction).
//
//   Empty --AddPartitions/AddOffsets--> Ongoing --EndTxn--> PrepareCommit|PrepareAbort
//   Prepare* --markers written, group offsets settled--> CompleteCommit|CompleteAbort
//   Complete*|Empty --AddPartitions--> Ongoing;  idle past transactional.id.expiration.ms --> Dead
//
// Each state change is a record of __transaction_state (TxnStateLog in txn-model.ts; coordinator-state/txn-state.ts)
// made durable before the step it allows. A transactional id is served by the leader of its
// partition of that topic: elsewhere its requests answer NOT_COORDINATOR, and
// COORDINATOR_LOAD_IN_PROGRESS while the partition is being read. Ending a transaction writes a
// marker (a control batch) to every partition in it (in cluster mode at each partition's leader,
// retried until written: cluster-markers.ts). A group's offsets take part as Kafka's do: AddOffsetsToTxn
// adds the group's __consumer_offsets partition, whose "marker" settles the producer's pending
// offsets at the group's coordinator instead of being appended.
//
// When a partition of __transaction_state is loaded (this broker became its leader), its
// PrepareCommit/PrepareAbort transactions are completed; Ongoing ones are left to their producer
// and aborted once past their timeout, as Kafka's TransactionStateManager does (a single broker's
// start aborts them at once, so no partition's last stable offset waits for the timeout). When the
// partition moves away its ids are forgotten, and work in flight for them stops.
//
// A state change the log refuses (a full disk, too few in-sync replicas) is undone in memory, as
// Kafka updates its cache only once the transaction log append succeeded, and the request is
// answered as Kafka answers a failed append: NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE, or
// COORDINATOR_LOAD_IN_PROGRESS when no producer id could be reserved. Clients retry all three. What
// a load could not finish, the timer finishes later.
//
// Concurrency: requests for one transactional id run one at a time (a promise chain per id); one
// shared interval aborts timed-out transactions and forgets expired ids.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import type { TxnMarkerInput } from '../../storage/partition-log.js'
import { KafkaError } from '../errors.js'
import { appendFailureCode, isStoreFailure } from './append-failures.js'
import { localMarkers } from './local-markers.js'
import { ProducerIdManager, ProducerIdsUnavailableError, type ProducerIdBlockSource } from './producer-ids.js'
import {
  DEFAULT_TXN_CONFIG,
  type InitProducerIdResult,
  type MarkerWriter,
  type TopicPartition,
  type TxnCoordinatorConfig,
  type TxnCoordinatorOptions,
  type TxnMetadata,
  type TxnStateLog,
} from './txn-model.js'

/** Kafka's coordinator epoch; a single broker keeps the one it was born with. */
const COORDINATOR_EPOCH = 0
const MAX_EPOCH = 32767

export class TransactionCoordinator {
  readonly config: TxnCoordinatorConfig
  private readonly txns = new Map<string, TxnMetadata>()
  private readonly chains = new Map<string, Promise<unknown>>()
  private readonly producerIds: ProducerIdManager
  private readonly state: TxnStateLog
  private readonly offsetsPartition: (groupId: string) => TopicPartition
  private markers: MarkerWriter
  /** Cluster mode: other brokers coordinate transactions too (useMarkerWriter). */
  private othersCoordinate = false
  private readonly logger: Logger
  private readonly now: () => number
  private readonly verifyPartitions: () => boolean
  private timer: NodeJS.Timeout | null = null
  private nextExpiryCheck: number
  private ticking = false
  private closed = false

  constructor(opts: TxnCoordinatorOptions) {
    this.config = { ...DEFAULT_TXN_CONFIG, ...opts.config }
    this.state = opts.state
    this.offsetsPartition = opts.offsetsPartition
    this.markers = localMarkers(opts.logs, opts.logger)
    this.logger = opts.logger
    this.now = opts.now ?? Date.now
    this.verifyPartitions = opts.verifyPartitions ?? (() => true)
    this.producerIds = new ProducerIdManager(opts.producerIdStore)
    this.nextExpiryCheck = this.now() + this.config.removeExpiredTransactionalIdsIntervalMs
    if (opts.autoTick ?? true) {
      this.timer = setInterval(() => void this.tick(), Math.max(10, this.config.abortTimedOutTransactionsIntervalMs))
      this.timer.unref()
    }
  }

  /**
   * A partition of __transaction_state was loaded (TxnLoadListener): its ids are served here, and
   * what a failover interrupted is finished: Prepare* transactions are completed; Ongoing ones are
   * left to their producer and the timeout, or aborted at once when `abortOpen` (a single broker's
   * start). Resolves once those are done or have failed (the timer retries them).
   */
  async restoreTransactions(metas: TxnMetadata[], abortOpen: boolean): Promise<void> {
    for (const meta of metas) if (meta.state !== 'Dead') this.txns.set(meta.transactionalId, meta)
    await Promise.all(
      metas.map((meta) =>
        this.locked(meta.transactionalId, async () => {
          if (this.txns.get(meta.transactionalId) !== meta) return // unloaded again meanwhile
          if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
            this.logger.info({ transactionalId: meta.transactionalId, state: meta.state }, 'completing a transaction its previous coordinator left in prepare')
            await this.complete(meta, meta.state === 'PrepareCommit')
          } else if (meta.state === 'Ongoing' && abortOpen) {
            this.logger.info({ transactionalId: meta.transactionalId }, 'aborting a transaction left open by a restart')
            await this.fenceAndAbort(meta)
          }
        }).catch((err: unknown) => {
          // The timer finishes it once the log takes writes again (or a later load does).
          this.logger.warn({ err, transactionalId: meta.transactionalId }, 'could not finish a transaction on loading it; retrying later')
        }),
      ),
    )
  }

  /** The partition of these ids moved away (TxnLoadListener): they are forgotten, and work in flight for them stops. */
  unloadTransactions(belongs: (transactionalId: string) => boolean): void {
    for (const id of [...this.txns.keys()]) if (belongs(id)) this.txns.delete(id)
  }

  /** NONE when this broker coordinates the id now, else the error its requests answer. */
  refusal(transactionalId: string): number {
    return this.closed ? ErrorCode.NOT_COORDINATOR : this.state.refusal(transactionalId)
  }

  /** Producer ids from blocks shared with other brokers (cluster mode). */
  useProducerIdBlocks(source: ProducerIdBlockSource): void {
    this.producerIds.useBlockSource(source)
  }

  /**
   * Cluster mode: markers through `writer` (to each partition's current leader), and transactions
   * coordinated by other brokers write to the partitions this broker leads.
   */
  useMarkerWriter(writer: MarkerWriter): void {
    this.markers = writer
    this.othersCoordinate = true
  }

  close(): void {
    this.closed = true
    this.markers.close?.()
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }

  get(transactionalId: string): TxnMetadata | undefined {
    return this.txns.get(transactionalId)
  }

  list(): TxnMetadata[] {
    return [...this.txns.values()]
  }

  // ---- InitProducerId -------------------------------------------------------------------------

  async initProducerId(
    transactionalId: string | null,
    timeoutMs: number,
    expected: { producerId: number; producerEpoch: number },
    fencedCode: number,
  ): Promise<InitProducerIdResult> {
    if (transactionalId === null || transactionalId === '') {
      // Idempotent only: a producer resuming after an error (KIP-360) keeps its id with a new epoch.
      if (expected.producerId >= 0 && expected.producerEpoch >= 0 && expected.producerEpoch + 1 < MAX_EPOCH) {
        return { errorCode: ErrorCode.NONE, producerId: expected.producerId, producerEpoch: expected.producerEpoch + 1 }
      }
      try {
        return { errorCode: ErrorCode.NONE, producerId: await this.producerIds.generate(), producerEpoch: 0 }
      } catch (err) {
        if (!(err instanceof ProducerIdsUnavailableError)) throw err
        this.logger.warn({ err }, 'InitProducerId failed: no producer id available')
        return initError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
      }
    }
    if (timeoutMs <= 0 || timeoutMs > this.config.transactionMaxTimeoutMs) return initError(ErrorCode.INVALID_TRANSACTION_TIMEOUT)
    if (this.closed) return initError(ErrorCode.NOT_COORDINATOR)
    return this.changeState(transactionalId, initError, async () => {
      let meta = this.txns.get(transactionalId)
      if (meta === undefined || meta.state === 'Dead') {
        meta = {
          transactionalId,
          producerId: await this.producerIds.generate(),
          producerEpoch: 0,
          timeoutMs,
          state: 'Empty',
          partitions: [],
          groups: [],
          startTimeMs: -1,
          lastUpdateTimeMs: this.now(),
        }
        await this.persist(meta)
        return { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch }
      }
      if (expected.producerId >= 0) {
        // KIP-360: only the current incarnation may resume; anyone else is a zombie.
        if (expected.producerId !== meta.producerId || expected.producerEpoch !== meta.producerEpoch) return initError(fencedCode)
      }
      if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') return initError(ErrorCode.CONCURRENT_TRANSACTIONS)
      if (meta.state === 'Ongoing') {
        // A new incarnation fences the old one: its open transaction is aborted with the new epoch.
        await this.fenceAndAbort(meta)
      } else {
        await this.bumpEpoch(meta)
      }
      meta.timeoutMs = timeoutMs
      meta.state = 'Empty'
      meta.lastUpdateTimeMs = this.now()
      await this.persist(meta)
      return { errorCode: ErrorCode.NONE, producerId: meta.producerId, producerEpoch: meta.producerEpoch }
    })
  }

  // ---- AddPartitionsToTxn / AddOffsetsToTxn ----------------------------------------------------

  /** Adds partitions (and/or a group's offsets) to the producer's transaction; one error code for all. */
  async addToTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    add: { partitions?: TopicPartition[]; groupId?: string },
    fencedCode: number,
  ): Promise<number> {
    if (this.closed) return ErrorCode.NOT_COORDINATOR
    return this.changeState(transactionalId, (code) => code, async () => {
      const meta = this.txns.get(transactionalId)
      const invalid = this.validate(meta, producerId, producerEpoch, fencedCode)
      if (invalid !== ErrorCode.NONE) return invalid
      const m = meta!
      if (m.state === 'PrepareCommit' || m.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS
      const partitions = [...(add.partitions ?? [])]
      // Kafka adds the group's __consumer_offsets partition: its marker settles the group's offsets.
      if (add.groupId !== undefined) partitions.push(this.offsetsPartition(add.groupId))
      const newPartitions = partitions.filter((tp) => !m.partitions.some((q) => q.topic === tp.topic && q.partition === tp.partition))
      const newGroup = add.groupId !== undefined && !m.groups.includes(add.groupId)
      if (m.state === 'Ongoing' && newPartitions.length === 0 && !newGroup) return ErrorCode.NONE
      if (m.state !== 'Ongoing') {
        m.state = 'Ongoing'
        m.startTimeMs = this.now()
        m.partitions = []
        m.groups = []
      }
      for (const tp of newPartitions) m.partitions.push({ topic: tp.topic, partition: tp.partition })
      if (newGroup) m.groups.push(add.groupId!)
      m.lastUpdateTimeMs = this.now()
      await this.persist(m)
      return ErrorCode.NONE
    })
  }

  /**
   * Produce's check (Kafka's INVALID_TXN_STATE): a transactional write must go to a partition of the
   * producer's open transaction. With verification off every such write that names its
   * transactional id is admitted, as Kafka does (and did before 3.6): a partition the client never
   * added then takes part in no EndTxn, exactly as there.
   */
  admitsTransactionalWrite(transactionalId: string | null, producerId: number, topic: string, partition: number): boolean {
    if (transactionalId !== null && !this.verifyPartitions()) return true
    if (transactionalId !== null && this.othersCoordinate && this.txns.get(transactionalId)?.producerId !== producerId) {
      // Coordinated by another broker, whose state this one does not see (Kafka's leader would ask
      // that coordinator with AddPartitionsToTxn v4): admitted as with verification off.
      return true
    }
    return this.isInTransaction(transactionalId, producerId, topic, partition)
  }

  /** Whether `topic`-`partition` was added to the producer's open transaction. */
  isInTransaction(transactionalId: string | null, producerId: number, topic: string, partition: number): boolean {
    if (transactionalId === null) return false
    const meta = this.txns.get(transactionalId)
    if (meta === undefined || meta.producerId !== producerId || meta.state !== 'Ongoing') return false
    return meta.partitions.some((tp) => tp.topic === topic && tp.partition === partition)
  }

  // ---- EndTxn ---------------------------------------------------------------------------------

  async endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean, fencedCode: number): Promise<number> {
    if (this.closed) return ErrorCode.NOT_COORDINATOR
    return this.changeState(transactionalId, (code) => code, async () => {
      const meta = this.txns.get(transactionalId)
      const invalid = this.validate(meta, producerId, producerEpoch, fencedCode)
      if (invalid !== ErrorCode.NONE) return invalid
      const m = meta!
      switch (m.state) {
        case 'Ongoing':
          await this.complete(m, commit)
          return ErrorCode.NONE
        case 'CompleteCommit':
          // a retry of the EndTxn that completed it
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE
        case 'PrepareCommit':
        case 'PrepareAbort':
          return ErrorCode.CONCURRENT_TRANSACTIONS
        default:
          return ErrorCode.INVALID_TXN_STATE
      }
    })
  }

  // ---- timers ---------------------------------------------------------------------------------

  /** Aborts transactions past their timeout (fencing their producer) and forgets expired ids. */
  async tick(): Promise<void> {
    if (this.ticking || this.closed) return
    this.ticking = true
    try {
      const now = this.now()
      // Each transaction on its own: one whose markers are still being retried holds up no other.
      const work = [...this.txns.values()].map((meta) => {
        const id = meta.transactionalId
        const current = (): boolean => this.txns.get(id) === meta
        if (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') {
          // Left by a load that could not write (requests finish theirs inside the lock).
          return this.locked(id, async () => {
            if (current() && (meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort')) await this.complete(meta, meta.state === 'PrepareCommit')
          })
        }
        if (meta.state !== 'Ongoing' || now - meta.startTimeMs <= meta.timeoutMs) return undefined
        return this.locked(id, async () => {
          if (!current() || meta.state !== 'Ongoing' || this.now() - meta.startTimeMs <= meta.timeoutMs) return
          this.logger.info({ transactionalId: id, timeoutMs: meta.timeoutMs }, 'aborting a timed-out transaction')
          await this.fenceAndAbort(meta)
        })
      })
      const results = await Promise.allSettled(work)
      for (const r of results) if (r.status === 'rejected') this.logger.warn({ err: r.reason }, 'finishing a transaction failed; retrying later')
      if (now >= this.nextExpiryCheck) {
        this.nextExpiryCheck = now + this.config.removeExpiredTransactionalIdsIntervalMs
        await this.removeExpired(now)
      }
    } catch (err) {
      this.logger.error({ err }, 'transaction coordinator timer failed')
    } finally {
      this.ticking = false
    }
  }

  private async removeExpired(now: number): Promise<void> {
    for (const meta of [...this.txns.values()]) {
      if (meta.state === 'Ongoing' || meta.state === 'PrepareCommit' || meta.state === 'PrepareAbort') continue
      if (now - meta.lastUpdateTimeMs < this.config.transactionalIdExpirationMs) continue
      await this.locked(meta.transactionalId, async () => {
        if (this.txns.get(meta.transactionalId) !== meta) return
        await this.state.remove(meta.transactionalId)
        meta.state = 'Dead'
        this.txns.delete(meta.transactionalId)
        this.logger.info({ transactionalId: meta.transactionalId }, 'expired transactional id')
      })
    }
  }

  // ---- internals ------------------------------------------------------------------------------

  private validate(meta: TxnMetadata | undefined, producerId: number, producerEpoch: number, fencedCode: number): number {
    if (meta === undefined || meta.state === 'Dead' || meta.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (meta.producerEpoch !== producerEpoch) return fencedCode
    return ErrorCode.NONE
  }

  /** Bumps the epoch, or moves to a new producer id when the epoch is exhausted. */
  private async bumpEpoch(meta: TxnMetadata): Promise<void> {
    if (meta.producerEpoch + 1 >= MAX_EPOCH) {
      meta.producerId = await this.producerIds.generate()
      meta.producerEpoch = 0
    } else {
      meta.producerEpoch++
    }
  }

  /**
   * Kafka's fence-then-abort: the epoch goes up first, so the markers carry the new epoch and the
   * old incarnation's further writes are rejected at every partition.
   */
  private async fenceAndAbort(meta: TxnMetadata): Promise<void> {
    if (meta.producerEpoch + 1 < MAX_EPOCH) meta.producerEpoch++
    await this.complete(meta, false)
  }

  /** Prepare, write every marker, settle group offsets, complete. */
  private async complete(meta: TxnMetadata, commit: boolean): Promise<void> {
    meta.state = commit ? 'PrepareCommit' : 'PrepareAbort'
    meta.lastUpdateTimeMs = this.now()
    await this.persist(meta)
    const marker: TxnMarkerInput = { producerId: meta.producerId, producerEpoch: meta.producerEpoch, coordinatorEpoch: COORDINATOR_EPOCH, commit }
    const live = (): boolean => !this.closed && this.txns.get(meta.transactionalId) === meta
    await Promise.all(this.markerTargets(meta).map((tp) => this.markers.write(tp, marker, live)))
    if (!live()) throw new KafkaError(ErrorCode.NOT_COORDINATOR, `transactional id ${meta.transactionalId} is no longer coordinated here`)
    meta.state = commit ? 'CompleteCommit' : 'CompleteAbort'
    meta.partitions = []
    meta.groups = []
    meta.startTimeMs = -1
    meta.lastUpdateTimeMs = this.now()
    try {
      await this.persist(meta)
    } catch (err) {
      if (!isStoreFailure(err)) throw err
      // The markers are written: the outcome stands. The store keeps Prepare*, which a restart
      // completes again (the markers are written twice, which readers tolerate).
      this.logger.warn({ err, transactionalId: meta.transactionalId }, 'storing a completed transaction failed')
    }
  }

  /**
   * Stores the state; a new id is served from memory only once stored. (The write fails when the
   * partition stopped being served meanwhile, so an unloaded id is never put back.)
   */
  private async persist(meta: TxnMetadata): Promise<void> {
    await this.state.put(meta)
    if (!this.txns.has(meta.transactionalId)) this.txns.set(meta.transactionalId, meta)
  }

  /**
   * Every partition a marker goes to, each once: the transaction's partitions and its groups'
   * __consumer_offsets partitions (an older release's transactions name the groups only).
   */
  private markerTargets(meta: TxnMetadata): TopicPartition[] {
    const all = new Map<string, TopicPartition>()
    for (const tp of [...meta.partitions, ...meta.groups.map((g) => this.offsetsPartition(g))]) all.set(`${tp.topic}\u0000${tp.partition}`, tp)
    return [...all.values()]
  }

  /**
   * Runs one request's state change under the id's lock. If the store refuses a write, the
   * transaction is put back as it was and the request answers Kafka's code for a failed append.
   */
  private changeState<T>(id: string, failed: (code: number) => T, fn: () => Promise<T>): Promise<T> {
    return this.locked(id, async () => {
      const refused = this.refusal(id)
      if (refused !== ErrorCode.NONE) return failed(refused)
      const before = this.txns.get(id)
      const saved = before === undefined ? undefined : structuredClone(before)
      try {
        return await fn()
      } catch (err) {
        if (!isStoreFailure(err)) throw err
        // Put back as it was, unless the id was unloaded (or loaded afresh) meanwhile.
        if (before !== undefined && this.txns.get(id) === before) Object.assign(before, saved)
        this.logger.warn({ err, transactionalId: id }, 'transaction state change not stored')
        return failed(appendFailureCode(err))
      }
    })
  }

  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(id) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => {})
    this.chains.set(id, tail)
    void tail.then(() => {
      if (this.chains.get(id) === tail) this.chains.delete(id)
    })
    return run
  }
}

function initError(errorCode: number): InitProducerIdResult {
  return { errorCode, producerId: -1, producerEpoch: -1 }
}
