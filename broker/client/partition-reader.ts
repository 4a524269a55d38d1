// Reads partitions directly, the way kcat or kafka-console-consumer with explicit partitions do:
// no consumer group, so no JoinGroup, no rebalance delay and nothing left on the broker.
//
// Metadata finds each partition's leader; ListOffsets resolves start positions; each poll keeps
// one sessionless Fetch (session id 0, epoch -1) in flight per leader and returns whatever the
// first leaders to answer delivered. Fetch is capped at v12, the last version that names topics
// rather than carrying topic ids. A leader's next Fetch is only sent from the next poll, so a
// slow caller applies backpressure instead of buffering responses without bound.
//
// Under read_committed the broker returns records up to the last stable offset plus the list of
// aborted transactions in range; completed-fetch.ts drops the batches of aborted transactions.

import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCode } from '../../protocol/errors.js'
import { ListOffsetsApi } from '../../protocol/generated/list-offsets.js'
import { FetchApi, type FetchResponse, type FetchResponsePartitionData } from '../../protocol/generated/fetch.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { collectFetchedRecords, type ConsumedRecord } from './completed-fetch.js'
import { Cluster } from './cluster.js'
import type { NodeSession } from './node-session.js'
import type { ClientSecurity } from './connection.js'
import { BrokerConnectionError, BrokerUnreachableError, KafkaProtocolError, UnsupportedApiError } from './errors.js'

/** A start position: the log start, the log end, or the first record at or after a timestamp. */
export type OffsetSpec = 'earliest' | 'latest' | { timestamp: number }

export const IsolationLevel = { ReadUncommitted: 0, ReadCommitted: 1 } as const
export type IsolationLevel = (typeof IsolationLevel)[keyof typeof IsolationLevel]

export interface OffsetReset {
  topic: string
  partition: number
  /** The offset the broker refused. */
  from: number
  to: number
}

export interface PartitionReaderOptions {
  /** TLS and SASL (Kafka's security.protocol); plain TCP without. */
  security?: ClientSecurity
  /** `host:port` addresses tried in order until one answers. */
  bootstrap: readonly string[]
  clientId?: string
  /** Bounds connecting and each request; default 30 s. */
  timeoutMs?: number
  /** How long the broker may hold a Fetch waiting for data; default 500 ms. */
  maxWaitMs?: number
  /** Default 1 MiB, Kafka's max.partition.fetch.bytes. */
  partitionMaxBytes?: number
  /** Default 50 MiB, Kafka's fetch.max.bytes. */
  maxBytes?: number
  /** Default read_committed, as kafkajs and librdkafka consumers. */
  isolationLevel?: IsolationLevel
  /** Where a partition restarts when its position is out of range; default latest. */
  offsetReset?: 'earliest' | 'latest'
  /** Called after a partition was moved because its position was out of range. */
  onReset?: (reset: OffsetReset) => void
  /** Consecutive leader or connection failures tolerated per partition before giving up; default 8. */
  retries?: number
}

/** Fetch v13 replaced topic names by topic ids. */
const MAX_FETCH_VERSION = 12
/** Fetch v4 is the first to carry the isolation level and the last stable offset. */
const MIN_FETCH_VERSION = 4
const EARLIEST_TIMESTAMP = -2
const LATEST_TIMESTAMP = -1
const RETRY_BACKOFF_MS = 100
const MAX_RETRY_BACKOFF_MS = 1000

/** Errors that mean the metadata we routed by is stale; Kafka's consumer refreshes and retries. */
const STALE_METADATA = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.REPLICA_NOT_AVAILABLE,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.OFFSET_NOT_AVAILABLE,
])

interface Assignment {
  topic: string
  partition: number
  /** Next offset to hand out. */
  position: number
  /** -1 until metadata names one. */
  leader: number
  failures: number
  /** Not fetched before this time (ms since epoch) after a failure. */
  retryAt: number
}

interface InFlight {
  leader: number
  /** The position each partition was fetched at, to discard answers overtaken by a seek. */
  requested: Map<Assignment, number>
  done: boolean
  response: FetchResponse | null
  error: unknown
  promise: Promise<void>
}

const CLIENT_SOFTWARE = { clientSoftwareName: 'samsa-reader', clientSoftwareVersion: '0.1.0' }

/** The request timeout of a reader's connections: a Fetch may legitimately take maxWaitMs. */
export function fetchRequestTimeout(opts: Pick<PartitionReaderOptions, 'timeoutMs' | 'maxWaitMs'>): number {
  return (opts.timeoutMs ?? 30_000) + (opts.maxWaitMs ?? 500)
}

