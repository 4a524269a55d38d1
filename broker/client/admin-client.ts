// A small wire-level admin client for the APIs kafkajs does not expose: DescribeProducers,
// ListTransactions, DescribeTransactions and DescribeLogDirs. It works against any
// Kafka-compatible broker, not only Samsa.
//
// Each broker connection starts with ApiVersions; every later request uses the highest version
// both sides speak (our newest stable version, capped by the broker's maximum). Requests are
// routed the way Kafka's own admin client routes them: DescribeProducers to each partition's
// leader (from Metadata), DescribeTransactions to the transaction coordinator of each id
// (FindCoordinator, key type 1), ListTransactions to every broker in the cluster.

import { ErrorCode, errorName } from '../../protocol/errors.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { DescribeProducersApi, type DescribeProducersResponseProducerState } from '../../protocol/generated/describe-producers.js'
import { ListTransactionsApi } from '../../protocol/generated/list-transactions.js'
import { DescribeTransactionsApi } from '../../protocol/generated/describe-transactions.js'
import { DescribeLogDirsApi } from '../../protocol/generated/describe-log-dirs.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { NodePool } from './node-pool.js'
import type { NodeSession } from './node-session.js'
import { KafkaProtocolError, UnsupportedApiError } from './errors.js'

export { pickVersion } from './versions.js'
export { negotiate } from './node-session.js'

export * from './errors.js'
export { parseAddress } from './connection.js'

export interface AdminClientOptions {
  /** `host:port` addresses tried in order until one answers. */
  bootstrap: readonly string[]
  clientId?: string
  /** Bounds both connecting and each request; default 30 s. */
  timeoutMs?: number
  /** Connect timeout when it should be shorter than the request timeout; default min(timeoutMs, 10 s). */
  connectTimeoutMs?: number
}

export interface BrokerNode {
  nodeId: number
  host: string
  port: number
}

export interface PartitionMetadata {
  partition: number
  leader: number
  errorCode: number
}

export interface TopicMetadata {
  name: string
  partitions: PartitionMetadata[]
}

export interface ClusterMetadata {
  brokers: BrokerNode[]
  controllerId: number
  topics: TopicMetadata[]
}

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

export interface LogDirPartition {
  topic: string
  partition: number
  sizeBytes: number
  offsetLag: number
  isFuture: boolean
}

export interface LogDirDescription {
  logDir: string
  error: string | null
  /** -1 when the broker does not report it (before v4). */
  totalBytes: number
  usableBytes: number
  partitions: LogDirPartition[]
}

const CLIENT_SOFTWARE = { clientSoftwareName: 'samsa-admin', clientSoftwareVersion: '0.1.0' }

export class AdminClient {
  private readonly pool: NodePool
  private nodes = new Map<number, string>()

  constructor(private readonly opts: AdminClientOptions) {
    const timeoutMs = opts.timeoutMs ?? 30_000
    this.pool = new NodePool(
      opts.bootstrap,
      {
        clientId: opts.clientId ?? 'samsa-admin',
        requestTimeoutMs: timeoutMs,
        connectTimeoutMs: opts.connectTimeoutMs ?? Math.min(timeoutMs, 10_000),
      },
      CLIENT_SOFTWARE,
    )
  }

  /** Connects to the first reachable bootstrap broker and learns its API versions. */
  async connect(): Promise<void> {
    await this.bootstrap()
  }

  close(): Promise<void> {
    return this.pool.close()
  }

