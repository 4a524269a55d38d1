// A share-group consumer (KIP-932), as Kafka's KafkaShareConsumer: the members of a share group
// read the same partitions together and each record is handed to one of them at a time, locked
// for the group's record lock duration, until that member acknowledges it:
//
// - accept: processed, never delivered again;
// - release: delivered again (to any member), its delivery count going up;
// - reject: unprocessable, archived and never delivered again.
//
// A record not acknowledged before its lock expires is delivered again, so a member that dies
// loses nothing. Acknowledgement modes, as Kafka's share.acknowledgement.mode:
//
// - implicit (the default): every record a poll returned is accepted by the next poll,
//   commitSync/commitAsync or close;
// - explicit: the caller acknowledges each record with acknowledge(); a poll with records of the
//   previous poll left unacknowledged throws.
//
// Acknowledgements ride on the next ShareFetch to the partition's leader, or go at once with
// commitSync/commitAsync (ShareAcknowledge). Each leader holds one share session per member: epoch
// 0 opens it with the partitions to read, each later request moves the epoch on (naming only
// partitions added, forgetting those no longer assigned), and close sends epoch -1 with the last
// acknowledgements, which releases whatever the member still holds. Membership (heartbeats, the
// assignment) is the ShareGroupMember's.

import { ErrorCode } from '../../protocol/errors.js'
import { ShareAcknowledgeApi, type ShareAcknowledgeResponse } from '../../protocol/generated/share-acknowledge.js'
import { ShareFetchApi, type ShareFetchResponse } from '../../protocol/generated/share-fetch.js'
import { Cluster, type ClientOptions } from './cluster.js'
import { BrokerConnectionError, BrokerUnreachableError, KafkaProtocolError } from './errors.js'
import type { NodeSession } from './node-session.js'
import { ShareGroupMember } from './share-group-member.js'
import { ACK_TYPE, acknowledgementBatches, acquiredRecords, type AcknowledgeType, type ShareRecord } from './share-records.js'

export type { AcknowledgeType, ShareRecord } from './share-records.js'

export interface ShareConsumerOptions extends ClientOptions {
  groupId: string
  /** Default implicit, as Kafka's share.acknowledgement.mode. */
  acknowledgementMode?: 'implicit' | 'explicit'
  /** How long a poll waits at the broker for records; default 500 ms. */
  maxWaitMs?: number
  /** At most this many records per fetch (whole batches may exceed it); default 500, Kafka's max.poll.records. */
  maxRecords?: number
  /** Default 50 MiB, Kafka's fetch.max.bytes. */
  maxBytes?: number
  rackId?: string | null
  /** The outcome of acknowledgements the broker answered: error is null, or why they were refused. */
  onAcknowledgementCommit?: (result: AcknowledgementResult) => void
}

export interface AcknowledgementResult {
  topic: string
  partition: number
  /** The offsets acknowledged in this request. */
  offsets: number[]
  error: KafkaProtocolError | Error | null
}

const INITIAL_EPOCH = 0
const FINAL_EPOCH = -1
/** The leader forgot the session (restarted, evicted it, or a request was lost): open a new one. */
const SESSION_LOST = new Set<number>([ErrorCode.INVALID_SHARE_SESSION_EPOCH, ErrorCode.SHARE_SESSION_NOT_FOUND, ErrorCode.UNKNOWN_MEMBER_ID])

/** One partition's key: topic id and partition. */
type PartitionKey = string
const keyOf = (topicId: string, partition: number): PartitionKey => `${topicId}:${partition}`

interface LeaderSession {
  nodeId: number
  epoch: number
  /** Partitions the broker's session holds. */
  partitions: Set<PartitionKey>
  /** Requests to one session go one after another: each moves the epoch. */
  queue: Promise<unknown>
}

