// The producer: records are partitioned (partitioner.ts), appended to per-partition batches that
// are sealed when full (batchSize bytes) or after lingerMs, and sent to each partition's leader,
// one batch per partition per Produce request and up to maxInFlight batches per partition.
//
// acks 0 writes without waiting for an answer; 1 waits for the leader; -1 (all) for the in-sync
// replicas. Compression is protocol/compression.ts through the batch encoder. Idempotence (the
// default with acks=all, as in Kafka 3.0+) gets a producer id and epoch from InitProducerId and
// numbers each partition's batches; a batch that fails with a retriable error is resent with the
// same bytes before any later batch of its partition (one at a time until the retried batches
// are through), so retries neither duplicate nor reorder records. A leader error
// (NOT_LEADER_OR_FOLLOWER and its kin) drops the topic's metadata, so the retry goes to the new
// leader.

import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCode } from '../../protocol/errors.js'
import { Codec } from '../../protocol/compression.js'
import type { RecordInput } from '../../protocol/record-batch-builder.js'
import { ProduceApi, type ProduceRequest } from '../../protocol/generated/produce.js'
import { InitProducerIdApi } from '../../protocol/generated/init-producer-id.js'
import { Cluster, groupBy, type ClientOptions, type TopicMetadata } from './cluster.js'
import { BrokerConnectionError, BrokerUnreachableError, KafkaProtocolError, UnsupportedApiError } from './errors.js'
import { DefaultPartitioner } from './partitioner.js'
import { estimateRecordSize, PartitionQueue, ProducerBatch, SendCall, type SentBatch } from './producer-batch.js'

export { Codec } from '../../protocol/compression.js'
export type { SentBatch } from './producer-batch.js'

export interface ProducerOptions extends ClientOptions {
  /** 0, 1 or -1 (all); default -1. */
  acks?: number
  /** Codec.None (default), Gzip, Snappy, Lz4 or Zstd. */
  compression?: number
  /** How long a batch may wait for more records; default 5 ms (Kafka 4.0's linger.ms). */
  lingerMs?: number
  /** Uncompressed bytes at which a batch is sealed; default 16 KiB (batch.size). */
  batchSize?: number
  /** Default true with acks=-1, as in Kafka 3.0+; impossible with acks=0. */
  idempotent?: boolean
  /** Batches in flight per partition; default 5 (max.in.flight.requests.per.connection). */
  maxInFlight?: number
  /** Attempts after the first for a retriable failure; default 5. */
  retries?: number
  /** Let the broker create a topic on first use (its auto.create.topics.enable decides); default true. */
  allowAutoTopicCreation?: boolean
}

export interface ProducerRecord extends RecordInput {
  /** Default: the partitioner's choice. */
  partition?: number
}

/** Produce versions that carry v2 record batches; v11 is the last before topic ids. */
const MIN_PRODUCE_VERSION = 3
const MAX_PRODUCE_VERSION = 11
const RETRY_BACKOFF_MS = 100
const MAX_RETRY_BACKOFF_MS = 1000
const MAX_REQUEST_BYTES = 1024 * 1024

const RETRIABLE = new Set<number>([
  ErrorCode.CORRUPT_MESSAGE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
])
const STALE_METADATA = new Set<number>([
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
])

const CLIENT_SOFTWARE = { clientSoftwareName: 'samsa-producer', clientSoftwareVersion: '0.1.0' }

export class Producer {
  readonly cluster: Cluster
  private readonly acks: number
  private readonly compression: number
  private readonly lingerMs: number
  private readonly batchSize: number
  private readonly idempotent: boolean
  private readonly maxInFlight: number
  private readonly retries: number
  private readonly autoCreate: boolean
  private readonly partitioner = new DefaultPartitioner()
  private readonly queues = new Map<string, PartitionQueue[]>()
  private producerId = -1
  private producerEpoch = -1
  private nextBatchId = 0
  private lingerTimer: NodeJS.Timeout | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private flushing = 0
  private idleWaiters: (() => void)[] = []
  private refreshing = new Map<string, Promise<void>>()
  private closed = false