export class PartitionReader {
  readonly cluster: Cluster
  private readonly requestTimeoutMs: number
  private readonly maxWaitMs: number
  private readonly partitionMaxBytes: number
  private readonly maxBytes: number
  private readonly isolationLevel: IsolationLevel
  private readonly retries: number
  private readonly assigned = new Map<string, Map<number, Assignment>>()
  private readonly inFlight = new Map<number, InFlight>()
  private metadataStale = true
  private closed = false

  /** `cluster` is shared with a consumer that owns it; without one the reader opens its own. */
  constructor(
    private readonly opts: PartitionReaderOptions,
    cluster?: Cluster,
  ) {
    const timeoutMs = opts.timeoutMs ?? 30_000
    this.maxWaitMs = opts.maxWaitMs ?? 500
    this.partitionMaxBytes = opts.partitionMaxBytes ?? 1 << 20
    this.maxBytes = opts.maxBytes ?? 50 << 20
    this.isolationLevel = opts.isolationLevel ?? IsolationLevel.ReadCommitted
    this.retries = opts.retries ?? 8
    this.requestTimeoutMs = fetchRequestTimeout(opts)
    this.cluster =
      cluster ??
      new Cluster(
        { bootstrap: opts.bootstrap, clientId: opts.clientId ?? 'samsa-reader', timeoutMs: this.requestTimeoutMs, connectTimeoutMs: Math.min(timeoutMs, 10_000), security: opts.security },
        CLIENT_SOFTWARE,
      )
  }

  /** Connects to the first reachable bootstrap broker. */
  async connect(): Promise<void> {
    await this.bootstrap()
  }

  /** Closes every connection; an in-flight poll resolves with what it has. */
  async close(): Promise<void> {
    this.closed = true
    await this.cluster.close()
  }

  /** The topic's partition ids in order. Throws KafkaProtocolError UNKNOWN_TOPIC_OR_PARTITION. */
  async partitions(topic: string): Promise<number[]> {
    const meta = await this.metadata([topic])
    const t = meta.get(topic)
    if (t === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `metadata for topic '${topic}'`)
    return [...t.keys()].sort((a, b) => a - b)
  }