export class ShareConsumer {
  readonly cluster: Cluster
  readonly member: ShareGroupMember
  private readonly mode: 'implicit' | 'explicit'
  private readonly maxWaitMs: number
  private readonly sessions = new Map<number, LeaderSession>()
  /** Acknowledgements not yet sent, per partition: offset -> wire type. */
  private readonly pending = new Map<PartitionKey, Map<number, number>>()
  /** Records the last poll returned that are still unacknowledged. */
  private unacknowledged = new Map<string, ShareRecord>()
  private readonly topicIds = new Map<string, string>()
  private readonly topicNames = new Map<string, string>()
  private subscription: string[] = []
  private closing: Promise<void> | null = null

  constructor(private readonly opts: ShareConsumerOptions) {
    this.maxWaitMs = opts.maxWaitMs ?? 500
    const timeoutMs = opts.timeoutMs ?? 30_000
    // A parked ShareFetch must not look like a dead broker.
    this.cluster = new Cluster({ ...opts, clientId: opts.clientId ?? 'samsa-share-consumer', timeoutMs: timeoutMs + this.maxWaitMs })
    this.member = new ShareGroupMember(this.cluster, opts.groupId, opts.rackId ?? null)
    this.mode = opts.acknowledgementMode ?? 'implicit'
  }

  get memberId(): string {
    return this.member.memberId
  }

  async connect(): Promise<void> {
    await this.cluster.bootstrap()
  }

  /** Joins the share group for these topics (at once, in the background). */
  subscribe(topics: readonly string[]): void {
    this.subscription = [...new Set(topics)]
    this.member.subscribe(this.subscription)
  }

  /** Partitions the group assigns this member now, by topic name. */
  assignment(): Map<string, number[]> {
    const out = new Map<string, number[]>()
    for (const [id, ps] of this.member.assignment) out.set(this.topicNames.get(id) ?? id, [...ps])
    return out
  }

  /** Acknowledges a record the last poll returned (explicit mode); sent with the next fetch or commit. */
  acknowledge(record: ShareRecord, type: AcknowledgeType = 'accept'): void {
    if (this.mode !== 'explicit') throw new Error('acknowledge() needs acknowledgementMode explicit')
    const key = recordKey(record.topic, record.partition, record.offset)
    if (!this.unacknowledged.delete(key)) throw new Error(`record ${record.topic}-${record.partition}@${record.offset} is not awaiting acknowledgement`)
    this.addAck(record.topic, record.partition, record.offset, ACK_TYPE[type])
  }

  /**
   * Records acquired for this member. Implicit mode first accepts everything the previous poll
   * returned; explicit mode throws if some of it is still unacknowledged.
   */
  async poll(): Promise<ShareRecord[]> {
    if (this.closing !== null) throw new Error('the share consumer is closed')
    if (this.member.fatal !== null) throw this.member.fatal
    this.settlePrevious()
    const byLeader = await this.assignedByLeader()
    if (byLeader.size === 0) {
      // Nothing to read yet (joining, or no partitions): send what is pending and wait for the group.
      await this.sendAcknowledgements(false)
      await this.member.changed(this.maxWaitMs)
      return []
    }
    for (const nodeId of this.sessions.keys()) if (!byLeader.has(nodeId)) byLeader.set(nodeId, [])
    const results = await Promise.all([...byLeader].map(([nodeId, keys]) => this.inSession(nodeId, (s) => this.fetch(s, keys))))
    const records = results.flatMap((r) => r ?? [])
    // A leader that cannot be reached answers at once: wait as a parked fetch would, rather than
    // have the caller's poll loop spin.
    if (records.length === 0 && results.includes(null)) await new Promise((resolve) => setTimeout(resolve, this.maxWaitMs))
    for (const r of records) this.unacknowledged.set(recordKey(r.topic, r.partition, r.offset), r)
    return records
  }

  /** Sends every pending acknowledgement now and waits for the answers (implicit mode: accepts the last poll's records first). */
  async commitSync(): Promise<AcknowledgementResult[]> {
    if (this.mode === 'implicit') this.settlePrevious()
    return this.sendAcknowledgements(false)
  }

  /** As commitSync, without waiting; results go to onAcknowledgementCommit. */
  commitAsync(): void {
    this.commitSync().catch(() => {})
  }