  constructor(opts: ProducerOptions) {
    this.cluster = new Cluster(opts, CLIENT_SOFTWARE)
    this.acks = opts.acks ?? -1
    this.compression = opts.compression ?? Codec.None
    this.lingerMs = opts.lingerMs ?? 5
    this.batchSize = opts.batchSize ?? 16 * 1024
    this.idempotent = this.acks !== 0 && (opts.idempotent ?? this.acks === -1)
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 5)
    this.retries = opts.retries ?? 5
    this.autoCreate = opts.allowAutoTopicCreation ?? true
  }

  /** Connects to the bootstrap broker and, when idempotent, gets a producer id (InitProducerId). */
  async connect(): Promise<void> {
    const session = await this.cluster.bootstrap()
    if (!this.idempotent || this.producerId >= 0) return
    const res = await session.send(InitProducerIdApi, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 })
    if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, 'InitProducerId')
    this.producerId = res.producerId
    this.producerEpoch = res.producerEpoch
  }

  /** The producer id and epoch batches carry (-1 without idempotence). */
  get identity(): { producerId: number; producerEpoch: number } {
    return { producerId: this.producerId, producerEpoch: this.producerEpoch }
  }

  /**
   * Appends `records` to their partitions' batches and resolves, once every batch holding them
   * is acknowledged, with one entry per batch part (partition, base offset, count).
   */
  async send(topic: string, records: readonly ProducerRecord[]): Promise<SentBatch[]> {
    if (this.closed) throw new Error('the producer is closed')
    if (this.idempotent && this.producerId < 0) await this.connect()
    let meta = await this.topicMetadata(topic)
    const bad = (m: TopicMetadata) => records.find((r) => r.partition !== undefined && (r.partition < 0 || r.partition >= m.partitions.length))
    if (bad(meta) !== undefined) {
      // Partitions may have been added since the metadata was fetched.
      this.cluster.invalidate(topic)
      meta = await this.topicMetadata(topic)
      const r = bad(meta)
      if (r !== undefined) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `producing to '${topic}' partition ${r.partition}`)
    }
    const queues = this.queuesOf(topic, meta)
    const call = new SendCall()
    for (const r of records) {
      const partition = r.partition ?? this.partitioner.partition(topic, r.key, meta.partitions)
      const q = queues[partition]!
      const size = estimateRecordSize(r)
      if (q.open !== null && q.open.bytes + size > this.batchSize) this.seal(q)
      q.open ??= new ProducerBatch(topic, partition, this.nextBatchId++)
      q.open.append(r, size, call)
      if (q.open.bytes >= this.batchSize) this.seal(q)
    }
    call.sealed()
    if (this.lingerMs === 0) this.sealAll()
    else this.lingerTimer ??= setTimeout(() => {
      this.lingerTimer = null
      this.sealAll()
    }, this.lingerMs)
    this.drain()
    return call.promise
  }

  /** Seals every open batch and resolves once nothing is queued or in flight. */
  async flush(): Promise<void> {
    this.sealAll()
    if (this.idle()) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  async close(): Promise<void> {
    if (!this.closed) await this.flush().catch(() => {})
    this.closed = true
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer)
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
    await this.cluster.close()
  }

  private async topicMetadata(topic: string): Promise<TopicMetadata> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.cluster.topic(topic, this.autoCreate)
      } catch (err) {
        // A topic being created has no leader yet.
        const retriable = err instanceof KafkaProtocolError && (err.code === ErrorCode.LEADER_NOT_AVAILABLE || (this.autoCreate && err.code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && attempt === 0))
        if (!retriable || attempt >= this.retries) throw err
        await sleep(Math.min(RETRY_BACKOFF_MS << attempt, MAX_RETRY_BACKOFF_MS))
      }
    }
  }

  private queuesOf(topic: string, meta: TopicMetadata): PartitionQueue[] {
    let queues = this.queues.get(topic)
    if (queues === undefined) {
      queues = []
      this.queues.set(topic, queues)
    }
    while (queues.length < meta.partitions.length) queues.push(new PartitionQueue(topic, queues.length))
    for (const p of meta.partitions) if (p.partition < queues.length) queues[p.partition]!.leader = p.leader
    return queues
  }

  private seal(q: PartitionQueue): void {
    const batch = q.open
    if (batch === null) return
    q.open = null
    const baseSequence = this.idempotent ? q.nextSequence : -1
    // Sequences wrap from 2^31 - 1 to 0, as in Kafka.
    if (this.idempotent) q.nextSequence = (q.nextSequence + batch.records.length) % 0x80000000
    try {
      batch.seal({ compression: this.compression, producerId: this.producerId, producerEpoch: this.producerEpoch, baseSequence })
    } catch (err) {
      batch.fail(err)
      return
    }
    q.ready.push(batch)
    const meta = this.cluster.known(q.topic)
    if (meta !== undefined) this.partitioner.batchSealed(q.topic, q.partition, meta.partitions)
  }

  private sealAll(): void {
    for (const queues of this.queues.values()) for (const q of queues) if (q.open !== null) this.seal(q)
    this.drain()
  }

  /** Sends what may be sent: per leader, one request with the next batch of each partition that has room in flight. */
  private drain(): void {
    const now = Date.now()
    let nextRetry = Infinity
    const byLeader = new Map<number, ProducerBatch[]>()
    for (const [topic, queues] of this.queues) {
      if (this.refreshing.has(topic)) continue
      for (const q of queues) {
        const batch = q.ready[0]
        if (batch === undefined || q.inFlight >= (q.retrying ? 1 : this.maxInFlight)) continue
        if (batch.retryAt > now) {
          nextRetry = Math.min(nextRetry, batch.retryAt)
          continue
        }
        if (q.leader < 0) {
          this.refresh(topic)
          break
        }
        const list = byLeader.get(q.leader)
        if (list === undefined) byLeader.set(q.leader, [batch])
        else list.push(batch)
      }
    }
    for (const [leader, batches] of byLeader) {
      let bytes = 0
      let request: ProducerBatch[] = []
      for (const b of batches) {
        if (request.length > 0 && bytes + b.encoded!.length > MAX_REQUEST_BYTES) {
          this.sendRequest(leader, request)
          request = []
          bytes = 0
        }
        request.push(b)
        bytes += b.encoded!.length
      }
      if (request.length > 0) this.sendRequest(leader, request)
    }
    if (nextRetry !== Infinity && this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null
        this.drain()
      }, Math.max(0, nextRetry - now))
    }
    if (this.idle()) for (const w of this.idleWaiters.splice(0)) w()
  }

  private idle(): boolean {
    for (const queues of this.queues.values()) for (const q of queues) if (q.open !== null || q.ready.length > 0 || q.inFlight > 0) return false
    return true
  }

  private sendRequest(leader: number, batches: ProducerBatch[]): void {
    const queues = batches.map((b) => this.queues.get(b.topic)![b.partition]!)
    for (let i = 0; i < batches.length; i++) {
      queues[i]!.ready.shift()
      queues[i]!.inFlight++
      batches[i]!.attempts++
    }
    const request: ProduceRequest = {
      transactionalId: null,
      acks: this.acks,
      timeoutMs: this.cluster.timeoutMs,
      topicData: [...groupBy(batches, (b) => b.topic)].map(([name, list]) => ({ name, partitionData: list.map((b) => ({ index: b.partition, records: b.encoded })) })),
    }
    this.produce(leader, request).then(
      (errors) => {
        for (let i = 0; i < batches.length; i++) {
          queues[i]!.inFlight--
          const result = errors.get(`${batches[i]!.topic}/${batches[i]!.partition}`)
          this.settle(queues[i]!, batches[i]!, result?.errorCode ?? ErrorCode.NONE, result?.baseOffset ?? -1, null)
        }
        this.drain()
      },
      (err: unknown) => {
        for (let i = 0; i < batches.length; i++) {
          queues[i]!.inFlight--
          this.settle(queues[i]!, batches[i]!, ErrorCode.NETWORK_EXCEPTION, -1, err)
        }
        this.drain()
      },
    )
  }

  /** Sends one Produce request; resolves with each partition's error code and base offset. */
  private async produce(leader: number, request: ProduceRequest): Promise<Map<string, { errorCode: number; baseOffset: number; errorMessage: string | null }>> {
    const session = await this.cluster.node(leader)
    const version = session.version(ProduceApi, MAX_PRODUCE_VERSION)
    if (version < MIN_PRODUCE_VERSION) {
      throw new UnsupportedApiError(session.address, ProduceApi.apiKey, `the broker at ${session.address} does not take v2 record batches (Produce v3)`)
    }
    const out = new Map<string, { errorCode: number; baseOffset: number; errorMessage: string | null }>()
    if (this.acks === 0) {
      await session.connection.sendOneWay(ProduceApi, version, request)
      return out
    }
    try {
      return await session.connection.requestWith(ProduceApi, version, request, (res) => {
        for (const t of res.responses) for (const p of t.partitionResponses) out.set(`${t.name}/${p.index}`, { errorCode: p.errorCode, baseOffset: p.baseOffset, errorMessage: p.errorMessage })
        return out
      })
    } catch (err) {
      if (err instanceof BrokerConnectionError) this.cluster.pool.drop(session.address)
      throw err
    }
  }

  private settle(q: PartitionQueue, batch: ProducerBatch, errorCode: number, baseOffset: number, cause: unknown): void {
    if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
      batch.complete(errorCode === ErrorCode.NONE && this.acks !== 0 ? baseOffset : -1)
      if (q.retrying && q.inFlight === 0 && !q.ready.some((b) => b.attempts > 0)) q.retrying = false
      return
    }
    const networkFailure = cause !== null
    const fatal = networkFailure && !(cause instanceof BrokerConnectionError || cause instanceof BrokerUnreachableError || cause instanceof KafkaProtocolError)
    if (fatal || !(networkFailure || RETRIABLE.has(errorCode)) || batch.attempts > this.retries) {
      batch.fail(cause ?? new KafkaProtocolError(errorCode, `producing to '${batch.topic}' partition ${batch.partition}`))
      return
    }
    if (STALE_METADATA.has(errorCode) || networkFailure) this.cluster.invalidate(batch.topic)
    batch.retryAt = Date.now() + Math.min(RETRY_BACKOFF_MS << (batch.attempts - 1), MAX_RETRY_BACKOFF_MS)
    q.requeue(batch)
    if (STALE_METADATA.has(errorCode) || networkFailure) this.refresh(batch.topic)
  }

  /** Fetches the topic's metadata again (new leaders), holding its batches until it arrives. */
  private refresh(topic: string): void {
    if (this.refreshing.has(topic)) return
    this.cluster.invalidate(topic)
    const p = this.topicMetadata(topic)
      .then(
        (meta) => {
          this.queuesOf(topic, meta)
        },
        (err: unknown) => {
          // Give up on what was queued for the topic; later sends try again.
          for (const q of this.queues.get(topic) ?? []) for (const b of q.ready.splice(0)) b.fail(err)
        },
      )
      .finally(() => {
        this.refreshing.delete(topic)
        this.drain()
      })
    this.refreshing.set(topic, p)
  }
}