  /**
   * Offsets per partition, asking each partition's leader. A timestamp past the last record
   * resolves to the log end, where a reader starting there waits for new records.
   */
  async listOffsets(topic: string, partitions: readonly number[], spec: OffsetSpec): Promise<Map<number, number>> {
    const timestamp = spec === 'earliest' ? EARLIEST_TIMESTAMP : spec === 'latest' ? LATEST_TIMESTAMP : spec.timestamp
    const out = new Map<number, number>()
    for (let attempt = 0; ; attempt++) {
      const leaders = (await this.metadata([topic])).get(topic)
      if (leaders === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `listing offsets of '${topic}'`)
      const byLeader = new Map<number, number[]>()
      let retriable: number | null = null
      for (const p of partitions) {
        if (out.has(p)) continue
        const leader = leaders.get(p)
        if (leader === undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `listing offsets of '${topic}' partition ${p}`)
        if (leader < 0) retriable = ErrorCode.LEADER_NOT_AVAILABLE
        else byLeader.set(leader, [...(byLeader.get(leader) ?? []), p])
      }
      await Promise.all(
        [...byLeader].map(async ([leader, ps]) => {
          const session = await this.node(leader)
          const version = session.version(ListOffsetsApi)
          const res = await session.connection.request(ListOffsetsApi, version, {
            replicaId: -1,
            isolationLevel: this.isolationLevel,
            timeoutMs: this.requestTimeoutMs,
            topics: [{ name: topic, partitions: ps.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
          })
          for (const t of res.topics) {
            for (const p of t.partitions) {
              if (p.errorCode === ErrorCode.NONE) {
                out.set(p.partitionIndex, version === 0 ? (p.oldStyleOffsets[0] ?? -1) : p.offset)
              } else if (STALE_METADATA.has(p.errorCode) && p.errorCode !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) {
                retriable = p.errorCode
              } else {
                throw new KafkaProtocolError(p.errorCode, `listing offsets of '${topic}' partition ${p.partitionIndex}`)
              }
            }
          }
        }),
      )
      if (retriable === null) break
      if (attempt >= this.retries) throw new KafkaProtocolError(retriable, `listing offsets of '${topic}'`)
      await sleep(backoff(attempt))
    }
    // No record at or after the timestamp: start at the end and wait for new ones.
    const past = partitions.filter((p) => out.get(p)! < 0)
    if (past.length > 0) for (const [p, end] of await this.listOffsets(topic, past, 'latest')) out.set(p, end)
    return out
  }

  /**
   * Reads these partitions of `topic` from the given positions, replacing any earlier position
   * of the same partitions.
   */
  assign(topic: string, positions: ReadonlyMap<number, number>): void {
    let byPartition = this.assigned.get(topic)
    if (byPartition === undefined) this.assigned.set(topic, (byPartition = new Map()))
    for (const [partition, position] of positions) {
      const a = byPartition.get(partition)
      if (a === undefined) byPartition.set(partition, { topic, partition, position, leader: -1, failures: 0, retryAt: 0 })
      else a.position = position
    }
    this.metadataStale = true
  }

  /** Stops reading a partition; records of it already in flight are dropped. */
  unassign(topic: string, partition: number): void {
    const byPartition = this.assigned.get(topic)
    byPartition?.delete(partition)
    if (byPartition?.size === 0) this.assigned.delete(topic)
  }

  /** How many partitions are assigned. */
  assignedCount(): number {
    let n = 0
    for (const byPartition of this.assigned.values()) n += byPartition.size
    return n
  }

  /** The next offset to be returned, or undefined when the partition is not assigned. */
  position(topic: string, partition: number): number | undefined {
    return this.assigned.get(topic)?.get(partition)?.position
  }

  /**
   * Records that arrived since the last poll, in offset order per partition. Resolves with an
   * empty array when the brokers had nothing within maxWaitMs, or when nothing is assigned.
   */
  async poll(): Promise<ConsumedRecord[]> {
    try {
      return await this.pollOnce()
    } catch (err) {
      // Closing mid-poll fails its requests; that is a stop, not an error.
      if (this.closed) return []
      throw err
    }
  }

  private async pollOnce(): Promise<ConsumedRecord[]> {
    if (this.closed) return []
    const all: Assignment[] = []
    for (const byPartition of this.assigned.values()) for (const a of byPartition.values()) all.push(a)
    if (all.length === 0) return []
    let now = Date.now()
    if (this.metadataStale && all.some((a) => a.retryAt <= now)) {
      await this.refreshLeaders(now)
      now = Date.now()
    }
    const busy = new Set<Assignment>()
    for (const f of this.inFlight.values()) for (const a of f.requested.keys()) busy.add(a)
    const ready = new Map<number, Assignment[]>()
    let nextRetry = now + this.maxWaitMs
    for (const a of all) {
      if (busy.has(a) || this.inFlight.has(a.leader)) continue
      if (a.retryAt > now || a.leader < 0) {
        nextRetry = Math.min(nextRetry, a.retryAt)
        continue
      }
      const list = ready.get(a.leader)
      if (list === undefined) ready.set(a.leader, [a])
      else list.push(a)
    }
    for (const [leader, list] of ready) this.inFlight.set(leader, this.startFetch(leader, list))
    if (this.inFlight.size === 0) {
      await sleep(Math.max(0, nextRetry - now))
      return []
    }
    await Promise.race([...this.inFlight.values()].map((f) => f.promise))
    const records: ConsumedRecord[] = []
    for (const [leader, f] of this.inFlight) {
      if (!f.done) continue
      this.inFlight.delete(leader)
      await this.complete(f, records)
    }
    return records
  }

  private startFetch(leader: number, list: Assignment[]): InFlight {
    const requested = new Map<Assignment, number>()
    const byTopic = new Map<string, Assignment[]>()
    for (const a of list) {
      requested.set(a, a.position)
      const t = byTopic.get(a.topic)
      if (t === undefined) byTopic.set(a.topic, [a])
      else t.push(a)
    }
    const f: InFlight = { leader, requested, done: false, response: null, error: null, promise: Promise.resolve() }
    f.promise = (async () => {
      try {
        const session = await this.node(leader)
        const version = session.version(FetchApi, MAX_FETCH_VERSION)
        if (version < MIN_FETCH_VERSION) {
          throw new UnsupportedApiError(session.connection.address, FetchApi.apiKey, `the broker at ${session.connection.address} supports Fetch up to v${version} only`)
        }
        f.response = await session.connection.request(FetchApi, version, {
          clusterId: null,
          replicaId: -1,
          replicaState: { replicaId: -1, replicaEpoch: -1 },
          maxWaitMs: this.maxWaitMs,
          minBytes: 1,
          maxBytes: this.maxBytes,
          isolationLevel: this.isolationLevel,
          sessionId: 0,
          sessionEpoch: -1,
          topics: [...byTopic].map(([topic, as]) => ({
            topic,
            topicId: ZERO_UUID,
            partitions: as.map((a) => ({
              partition: a.partition,
              currentLeaderEpoch: -1,
              fetchOffset: a.position,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: this.partitionMaxBytes,
              replicaDirectoryId: ZERO_UUID,
            })),
          })),
          forgottenTopicsData: [],
          rackId: '',
        })
      } catch (err) {
        f.error = err
      } finally {
        f.done = true
      }
    })()
    return f
  }

  private async complete(f: InFlight, records: ConsumedRecord[]): Promise<void> {
    if (f.error !== null) {
      if (this.closed) return
      // A dropped connection or a broker that went away: find the leaders again, bounded.
      if (!(f.error instanceof BrokerConnectionError || f.error instanceof BrokerUnreachableError)) throw f.error
      for (const a of f.requested.keys()) this.fail(a, f.error)
      this.forgetNode(f.leader)
      return
    }
    const res = f.response!
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `Fetch from broker ${f.leader}`)
    const byKey = new Map<string, Assignment>()
    for (const [a, requestedAt] of f.requested) {
      // Unassigned or moved by a seek while the Fetch was out: its answer is stale.
      if (this.assigned.get(a.topic)?.get(a.partition) === a && a.position === requestedAt) byKey.set(`${a.topic}\0${a.partition}`, a)
    }
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const a = byKey.get(`${t.topic}\0${p.partitionIndex}`)
        if (a === undefined) continue
        if (p.errorCode === ErrorCode.NONE) {
          a.failures = 0
          this.readPartition(a, p, records)
        } else if (p.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
          await this.reset(a)
        } else if (STALE_METADATA.has(p.errorCode)) {
          this.fail(a, new KafkaProtocolError(p.errorCode, `fetching '${a.topic}' partition ${a.partition}`))
        } else {
          throw new KafkaProtocolError(p.errorCode, `fetching '${a.topic}' partition ${a.partition}`)
        }
      }
    }
  }

  private readPartition(a: Assignment, p: FetchResponsePartitionData, out: ConsumedRecord[]): void {
    collectFetchedRecords(a, p, this.isolationLevel === IsolationLevel.ReadCommitted, out)
  }

  private async reset(a: Assignment): Promise<void> {
    const to = this.opts.offsetReset ?? 'latest'
    const from = a.position
    const offsets = await this.listOffsets(a.topic, [a.partition], to)
    const position = offsets.get(a.partition)!
    if (this.assigned.get(a.topic)?.get(a.partition) !== a || a.position !== from) return
    a.position = position
    this.opts.onReset?.({ topic: a.topic, partition: a.partition, from, to: position })
  }

  private fail(a: Assignment, err: unknown): void {
    a.failures++
    if (a.failures > this.retries) throw err
    a.retryAt = Date.now() + backoff(a.failures - 1)
    a.leader = -1
    this.metadataStale = true
  }

  /** Routes every assignment by fresh metadata; a due partition without a leader counts a failure. */
  private async refreshLeaders(now: number): Promise<void> {
    const meta = await this.metadata([...this.assigned.keys()])
    let missing = false
    for (const [topic, byPartition] of this.assigned) {
      const leaders = meta.get(topic)
      for (const a of byPartition.values()) {
        // Absent: the topic was deleted, or this broker does not know it yet.
        a.leader = leaders?.get(a.partition) ?? -1
        if (a.leader >= 0) continue
        missing = true
        if (a.retryAt <= now) this.fail(a, new KafkaProtocolError(leaders === undefined ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.LEADER_NOT_AVAILABLE, `fetching '${topic}' partition ${a.partition}`))
      }
    }
    this.metadataStale = missing
  }

  /** Leader per partition (-1 where none is known), for the named topics that exist. */
  private async metadata(topics: readonly string[]): Promise<Map<string, Map<number, number>>> {
    const meta = await this.cluster.fetchMetadata(topics)
    const out = new Map<string, Map<number, number>>()
    for (const t of meta.topics) {
      if (t.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION || t.name === '') continue
      if (t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.LEADER_NOT_AVAILABLE) {
        throw new KafkaProtocolError(t.errorCode, `metadata for topic '${t.name}'`)
      }
      out.set(t.name, new Map(t.partitions.map((p) => [p.partition, p.errorCode === ErrorCode.NONE ? p.leader : -1])))
    }
    return out
  }

  private bootstrap(): Promise<NodeSession> {
    return this.cluster.bootstrap()
  }

  /** A leader missing from the broker list is treated as unreachable: retried after fresh metadata. */
  private async node(nodeId: number): Promise<NodeSession> {
    try {
      return await this.cluster.node(nodeId)
    } catch (err) {
      if (err instanceof KafkaProtocolError && err.code === ErrorCode.BROKER_NOT_AVAILABLE) throw new BrokerUnreachableError(`node ${nodeId}`, undefined)
      throw err
    }
  }

  private forgetNode(nodeId: number): void {
    this.cluster.dropNode(nodeId)
  }
}

function backoff(attempt: number): number {
  return Math.min(MAX_RETRY_BACKOFF_MS, RETRY_BACKOFF_MS * 2 ** attempt)
}