  /** Acknowledges what is due, closes each share session (releasing what it still holds) and leaves the group. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.mode === 'implicit') this.settlePrevious()
      this.unacknowledged.clear()
      await this.sendAcknowledgements(true).catch(() => [])
      await this.member.leave()
      await this.cluster.close()
    })()
    return this.closing
  }

  /** Implicit mode accepts the last poll's records; explicit mode insists they were acknowledged. */
  private settlePrevious(): void {
    if (this.unacknowledged.size === 0) return
    if (this.mode === 'explicit') throw new Error(`${this.unacknowledged.size} record(s) of the last poll are not acknowledged`)
    for (const r of this.unacknowledged.values()) this.addAck(r.topic, r.partition, r.offset, ACK_TYPE.accept)
    this.unacknowledged.clear()
  }

  private addAck(topic: string, partition: number, offset: number, type: number): void {
    const topicId = this.topicIds.get(topic)
    if (topicId === undefined) return
    const key = keyOf(topicId, partition)
    let m = this.pending.get(key)
    if (m === undefined) this.pending.set(key, (m = new Map()))
    m.set(offset, type)
  }

  /** Assigned partitions grouped by their leader's node id; topic ids resolved through metadata. */
  private async assignedByLeader(): Promise<Map<number, PartitionKey[]>> {
    const out = new Map<number, PartitionKey[]>()
    const assignment = this.member.assignment
    if ([...assignment.keys()].some((id) => !this.topicNames.has(id))) await this.refreshTopics()
    for (const [topicId, partitions] of assignment) {
      const name = this.topicNames.get(topicId)
      if (name === undefined) continue
      const meta = this.cluster.known(name) ?? (await this.cluster.topic(name))
      for (const p of partitions) {
        const leader = meta.partitions.find((x) => x.partition === p)?.leader ?? -1
        if (leader < 0) continue
        const list = out.get(leader)
        if (list === undefined) out.set(leader, [keyOf(topicId, p)])
        else list.push(keyOf(topicId, p))
      }
    }
    return out
  }

  private async refreshTopics(): Promise<void> {
    const meta = await this.cluster.fetchMetadata(this.subscription)
    for (const t of meta.topics) {
      if (t.errorCode !== ErrorCode.NONE) continue
      this.topicIds.set(t.name, t.topicId)
      this.topicNames.set(t.topicId, t.name)
    }
  }

  /** Runs `fn` on the node's share session once the requests before it are answered. */
  private inSession<T>(nodeId: number, fn: (s: LeaderSession) => Promise<T>): Promise<T> {
    let s = this.sessions.get(nodeId)
    if (s === undefined) this.sessions.set(nodeId, (s = { nodeId, epoch: INITIAL_EPOCH, partitions: new Set(), queue: Promise.resolve() }))
    const session = s
    const run = session.queue.then(() => fn(session))
    session.queue = run.catch(() => {})
    return run
  }

  /** Takes the pending acknowledgements of partitions led by this node. */
  private takeAcks(s: LeaderSession, leaderOf: (key: PartitionKey) => number | undefined): Map<PartitionKey, Map<number, number>> {
    const out = new Map<PartitionKey, Map<number, number>>()
    for (const [key, acks] of this.pending) {
      const leader = leaderOf(key) ?? (s.partitions.has(key) ? s.nodeId : undefined)
      if (leader !== s.nodeId) continue
      out.set(key, acks)
      this.pending.delete(key)
    }
    return out
  }

  private leaderOf(key: PartitionKey): number | undefined {
    const [topicId, p] = splitKey(key)
    const name = this.topicNames.get(topicId)
    const meta = name === undefined ? undefined : this.cluster.known(name)
    return meta?.partitions.find((x) => x.partition === p)?.leader
  }