  /** Topic and broker metadata. `topics` null means every topic; unknown topics are not created. */
  async metadata(topics: readonly string[] | null): Promise<ClusterMetadata> {
    const session = await this.bootstrap()
    const version = session.version(MetadataApi)
    const res = await session.send(
      MetadataApi,
      {
        // Metadata v0 has no "all topics" null; an empty list means all there.
        topics: topics === null ? (version === 0 ? [] : null) : topics.map((name) => ({ topicId: ZERO_UUID, name })),
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      },
      version,
    )
    this.nodes = new Map(res.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]))
    return {
      brokers: res.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      controllerId: res.controllerId,
      topics: res.topics.map((t) => {
        if (t.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(t.errorCode, `metadata for topic '${t.name ?? ''}'`)
        return {
          name: t.name ?? '',
          partitions: t.partitions
            .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, errorCode: p.errorCode }))
            .sort((a, b) => a.partition - b.partition),
        }
      }),
    }
  }

  /**
   * Active producers of a topic's partitions (all partitions when `partitions` is omitted),
   * asking each partition's leader. Per-partition failures are reported in `error`.
   */
  async describeProducers(topic: string, partitions?: readonly number[]): Promise<PartitionProducers[]> {
    const meta = (await this.metadata([topic])).topics[0]
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
        const session = await this.node(leader)
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
  async listTransactions(filter: ListTransactionsFilter = {}): Promise<ListTransactionsResult> {
    const meta = await this.metadata([])
    const minDuration = filter.minDurationMs ?? -1
    const seen = new Map<string, ListedTransaction>()
    let unknownStates: Set<string> | null = null
    await Promise.all(
      meta.brokers.map(async (b) => {
        const session = await this.node(b.nodeId)
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
  async describeTransactions(transactionalIds: readonly string[]): Promise<TransactionDescription[]> {
    const coordinators = await this.findTransactionCoordinators(transactionalIds)
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
        const session = await this.node(nodeId)
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

  /**
   * Log directories of one broker (the bootstrap broker when `nodeId` is omitted), limited to
   * `topics` or, with null, every partition it hosts.
   */
  async describeLogDirs(topics: readonly { topic: string; partitions: readonly number[] }[] | null, nodeId?: number): Promise<LogDirDescription[]> {
    const session = nodeId === undefined ? await this.bootstrap() : await this.node(nodeId)
    const version = session.version(DescribeLogDirsApi)
    const res = await session.send(DescribeLogDirsApi, { topics: topics === null ? null : topics.map((t) => ({ topic: t.topic, partitions: [...t.partitions] })) }, version)
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `DescribeLogDirs at ${session.address}`)
    return res.results.map((d) => ({
      logDir: d.logDir,
      error: d.errorCode === ErrorCode.NONE ? null : errorName(d.errorCode),
      totalBytes: d.totalBytes,
      usableBytes: d.usableBytes,
      partitions: d.topics.flatMap((t) =>
        t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, sizeBytes: p.partitionSize, offsetLag: p.offsetLag, isFuture: p.isFutureKey })),
      ),
    }))
  }

  private async findTransactionCoordinators(ids: readonly string[]): Promise<Map<string, number>> {
    const session = await this.bootstrap()
    const version = session.version(FindCoordinatorApi)
    const found = new Map<string, number>()
    const remember = (key: string, errorCode: number, errorMessage: string | null, nodeId: number, host: string, port: number) => {
      if (errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(errorCode, `finding the transaction coordinator for '${key}'`, errorMessage)
      found.set(key, nodeId)
      if (!this.nodes.has(nodeId)) this.nodes.set(nodeId, `${host}:${port}`)
    }
    const unique = [...new Set(ids)]
    if (version >= 4) {
      if (unique.length === 0) return found
      const res = await session.send(FindCoordinatorApi, { key: '', keyType: 1, coordinatorKeys: unique }, version)
      for (const c of res.coordinators) remember(c.key, c.errorCode, c.errorMessage, c.nodeId, c.host, c.port)
      for (const id of unique) if (!found.has(id)) throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `finding the transaction coordinator for '${id}'`)
    } else {
      if (version < 1) throw new UnsupportedApiError(session.address, FindCoordinatorApi.apiKey, `the broker at ${session.address} cannot look up transaction coordinators (FindCoordinator v1)`)
      for (const id of unique) {
        const res = await session.send(FindCoordinatorApi, { key: id, keyType: 1, coordinatorKeys: [] }, version)
        remember(id, res.errorCode, res.errorMessage, res.nodeId, res.host, res.port)
      }
    }
    return found
  }

  private bootstrap(): Promise<NodeSession> {
    return this.pool.bootstrap()
  }

  private async node(nodeId: number): Promise<NodeSession> {
    if (!this.nodes.has(nodeId)) await this.metadata([])
    const address = this.nodes.get(nodeId)
    if (address === undefined) throw new KafkaProtocolError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`)
    return this.session(address)
  }

  private session(address: string): Promise<NodeSession> {
    return this.pool.session(address)
  }
}

/** Connects, runs `fn`, and always closes. */
export async function withAdminClient<T>(opts: AdminClientOptions, fn: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = new AdminClient(opts)
  try {
    await client.connect()
    return await fn(client)
  } finally {
    await client.close()
  }
}
