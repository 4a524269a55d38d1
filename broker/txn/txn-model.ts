// What the transaction coordinator works with (coordinator.ts): a transactional id's state and
// metadata, the ports it writes through (its state log, the partitions that take markers), and its
// settings. Kept apart so the state log, the handlers and the marker writers name these without
// reaching into the coordinator itself.
import type { Logger } from 'pino'
import type { TxnMarkerInput } from '../../storage/partition-log.js'
import type { ProducerIdStore } from './producer-ids.js'

export type TxnState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'Dead'
export const TXN_STATES: readonly TxnState[] = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'Dead']

export interface TopicPartition {
  topic: string
  partition: number
}

export interface TxnMetadata {
  transactionalId: string
  producerId: number
  producerEpoch: number
  timeoutMs: number
  state: TxnState
  partitions: TopicPartition[]
  /** Consumer groups whose offsets the transaction commits (AddOffsetsToTxn). */
  groups: string[]
  /** When the current transaction began (first partition added); -1 outside a transaction. */
  startTimeMs: number
  lastUpdateTimeMs: number
}

/** Where transaction state is kept: __transaction_state (coordinator-state/txn-state.ts). */
export interface TxnStateLog {
  /** NONE when this broker coordinates the id now, else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. */
  refusal(transactionalId: string): number
  /** Resolves once the state is durable; rejects with a KafkaError (NOT_COORDINATOR, ...) or a storage error. */
  put(meta: TxnMetadata): Promise<void>
  remove(transactionalId: string): Promise<void>
}

/** The partitions the coordinator writes markers to. */
export interface MarkerTarget {
  partition(topic: string, index: number): { appendTxnMarker(m: TxnMarkerInput): Promise<unknown> } | undefined
}

/**
 * Writes one transaction's marker to one partition, resolving once it is written (or the partition
 * is gone). Single-broker mode writes into the local log; cluster mode sends it to the partition's
 * leader (cluster-markers.ts) and retries until written.
 */
export interface MarkerWriter {
  /** `live`: false once the transaction is no longer coordinated here; a writer still retrying then gives up. */
  write(tp: TopicPartition, marker: TxnMarkerInput, live?: () => boolean): Promise<void>
  close?(): void
}

export interface TxnCoordinatorConfig {
  transactionMaxTimeoutMs: number
  transactionalIdExpirationMs: number
  /** How often timed-out transactions are looked for (Kafka's cleanup interval). */
  abortTimedOutTransactionsIntervalMs: number
  removeExpiredTransactionalIdsIntervalMs: number
}

export const DEFAULT_TXN_CONFIG: TxnCoordinatorConfig = {
  transactionMaxTimeoutMs: 900_000,
  transactionalIdExpirationMs: 604_800_000,
  abortTimedOutTransactionsIntervalMs: 10_000,
  removeExpiredTransactionalIdsIntervalMs: 3_600_000,
}

export interface TxnCoordinatorOptions {
  state: TxnStateLog
  /** Where blocks of producer ids are reserved (the metadata store). */
  producerIdStore: ProducerIdStore
  logs: MarkerTarget
  /** The group's __consumer_offsets partition, which AddOffsetsToTxn adds to the transaction. */
  offsetsPartition: (groupId: string) => TopicPartition
  logger: Logger
  config?: Partial<TxnCoordinatorConfig>
  now?: () => number
  /** Run the shared timer; tests drive `tick()` themselves. Default true. */
  autoTick?: boolean
  /**
   * Kafka's transaction.partition.verification.enable (KIP-890, read on every produce since it can
   * change at run time). Default: on.
   */
  verifyPartitions?: () => boolean
}

export interface InitProducerIdResult {
  errorCode: number
  producerId: number
  producerEpoch: number
}