  /** The records acquired from one leader; null when it could not be reached. */
  private async fetch(s: LeaderSession, wanted: PartitionKey[]): Promise<ShareRecord[] | null> {
    // Acknowledgements cannot open a session: they wait for the next request.
    const acks = s.epoch === INITIAL_EPOCH ? new Map<PartitionKey, Map<number, number>>() : this.takeAcks(s, (k) => this.leaderOf(k))
    const want = new Set(wanted)
    const named = new Set([...(s.epoch === INITIAL_EPOCH ? want : [...want].filter((k) => !s.partitions.has(k))), ...acks.keys()])
    const forgotten = s.epoch === INITIAL_EPOCH ? [] : [...s.partitions].filter((k) => !want.has(k))
    if (named.size === 0 && want.size === 0 && s.partitions.size === 0) return []
    let res: ShareFetchResponse
    try {
      const session = await this.cluster.node(s.nodeId)
      res = await session.send(ShareFetchApi, {
        groupId: this.opts.groupId,
        memberId: this.member.memberId,
        shareSessionEpoch: s.epoch,
        maxWaitMs: want.size === 0 ? 0 : this.maxWaitMs,
        minBytes: 1,
        maxBytes: this.opts.maxBytes ?? 50 * 1024 * 1024,
        maxRecords: want.size === 0 ? 0 : this.opts.maxRecords ?? 500,
        batchSize: this.opts.maxRecords ?? 500,
        shareAcquireMode: 0,
        isRenewAck: false,
        topics: byTopic([...named], (topicId, partitions) => ({
          topicId,
          partitions: partitions.map((p) => ({ partitionIndex: p, partitionMaxBytes: 0, acknowledgementBatches: acknowledgementBatches(acks.get(keyOf(topicId, p)) ?? new Map()) })),
        })),
        forgottenTopicsData: byTopic(forgotten, (topicId, partitions) => ({ topicId, partitions })),
      })
    } catch (err) {
      // A broker gone from the cluster's metadata is as unreachable as one that refuses connections.
      const gone = err instanceof KafkaProtocolError && err.code === ErrorCode.BROKER_NOT_AVAILABLE
      if (!(err instanceof BrokerConnectionError || err instanceof BrokerUnreachableError || gone)) throw err
      this.sessionLost(s, acks, err)
      // The leader may be gone for good: the next poll asks the cluster who leads now.
      for (const k of want) this.cluster.invalidate(this.topicNames.get(k.slice(0, k.lastIndexOf(':'))) ?? '')
      return null
    }
    if (res.errorCode !== ErrorCode.NONE) {
      const error = new KafkaProtocolError(res.errorCode, `ShareFetch of group '${this.opts.groupId}'`, res.errorMessage)
      if (SESSION_LOST.has(res.errorCode)) {
        this.sessionLost(s, acks, error)
        return []
      }
      this.report(acks, error)
      throw error
    }
    s.epoch++
    s.partitions = want
    const out: ShareRecord[] = []
    const answered = new Set<PartitionKey>()
    for (const t of res.responses) {
      const topic = this.topicNames.get(t.topicId) ?? t.topicId
      for (const p of t.partitions) {
        const key = keyOf(t.topicId, p.partitionIndex)
        const sent = acks.get(key)
        if (sent !== undefined) {
          answered.add(key)
          this.reportOne(topic, p.partitionIndex, sent, p.acknowledgeErrorCode, p.acknowledgeErrorMessage)
        }
        if (p.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || p.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) this.cluster.invalidate(topic)
        if (p.errorCode !== ErrorCode.NONE) continue
        const { records, gaps } = acquiredRecords(topic, p.partitionIndex, p.records, p.acquiredRecords)
        out.push(...records)
        for (const o of gaps) this.addAck(topic, p.partitionIndex, o, ACK_TYPE.gap)
      }
    }
    for (const [key, sent] of acks) if (!answered.has(key)) this.reportOne(this.nameOf(key), splitKey(key)[1], sent, ErrorCode.NONE, null)
    return out
  }

