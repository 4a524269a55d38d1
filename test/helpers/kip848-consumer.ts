// A KIP-848 consumer built on the project's wire client (broker/client/connection.ts) and the
// generated codecs: it heartbeats with ConsumerGroupHeartbeat, commits the positions of revoked
// partitions (OffsetCommit v9 with its member epoch) before acknowledging the revocation, starts
// new partitions from their committed offset (OffsetFetch v9), and fetches with Fetch v12. Each
// record it processes is logged with the member and the epoch it held, so a test can check that
// none was processed twice within an epoch and none was skipped. `ownership` is shared by all
// consumers of a test: taking a partition that another consumer still holds throws.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ConsumerGroupHeartbeatApi, type ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat.js'
import { defaultFetchRequest, FetchApi } from '../../protocol/generated/fetch.js'
import { OffsetCommitApi } from '../../protocol/generated/offset-commit.js'
import { OffsetFetchApi } from '../../protocol/generated/offset-fetch.js'
import { LOG_OVERHEAD, readBatchHeader, readLastOffset } from '../../protocol/record-batch.js'

export interface ProcessedRecord {
  partition: number
  offset: number
  memberId: string
  epoch: number
}

export interface Kip848ConsumerOptions {
  address: string
  groupId: string
  topic: string
  topicId: string
  instanceId?: string
  heartbeatEveryMs?: number
  log: ProcessedRecord[]
  ownership: Map<number, string>
}

export class Kip848Consumer {
  readonly memberId = randomUUID()
  epoch = 0
  /** partition -> next offset to process. */
  readonly positions = new Map<number, number>()
  private running = false
  private loops: Promise<void>[] = []
  private control!: BrokerConnection
  private data!: BrokerConnection
  /** Serialises heartbeats and commits with the fetch loop's position updates. */
  private busy: Promise<void> = Promise.resolve()
  errors: number[] = []

  constructor(private readonly o: Kip848ConsumerOptions) {}

  async start(): Promise<void> {
    const opts = { clientId: `kip848-${this.o.instanceId ?? 'dynamic'}`, connectTimeoutMs: 3000, requestTimeoutMs: 10_000 }
    this.control = await BrokerConnection.connect(this.o.address, opts)
    this.data = await BrokerConnection.connect(this.o.address, opts)
    this.running = true
    await this.heartbeat()
    this.loops = [this.heartbeatLoop(), this.fetchLoop()]
  }

  /** Commits, then leaves: epoch -2 for a static member coming back, -1 otherwise. */
  async stop(forGood = false): Promise<void> {
    this.running = false
    await Promise.all(this.loops)
    await this.commit([...this.positions.keys()])
    this.release([...this.positions.keys()])
    const leaveEpoch = this.o.instanceId !== undefined && !forGood ? -2 : -1
    await this.control.request(ConsumerGroupHeartbeatApi, 1, this.request(leaveEpoch))
    this.control.close()
    this.data.close()
  }

  private request(memberEpoch: number) {
    const joining = memberEpoch === 0
    return {
      groupId: this.o.groupId,
      memberId: this.memberId,
      memberEpoch,
      instanceId: this.o.instanceId ?? null,
      rackId: null,
      rebalanceTimeoutMs: joining ? 30_000 : -1,
      subscribedTopicNames: joining ? [this.o.topic] : null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: joining ? [] : [{ topicId: this.o.topicId, partitions: [...this.positions.keys()] }],
    }
  }

  private async heartbeatLoop(): Promise<void> {
    while (this.running) {
      await sleep(this.o.heartbeatEveryMs ?? 50)
      if (this.running) await this.heartbeat()
    }
  }

  private heartbeat(): Promise<void> {
    const run = this.busy.then(async () => {
      const res: ConsumerGroupHeartbeatResponse = await this.control.request(ConsumerGroupHeartbeatApi, 1, this.request(this.epoch))
      if (res.errorCode !== ErrorCode.NONE) {
        this.errors.push(res.errorCode)
        if (res.errorCode === ErrorCode.FENCED_MEMBER_EPOCH || res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
          this.release([...this.positions.keys()])
          this.epoch = 0
        }
        return
      }
      if (res.assignment !== null) {
        const target = new Set(res.assignment.topicPartitions.filter((t) => t.topicId === this.o.topicId).flatMap((t) => t.partitions))
        const revoked = [...this.positions.keys()].filter((p) => !target.has(p))
        // Revocation: commit where processing stopped, then let go.
        await this.commit(revoked)
        this.release(revoked)
        this.epoch = res.memberEpoch
        const added = [...target].filter((p) => !this.positions.has(p))
        if (added.length > 0) await this.take(added)
      }
      this.epoch = res.memberEpoch
    })
    this.busy = run.catch(() => {})
    return run
  }

