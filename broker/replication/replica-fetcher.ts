// ReplicaFetcher: one connection to one leader broker, replicating every partition this broker
// follows there (Kafka's ReplicaFetcherThread). A partition first truncates (KIP-101/279: an
// OffsetForLeaderEpoch round per step, follower-truncation.ts) so a tail the leader never had is
// cut, then joins the fetch loop: Fetch with the replica id set, from its log end offset, long-polled
// by the leader (replica.fetch.wait.max.ms). What comes back is appended as the leader wrote it
// (PartitionLog.appendAsFollower: offsets, leader epochs, producer state and transaction markers),
// and the follower's high watermark and log start offset follow the leader's.
//
// Fsync policy: followers do not fsync per fetch. Their data reaches the disk as an acks=1
// leader's does (flush.messages / flush.ms, rolled segments, clean shutdown); acks=all durability
// rests on the leader's fsync plus the copies in every in-sync replica, as in Kafka.
//
// Throttled replicas (KIP-73): a partition the topic's follower.replication.throttled.replicas lists
// with this broker has its fetched bytes counted against follower.replication.throttled.rate, and
// while that quota is exceeded it is left out of the fetch unless it has caught up with the
// leader's high watermark (an in-sync replica is never held back); with every partition left out
// the fetcher waits replica.fetch.backoff.ms.
//
// Talks Fetch v12 (topic names) and OffsetForLeaderEpoch v4 to its leader, which is a broker of
// the same cluster. A lost connection backs off for replica.fetch.backoff.ms; a partition the
// leader refuses (a leader or epoch change under way) sits out that long on its own, and stays
// until the metadata side gives it a new role.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { FetchApi, type FetchRequest, type FetchResponse } from '../../protocol/generated/fetch.js'
import { OffsetForLeaderEpochApi } from '../../protocol/generated/offset-for-leader-epoch.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { BrokerConnection, type ClientSecurity } from '../client/connection.js'
import { SaslAuthenticationError } from '../client/errors.js'
import type { BrokerEndpoint } from '../cluster/partition-state.js'
import { epochToAsk, truncationFor } from './follower-truncation.js'
import type { ReplicationQuota } from './replication-quota.js'

const FETCH_VERSION = 12
const EPOCH_VERSION = 4
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

export interface FetcherSettings {
  nodeId: number
  logger: Logger
  security?: ClientSecurity
  /** replica.* settings, read on each use so dynamic changes apply. */
  get(name: 'replica.fetch.wait.max.ms' | 'replica.fetch.min.bytes' | 'replica.fetch.max.bytes' | 'replica.fetch.response.max.bytes' | 'replica.fetch.backoff.ms' | 'replica.socket.timeout.ms'): number
  /** The follower side of replication throttles: which partitions it covers, and its quota. */
  throttle?: { throttles(topic: string, partition: number): boolean; quota: ReplicationQuota }
}

export interface FollowedPartition {
  topic: string
  partition: number
  log: PartitionLog
  /** The leader epoch this broker follows in; sent as currentLeaderEpoch for fencing. */
  leaderEpoch: number
  /** Still to truncate against the leader before fetching. */
  truncating: boolean
  /** Refused by the leader (a leader or epoch change under way): left out of requests until then. */
  delayedUntil?: number
  /** The leader said this broker may not replicate it (ACLs); logged once until it may again. */
  unauthorized?: boolean
  /** The last fetch brought it up to the leader's high watermark (Kafka's isReplicaInSync): never throttled. */
  caughtUp?: boolean
}

export class ReplicaFetcher {
  private readonly partitions = new Map<string, FollowedPartition>()
  private connection: BrokerConnection | undefined
  private closed = false
  private wake: (() => void) | undefined
  private readonly done: Promise<void>

  constructor(
    readonly leader: BrokerEndpoint,
    private readonly settings: FetcherSettings,
  ) {
    this.done = this.run()
  }

  get size(): number {
    return this.partitions.size
  }

  add(p: FollowedPartition): void {
    this.partitions.set(key(p.topic, p.partition), p)
    this.wake?.()
  }

  remove(topic: string, partition: number): void {
    this.partitions.delete(key(topic, partition))
  }

  has(topic: string, partition: number): boolean {
    return this.partitions.has(key(topic, partition))
  }

