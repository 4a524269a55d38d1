// What a client knows about the cluster: the connections (one per broker, through NodePool), the
// brokers and partition leaders from the last Metadata response, and the coordinators found with
// FindCoordinator. The producer, the admin client and the readers share this routing, the way
// Kafka's clients share a Metadata object and a NetworkClient.

import { ErrorCode } from '../../protocol/errors.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { NodePool } from './node-pool.js'
import type { ClientSecurity } from './connection.js'
import type { NodeSession, ClientSoftware } from './node-session.js'
import { BrokerConnectionError, KafkaProtocolError, UnsupportedApiError } from './errors.js'

export interface ClientOptions {
  /** `host:port` addresses tried in order until one answers. */
  bootstrap: readonly string[]
  clientId?: string
  /** Bounds both connecting and each request; default 30 s. */
  timeoutMs?: number
  /** Connect timeout when it should be shorter than the request timeout; default min(timeoutMs, 10 s). */
  connectTimeoutMs?: number
  /** TLS and SASL (Kafka's security.protocol); plain TCP without. */
  security?: ClientSecurity
}

export interface BrokerNode {
  nodeId: number
  host: string
  port: number
  rack: string | null
}

export interface PartitionMetadata {
  partition: number
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  /** Replicas whose broker is down (cluster mode). */
  offlineReplicas: number[]
  errorCode: number
}

export interface TopicMetadata {
  name: string
  topicId: string
  isInternal: boolean
  /** Kafka error code of the topic (UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE...), 0 when it answered. */
  errorCode: number
  /** Sorted by partition. */
  partitions: PartitionMetadata[]
}

export interface ClusterMetadata {
  brokers: BrokerNode[]
  controllerId: number
  clusterId: string | null
  topics: TopicMetadata[]
}

/** FindCoordinator key types. */
export const CoordinatorType = { Group: 0, Transaction: 1 } as const
export type CoordinatorType = (typeof CoordinatorType)[keyof typeof CoordinatorType]

/** How long a topic's metadata is trusted without an error saying otherwise (Kafka's metadata.max.age.ms). */
const METADATA_MAX_AGE_MS = 5 * 60_000

const CLIENT_SOFTWARE: ClientSoftware = { clientSoftwareName: 'samsa-client', clientSoftwareVersion: '0.1.0' }

export class Cluster {
  readonly pool: NodePool
  readonly clientId: string
  readonly timeoutMs: number
  readonly security: ClientSecurity | undefined
  private nodes = new Map<number, string>()
  private readonly topics = new Map<string, { meta: TopicMetadata; fetchedAt: number }>()
  private readonly coordinators = new Map<string, number>()

  constructor(opts: ClientOptions, software: ClientSoftware = CLIENT_SOFTWARE) {
    this.timeoutMs = opts.timeoutMs ?? 30_000
    this.security = opts.security
    this.clientId = opts.clientId ?? software.clientSoftwareName
    this.pool = new NodePool(
      opts.bootstrap,
      { clientId: this.clientId, requestTimeoutMs: this.timeoutMs, connectTimeoutMs: opts.connectTimeoutMs ?? Math.min(this.timeoutMs, 10_000), security: opts.security },
      software,
    )
  }

  bootstrap(): Promise<NodeSession> {
    return this.pool.bootstrap()
  }

  close(): Promise<void> {
    return this.pool.close()
  }

  /**
   * Metadata of `topics` (null: every topic), each topic with its own error code. Remembers the
   * brokers and the topics that answered, for leader routing.
   */
  async fetchMetadata(topics: readonly string[] | null, allowAutoTopicCreation = false): Promise<ClusterMetadata> {
    try {
      return await this.fetchMetadataOnce(topics, allowAutoTopicCreation)
    } catch (err) {
      if (!(err instanceof BrokerConnectionError)) throw err
      // The broker asked went away: ask the next bootstrap broker that answers (or report the first failure).
      return this.fetchMetadataOnce(topics, allowAutoTopicCreation).catch(() => Promise.reject(err))
    }
  }