  private release(partitions: number[]): void {
    for (const p of partitions) {
      this.positions.delete(p)
      if (this.o.ownership.get(p) === this.memberId) this.o.ownership.delete(p)
    }
  }

  private async take(partitions: number[]): Promise<void> {
    for (const p of partitions) {
      const holder = this.o.ownership.get(p)
      if (holder !== undefined) throw new Error(`partition ${p} given to ${this.memberId} while ${holder} still holds it`)
      this.o.ownership.set(p, this.memberId)
    }
    const res = await this.control.request(OffsetFetchApi, 9, {
      groupId: '',
      topics: null,
      requireStable: true,
      groups: [{ groupId: this.o.groupId, memberId: this.memberId, memberEpoch: this.epoch, topics: [{ name: this.o.topic, partitionIndexes: partitions }] }],
    })
    const g = res.groups[0]!
    if (g.errorCode !== ErrorCode.NONE) throw new Error(`OffsetFetch failed: ${g.errorCode}`)
    for (const q of g.topics[0]!.partitions) this.positions.set(q.partitionIndex, Math.max(0, q.committedOffset))
  }

  private async commit(partitions: number[]): Promise<void> {
    if (partitions.length === 0) return
    const res = await this.control.request(OffsetCommitApi, 9, {
      groupId: this.o.groupId,
      generationIdOrMemberEpoch: this.epoch,
      memberId: this.memberId,
      groupInstanceId: this.o.instanceId ?? null,
      retentionTimeMs: -1,
      topics: [
        {
          name: this.o.topic,
          partitions: partitions.map((p) => ({
            partitionIndex: p,
            committedOffset: this.positions.get(p)!,
            committedLeaderEpoch: -1,
            commitTimestamp: -1,
            committedMetadata: null,
          })),
        },
      ],
    })
    for (const t of res.topics) for (const q of t.partitions) if (q.errorCode !== ErrorCode.NONE) throw new Error(`commit failed: ${q.errorCode}`)
  }

  private async fetchLoop(): Promise<void> {
    while (this.running) {
      const wanted = [...this.positions]
      if (wanted.length === 0) {
        await sleep(20)
        continue
      }
      const res = await this.data.request(FetchApi, 12, {
        ...defaultFetchRequest(),
        maxWaitMs: 50,
        minBytes: 1,
        topics: [
          {
            topic: this.o.topic,
            topicId: '00000000-0000-0000-0000-000000000000',
            partitions: wanted.map(([partition, fetchOffset]) => ({
              partition,
              currentLeaderEpoch: -1,
              fetchOffset,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes: 1 << 20,
              replicaDirectoryId: '00000000-0000-0000-0000-000000000000',
            })),
          },
        ],
      })
      // Process under the lock: a revocation in between must not see half-updated positions.
      await (this.busy = this.busy.then(() => {
        for (const t of res.responses) for (const part of t.partitions) this.process(part.partitionIndex, part.records)
      }))
    }
  }

  private process(partition: number, records: Uint8Array | null): void {
    let position = this.positions.get(partition)
    if (position === undefined || records === null) return
    for (let pos = 0; pos + LOG_OVERHEAD <= records.length; ) {
      const h = readBatchHeader(records, pos)
      const size = h.batchLength + LOG_OVERHEAD
      if (pos + size > records.length) break
      const last = readLastOffset(records, pos)
      for (let offset = Math.max(position, h.baseOffset); offset <= last; offset++) {
        this.o.log.push({ partition, offset, memberId: this.memberId, epoch: this.epoch })
      }
      position = Math.max(position, last + 1)
      pos += size
    }
    this.positions.set(partition, position)
  }
}