  async close(): Promise<void> {
    this.closed = true
    this.connection?.close()
    this.wake?.()
    await this.done
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      try {
        if (this.partitions.size === 0) {
          await new Promise<void>((resolve) => (this.wake = resolve))
          this.wake = undefined
          continue
        }
        // A partition the leader refused waits out its backoff alone; the others keep replicating.
        const now = Date.now()
        const ready = [...this.partitions.values()].filter((p) => (p.delayedUntil ?? 0) <= now)
        if (ready.length === 0) {
          await this.backoff(Math.min(...[...this.partitions.values()].map((p) => p.delayedUntil!)) - now)
          continue
        }
        const conn = await this.connect()
        const truncating = ready.filter((p) => p.truncating)
        if (truncating.length > 0) await this.truncate(conn, truncating)
        else await this.fetch(conn, ready)
      } catch (err) {
        if (this.closed) break
        this.report(err)
        this.connection?.close()
        this.connection = undefined
        await this.backoff()
      }
    }
    this.connection?.close()
  }

  private report(err: unknown): void {
    const leader = this.leader.nodeId
    if (err instanceof SaslAuthenticationError) {
      // Wrong inter-broker credentials: nothing replicates from this leader until they are fixed.
      const sasl = this.settings.security?.sasl
      const mechanism = sasl?.mechanism
      const username = sasl !== undefined && 'username' in sasl ? sasl.username : undefined
      this.settings.logger.error(
        { leader, reason: err.message, mechanism, username },
        `replica fetcher cannot log in to broker ${leader} as ${username ?? 'its inter-broker user'}: ${err.message}; check sasl.mechanism.inter.broker.protocol and the inter-broker listener's sasl.jaas.config (retrying)`,
      )
      return
    }
    this.settings.logger.warn({ err, leader }, 'replica fetch failed; backing off')
  }

  private backoff(ms = this.settings.get('replica.fetch.backoff.ms')): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, ms))
      this.wake = () => {
        clearTimeout(t)
        resolve()
      }
    }).then(() => {
      this.wake = undefined
    })
  }

  private async connect(): Promise<BrokerConnection> {
    if (this.connection !== undefined) return this.connection
    const timeout = this.settings.get('replica.socket.timeout.ms')
    this.connection = await BrokerConnection.connect(`${this.leader.host}:${this.leader.port}`, {
      clientId: `samsa-replica-fetcher-${this.settings.nodeId}`,
      connectTimeoutMs: timeout,
      requestTimeoutMs: timeout + this.settings.get('replica.fetch.wait.max.ms'),
      security: this.settings.security,
    })
    return this.connection
  }

  /** One OffsetForLeaderEpoch round for the partitions still truncating. */
  private async truncate(conn: BrokerConnection, parts: FollowedPartition[]): Promise<void> {
    const asking: Array<{ p: FollowedPartition; epoch: number }> = []
    for (const p of parts) {
      const epoch = epochToAsk(p.log)
      if (epoch < 0) {
        // Nothing to ask about: keep what is known committed, then fetch.
        const cut = truncationFor(p.log, epoch, -1, -1)
        await this.cut(p, cut.offset)
        p.truncating = false
      } else {
        asking.push({ p, epoch })
      }
    }
    if (asking.length === 0) return
    const res = await conn.request(OffsetForLeaderEpochApi, EPOCH_VERSION, {
      replicaId: this.settings.nodeId,
      topics: byTopic(asking, (a) => a.p.topic).map(([topic, list]) => ({
        topic,
        partitions: list.map((a) => ({ partition: a.p.partition, currentLeaderEpoch: a.p.leaderEpoch, leaderEpoch: a.epoch })),
      })),
    })
    for (const t of res.topics) {
      for (const r of t.partitions) {
        const a = asking.find((x) => x.p.topic === t.topic && x.p.partition === r.partition)
        if (a === undefined || this.partitions.get(key(a.p.topic, a.p.partition)) !== a.p) continue
        if (r.errorCode !== ErrorCode.NONE) {
          this.delay(a.p)
          if (!this.refusedByAcls(a.p, r.errorCode)) this.settings.logger.debug({ topic: t.topic, partition: r.partition, errorCode: r.errorCode }, 'leader refused OffsetForLeaderEpoch')
          continue
        }
        a.p.unauthorized = false
        const cut = truncationFor(a.p.log, a.epoch, r.leaderEpoch, r.endOffset)
        await this.cut(a.p, cut.offset)
        if (cut.done) a.p.truncating = false
      }
    }
  }

  /** True for an ACL refusal, logged as an error the first time in a row. */
  private refusedByAcls(p: FollowedPartition, errorCode: number): boolean {
    if (errorCode !== ErrorCode.TOPIC_AUTHORIZATION_FAILED && errorCode !== ErrorCode.CLUSTER_AUTHORIZATION_FAILED) return false
    if (!p.unauthorized) {
      const sasl = this.settings.security?.sasl
      this.settings.logger.error(
        { topic: p.topic, partition: p.partition, leader: this.leader.nodeId, errorCode, username: sasl !== undefined && 'username' in sasl ? sasl.username : undefined },
        `broker ${this.leader.nodeId} refuses to let this broker replicate ${p.topic}-${p.partition} (${errorCode === ErrorCode.CLUSTER_AUTHORIZATION_FAILED ? 'CLUSTER_AUTHORIZATION_FAILED' : 'TOPIC_AUTHORIZATION_FAILED'}): the inter-broker principal needs CLUSTER_ACTION on the cluster or a place in super.users (retrying)`,
      )
    }
    p.unauthorized = true
    return true
  }

  private delay(p: FollowedPartition): void {
    p.delayedUntil = Date.now() + this.settings.get('replica.fetch.backoff.ms')
  }

  private async cut(p: FollowedPartition, offset: number): Promise<void> {
    if (offset >= p.log.logEndOffset) return
    this.settings.logger.info({ topic: p.topic, partition: p.partition, from: p.log.logEndOffset, to: offset, leader: this.leader.nodeId }, 'truncating the follower log')
    await p.log.truncateTo(offset)
  }

  private async fetch(conn: BrokerConnection, all: FollowedPartition[]): Promise<void> {
    const throttle = this.settings.throttle
    const parts = throttle?.quota.exceeded() === true ? all.filter((p) => p.caughtUp === true || !throttle.throttles(p.topic, p.partition)) : all
    if (parts.length === 0) {
      await this.backoff()
      return
    }
    const req: FetchRequest = {
      clusterId: null,
      replicaId: this.settings.nodeId,
      replicaState: { replicaId: this.settings.nodeId, replicaEpoch: -1 },
      maxWaitMs: this.settings.get('replica.fetch.wait.max.ms'),
      minBytes: this.settings.get('replica.fetch.min.bytes'),
      maxBytes: this.settings.get('replica.fetch.response.max.bytes'),
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: byTopic(parts, (p) => p.topic).map(([topic, list]) => ({
        topic,
        topicId: ZERO_UUID,
        partitions: list.map((p) => ({
          partition: p.partition,
          currentLeaderEpoch: p.leaderEpoch,
          fetchOffset: p.log.logEndOffset,
          lastFetchedEpoch: -1,
          logStartOffset: p.log.logStartOffset,
          partitionMaxBytes: this.settings.get('replica.fetch.max.bytes'),
          replicaDirectoryId: ZERO_UUID,
        })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    }
    const res = await conn.request(FetchApi, FETCH_VERSION, req)
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`leader ${this.leader.nodeId} answered Fetch with error ${res.errorCode}`)
    for (const t of res.responses) {
      for (const r of t.partitions) {
        const p = parts.find((x) => x.topic === t.topic && x.partition === r.partitionIndex)
        // Its role changed while the fetch was out: the answer is for a partition no longer followed here.
        if (p === undefined || this.partitions.get(key(p.topic, p.partition)) !== p || p.truncating) continue
        if (!(await this.apply(p, r))) this.delay(p)
      }
    }
  }

  /** Applies one partition's answer; false when the leader refused it. */
  private async apply(p: FollowedPartition, r: FetchResponse['responses'][number]['partitions'][number]): Promise<boolean> {
    const log = p.log
    if (r.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      if (r.logStartOffset > log.logEndOffset) {
        // The leader deleted what this follower still lacks: start again at its log start.
        this.settings.logger.warn({ topic: p.topic, partition: p.partition, at: log.logEndOffset, leaderLogStart: r.logStartOffset }, 'follower behind the leader log start; restarting its log there')
        log.truncateFullyAndStartAt(r.logStartOffset)
      } else {
        p.truncating = true
      }
      return true
    }
    if (r.errorCode !== ErrorCode.NONE) {
      if (!this.refusedByAcls(p, r.errorCode)) this.settings.logger.debug({ topic: p.topic, partition: p.partition, errorCode: r.errorCode }, 'leader refused a replica fetch')
      return false
    }
    p.unauthorized = false
    if (r.records !== null && r.records.length > 0) {
      log.appendAsFollower(r.records)
      const throttle = this.settings.throttle
      if (throttle?.throttles(p.topic, p.partition) === true) throttle.quota.record(r.records.length)
    }
    p.caughtUp = log.logEndOffset >= r.highWatermark
    log.setHighWatermark(Math.min(r.highWatermark, log.logEndOffset))
    // The leader's log start moved (DeleteRecords, retention): the follower's follows, within what it has.
    const start = Math.min(r.logStartOffset, log.highWatermark)
    if (start > log.logStartOffset) await log.deleteRecordsBefore(start)
    return true
  }
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`
}

function byTopic<T>(items: readonly T[], topicOf: (x: T) => string): Array<[string, T[]]> {
  const m = new Map<string, T[]>()
  for (const x of items) {
    const t = topicOf(x)
    const list = m.get(t)
    if (list) list.push(x)
    else m.set(t, [x])
  }
  return [...m]
}
