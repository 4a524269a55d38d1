// Producers and transactions: DescribeProducers at each partition's leader (from Metadata),
// DescribeTransactions at the transaction coordinator of each id (FindCoordinator, key type 1),
// ListTransactions at every broker of the cluster, merged.

import { ErrorCode, errorName } from '../../protocol/errors.js'
import { DescribeProducersApi, type DescribeProducersResponseProducerState } from '../../protocol/generated/describe-producers.js'
import { ListTransactionsApi } from '../../protocol/generated/list-transactions.js'
import { DescribeTransactionsApi } from '../../protocol/generated/describe-transactions.js'
import { CoordinatorType, type Cluster } from './cluster.js'
import { KafkaProtocolError, UnsupportedApiError } from './errors.js'

/** A producer's state on one partition (currentTxnStartOffset -1 when no transaction is open). */
export type ActiveProducer = Omit<DescribeProducersResponseProducerState, 'unknownTaggedFields'>

export interface PartitionProducers {
  topic: string
  partition: number
  /** Kafka error name, or null when the partition answered. */
  error: string | null
  errorMessage: string | null
  producers: ActiveProducer[]
}

export interface ListTransactionsFilter {
  states?: readonly string[]
  producerIds?: readonly number[]
  /** Only transactions running for at least this long (needs ListTransactions v1). */
  minDurationMs?: number
}

export interface ListedTransaction {
  transactionalId: string
  producerId: number
  state: string
  coordinatorId: number
}

export interface ListTransactionsResult {
  transactions: ListedTransaction[]
  /** State filters no broker recognised. */
  unknownStates: string[]
}

export interface TransactionDescription {
  transactionalId: string
  coordinatorId: number
  /** Kafka error name (e.g. TRANSACTIONAL_ID_NOT_FOUND), or null. */
  error: string | null
  state: string
  timeoutMs: number
  /** -1 while no transaction is open. */
  startTimeMs: number
  producerId: number
  producerEpoch: number
  topics: { topic: string; partitions: number[] }[]
}

/**
 * Active producers of a topic's partitions (all partitions when `partitions` is omitted),
 * asking each partition's leader. Per-partition failures are reported in `error`.
 */
export async function describeProducers(cluster: Cluster, topic: string, partitions?: readonly number[]): Promise<PartitionProducers[]> {
  const meta = (await cluster.metadata([topic])).topics[0]
  const known = new Map(meta.partitions.map((p) => [p.partition, p]))
  const wanted = partitions === undefined ? meta.partitions.map((p) => p.partition) : [...new Set(partitions)]
  const results = new Map<number, PartitionProducers>()
  const byLeader = new Map<number, number[]>()
  for (const partition of wanted) {
    const p = known.get(partition)
    if (p === undefined || p.leader < 0) {
      const code = p === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.LEADER_NOT_AVAILABLE
      results.set(partition, { topic, partition, error: errorName(code), errorMessage: null, producers: [] })
      continue
    }
    const list = byLeader.get(p.leader)
    if (list === undefined) byLeader.set(p.leader, [partition])
    else list.push(partition)
  }
  await Promise.all(
    [...byLeader].map(async ([leader, partitionIndexes]) => {
      const session = await cluster.node(leader)
      const res = await session.send(DescribeProducersApi, { topics: [{ name: topic, partitionIndexes }] })
      for (const t of res.topics) {
        for (const p of t.partitions) {
          results.set(p.partitionIndex, {
            topic: t.name,
            partition: p.partitionIndex,
            error: p.errorCode === ErrorCode.NONE ? null : errorName(p.errorCode),
            errorMessage: p.errorMessage,
            // Without the tagged fields, which may be views of the response buffer.
            producers: p.activeProducers.map(({ unknownTaggedFields: _, ...state }) => state),
          })
        }
      }
      for (const partition of partitionIndexes) {
        if (!results.has(partition)) {
          results.set(partition, { topic, partition, error: 'UNKNOWN_SERVER_ERROR', errorMessage: 'partition missing from the response', producers: [] })
        }
      }
    }),
  )
  return wanted.map((p) => results.get(p)!)
}

/** Transactions known to every broker's coordinator, merged. */
export async function listTransactions(cluster: Cluster, filter: ListTransactionsFilter = {}): Promise<ListTransactionsResult> {
  const meta = await cluster.fetchMetadata([])
  const minDuration = filter.minDurationMs ?? -1
  const seen = new Map<string, ListedTransaction>()
  let unknownStates: Set<string> | null = null
  await Promise.all(
    meta.brokers.map(async (b) => {
      const session = await cluster.node(b.nodeId)
      const version = session.version(ListTransactionsApi)
      if (minDuration >= 0 && version < 1) {
        throw new UnsupportedApiError(session.address, ListTransactionsApi.apiKey, `the broker at ${session.address} cannot filter transactions by duration (ListTransactions v1)`)
      }
      const res = await session.send(
        ListTransactionsApi,
        { stateFilters: [...(filter.states ?? [])], producerIdFilters: [...(filter.producerIds ?? [])], durationFilter: minDuration },
        version,
      )
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `ListTransactions at broker ${b.nodeId}`)
      // A state is unknown only if no broker knows it.
      const unknownHere = new Set(res.unknownStateFilters)
      unknownStates = unknownStates === null ? unknownHere : new Set([...unknownStates].filter((s) => unknownHere.has(s)))
      for (const t of res.transactionStates) {
        seen.set(t.transactionalId, { transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, coordinatorId: b.nodeId })
      }
    }),
  )
  return {
    transactions: [...seen.values()].sort((a, b) => a.transactionalId.localeCompare(b.transactionalId)),
    unknownStates: [...((unknownStates as Set<string> | null) ?? [])],
  }
}

/** Each id as its transaction coordinator sees it; unknown ids carry TRANSACTIONAL_ID_NOT_FOUND. */
export async function describeTransactions(cluster: Cluster, transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
  const coordinators = await cluster.findCoordinators(CoordinatorType.Transaction, transactionalIds)
  const byCoordinator = new Map<number, string[]>()
  for (const id of new Set(transactionalIds)) {
    const node = coordinators.get(id)!
    const list = byCoordinator.get(node)
    if (list === undefined) byCoordinator.set(node, [id])
    else list.push(id)
  }
  const out = new Map<string, TransactionDescription>()
  await Promise.all(
    [...byCoordinator].map(async ([nodeId, ids]) => {
      const session = await cluster.node(nodeId)
      const res = await session.send(DescribeTransactionsApi, { transactionalIds: ids })
      for (const t of res.transactionStates) {
        out.set(t.transactionalId, {
          transactionalId: t.transactionalId,
          coordinatorId: nodeId,
          error: t.errorCode === ErrorCode.NONE ? null : errorName(t.errorCode),
          state: t.transactionState,
          timeoutMs: t.transactionTimeoutMs,
          startTimeMs: t.transactionStartTimeMs,
          producerId: t.producerId,
          producerEpoch: t.producerEpoch,
          topics: t.topics.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions].sort((a, b) => a - b) })),
        })
      }
    }),
  )
  return transactionalIds.map(
    (id) =>
      out.get(id) ?? {
        transactionalId: id,
        coordinatorId: coordinators.get(id)!,
        error: 'UNKNOWN_SERVER_ERROR',
        state: '',
        timeoutMs: 0,
        startTimeMs: -1,
        producerId: -1,
        producerEpoch: -1,
        topics: [],
      },
  )
}