  /** Sends pending acknowledgements with ShareAcknowledge to every leader; `final` closes the sessions (epoch -1). */
  private async sendAcknowledgements(final: boolean): Promise<AcknowledgementResult[]> {
    const results: AcknowledgementResult[] = []
    await Promise.all(
      [...this.sessions.values()].map((s) =>
        this.inSession(s.nodeId, async () => {
          if (s.epoch === INITIAL_EPOCH) return
          const acks = this.takeAcks(s, (k) => this.leaderOf(k))
          if (acks.size === 0 && !final) return
          const epoch = final ? FINAL_EPOCH : s.epoch
          let res: ShareAcknowledgeResponse
          try {
            const session: NodeSession = await this.cluster.node(s.nodeId)
            res = await session.send(ShareAcknowledgeApi, {
              groupId: this.opts.groupId,
              memberId: this.member.memberId,
              shareSessionEpoch: epoch,
              isRenewAck: false,
              topics: byTopic([...acks.keys()], (topicId, partitions) => ({
                topicId,
                partitions: partitions.map((p) => ({ partitionIndex: p, acknowledgementBatches: acknowledgementBatches(acks.get(keyOf(topicId, p))!) })),
              })),
            })
          } catch (err) {
            if (!(err instanceof BrokerConnectionError || err instanceof BrokerUnreachableError)) throw err
            results.push(...this.sessionLost(s, acks, err))
            return
          }
          if (res.errorCode !== ErrorCode.NONE) {
            const error = new KafkaProtocolError(res.errorCode, `ShareAcknowledge of group '${this.opts.groupId}'`, res.errorMessage)
            if (SESSION_LOST.has(res.errorCode)) results.push(...this.sessionLost(s, acks, error))
            else results.push(...this.report(acks, error))
            return
          }
          if (final) {
            s.epoch = INITIAL_EPOCH
            s.partitions = new Set()
          } else s.epoch++
          for (const t of res.responses) {
            for (const p of t.partitions) {
              const sent = acks.get(keyOf(t.topicId, p.partitionIndex))
              if (sent !== undefined) results.push(this.reportOne(this.topicNames.get(t.topicId) ?? t.topicId, p.partitionIndex, sent, p.errorCode, p.errorMessage))
            }
          }
        }),
      ),
    )
    return results
  }

  /** The leader no longer knows the session: what was sent is lost (those records come back at lock expiry). */
  private sessionLost(s: LeaderSession, acks: Map<PartitionKey, Map<number, number>>, error: Error): AcknowledgementResult[] {
    s.epoch = INITIAL_EPOCH
    s.partitions = new Set()
    return this.report(acks, error)
  }

  private report(acks: Map<PartitionKey, Map<number, number>>, error: Error): AcknowledgementResult[] {
    return [...acks].map(([key, sent]) => {
      const result = { topic: this.nameOf(key), partition: splitKey(key)[1], offsets: [...sent.keys()], error }
      this.opts.onAcknowledgementCommit?.(result)
      return result
    })
  }

  private reportOne(topic: string, partition: number, sent: Map<number, number>, errorCode: number, errorMessage: string | null): AcknowledgementResult {
    const error = errorCode === ErrorCode.NONE ? null : new KafkaProtocolError(errorCode, `acknowledging records of ${topic}-${partition}`, errorMessage)
    const result = { topic, partition, offsets: [...sent.keys()].filter((o) => sent.get(o) !== ACK_TYPE.gap), error }
    this.opts.onAcknowledgementCommit?.(result)
    return result
  }

  private nameOf(key: PartitionKey): string {
    const topicId = splitKey(key)[0]
    return this.topicNames.get(topicId) ?? topicId
  }
}

function recordKey(topic: string, partition: number, offset: number): string {
  return `${topic}\0${partition}\0${offset}`
}

function splitKey(key: PartitionKey): [string, number] {
  const colon = key.lastIndexOf(':')
  return [key.slice(0, colon), Number(key.slice(colon + 1))]
}

/** Partition keys grouped by topic id, each group mapped by `fn`. */
function byTopic<T>(keys: readonly PartitionKey[], fn: (topicId: string, partitions: number[]) => T): T[] {
  const m = new Map<string, number[]>()
  for (const k of keys) {
    const [topicId, p] = splitKey(k)
    const list = m.get(topicId)
    if (list === undefined) m.set(topicId, [p])
    else list.push(p)
  }
  return [...m].map(([topicId, ps]) => fn(topicId, ps.sort((a, b) => a - b)))
}