  private async fetchMetadataOnce(topics: readonly string[] | null, allowAutoTopicCreation: boolean): Promise<ClusterMetadata> {
    const session = await this.bootstrap()
    const version = session.version(MetadataApi)
    const res = await session.send(
      MetadataApi,
      {
        // Metadata v0 has no "all topics" null; an empty list means all there.
        topics: topics === null ? (version === 0 ? [] : null) : topics.map((name) => ({ topicId: ZERO_UUID, name })),
        allowAutoTopicCreation,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      },
      version,
    ).catch((err: unknown) => {
      if (err instanceof BrokerConnectionError) this.pool.drop(session.address)
      throw err
    })
    this.nodes = new Map(res.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]))
    const out: ClusterMetadata = {
      brokers: res.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
      controllerId: res.controllerId,
      clusterId: res.clusterId,
      topics: res.topics.map((t) => ({
        name: t.name ?? '',
        topicId: t.topicId,
        isInternal: t.isInternal,
        errorCode: t.errorCode,
        partitions: t.partitions
          .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, leaderEpoch: p.leaderEpoch, replicas: p.replicaNodes, isr: p.isrNodes, offlineReplicas: p.offlineReplicas, errorCode: p.errorCode }))
          .sort((a, b) => a.partition - b.partition),
      })),
    }
    const now = Date.now()
    for (const t of out.topics) {
      if (t.errorCode === ErrorCode.NONE) this.topics.set(t.name, { meta: t, fetchedAt: now })
      else this.topics.delete(t.name)
    }
    return out
  }

  /** Like fetchMetadata, but a topic that answered with an error throws. */
  async metadata(topics: readonly string[] | null): Promise<ClusterMetadata> {
    const meta = await this.fetchMetadata(topics)
    for (const t of meta.topics) {
      if (t.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(t.errorCode, `metadata for topic '${t.name}'`)
    }
    return meta
  }

  /** The topic's metadata from the last refresh, or a fresh one when none is known or it is old. */
  async topic(name: string, allowAutoTopicCreation = false): Promise<TopicMetadata> {
    const known = this.topics.get(name)
    if (known !== undefined && Date.now() - known.fetchedAt < METADATA_MAX_AGE_MS) return known.meta
    const t = (await this.fetchMetadata([name], allowAutoTopicCreation)).topics.find((x) => x.name === name)
    if (t === undefined || t.errorCode !== ErrorCode.NONE) {
      throw new KafkaProtocolError(t?.errorCode ?? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `metadata for topic '${name}'`)
    }
    return t
  }

  /** The topic's metadata from the last refresh, without asking. */
  known(name: string): TopicMetadata | undefined {
    return this.topics.get(name)?.meta
  }

  /** Forgets what is known of `topic`, so the next routing asks for fresh metadata (after NOT_LEADER_OR_FOLLOWER). */
  invalidate(topic: string): void {
    this.topics.delete(topic)
  }

  /** The session of broker `nodeId`, refreshing metadata once if the broker is not known. */
  async node(nodeId: number): Promise<NodeSession> {
    return this.pool.session(await this.address(nodeId))
  }

  /** The `host:port` of broker `nodeId`, refreshing metadata once if the broker is not known. */
  async address(nodeId: number): Promise<string> {
    if (!this.nodes.has(nodeId)) await this.fetchMetadata([])
    const address = this.nodes.get(nodeId)
    if (address === undefined) throw new KafkaProtocolError(ErrorCode.BROKER_NOT_AVAILABLE, `broker ${nodeId} is not in the cluster metadata`)
    return address
  }

  /** Closes the connection to a broker that failed, so the next use reconnects. */
  dropNode(nodeId: number): void {
    const address = this.nodes.get(nodeId)
    if (address !== undefined) this.pool.drop(address)
  }

  /** Every broker of the cluster, from fresh metadata. */
  async brokers(): Promise<BrokerNode[]> {
    return (await this.fetchMetadata([])).brokers
  }

  /** The node coordinating each key (groups or transactional ids), remembered until forgotten. */
  async findCoordinators(type: CoordinatorType, keys: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>()
    const unique = [...new Set(keys)].filter((k) => {
      const known = this.coordinators.get(`${type}:${k}`)
      if (known !== undefined) found.set(k, known)
      return known === undefined
    })
    if (unique.length === 0) return found
    const what = type === CoordinatorType.Group ? 'group' : 'transaction'
    const session = await this.bootstrap()
    const version = session.version(FindCoordinatorApi)
    const remember = (key: string, errorCode: number, errorMessage: string | null, nodeId: number, host: string, port: number) => {
      if (errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(errorCode, `finding the ${what} coordinator for '${key}'`, errorMessage)
      found.set(key, nodeId)
      this.coordinators.set(`${type}:${key}`, nodeId)
      if (!this.nodes.has(nodeId)) this.nodes.set(nodeId, `${host}:${port}`)
    }
    if (version >= 4) {
      const res = await session.send(FindCoordinatorApi, { key: '', keyType: type, coordinatorKeys: unique }, version)
      for (const c of res.coordinators) remember(c.key, c.errorCode, c.errorMessage, c.nodeId, c.host, c.port)
      for (const k of unique) if (!found.has(k)) throw new KafkaProtocolError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `finding the ${what} coordinator for '${k}'`)
    } else {
      if (type !== CoordinatorType.Group && version < 1) {
        throw new UnsupportedApiError(session.address, FindCoordinatorApi.apiKey, `the broker at ${session.address} cannot look up transaction coordinators (FindCoordinator v1)`)
      }
      for (const k of unique) {
        const res = await session.send(FindCoordinatorApi, { key: k, keyType: type, coordinatorKeys: [] }, version)
        remember(k, res.errorCode, res.errorMessage, res.nodeId, res.host, res.port)
      }
    }
    return found
  }

  /** The session of one key's coordinator. */
  async coordinator(type: CoordinatorType, key: string): Promise<NodeSession> {
    const nodeId = (await this.findCoordinators(type, [key])).get(key)!
    return this.node(nodeId)
  }

  /** Forgets a coordinator that answered NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE. */
  forgetCoordinator(type: CoordinatorType, key: string): void {
    this.coordinators.delete(`${type}:${key}`)
  }
}

/** Groups `items` by the key `keyOf` gives, keeping their order within each group. */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>()
  for (const item of items) {
    const k = keyOf(item)
    const list = out.get(k)
    if (list === undefined) out.set(k, [item])
    else list.push(item)
  }
  return out
}
