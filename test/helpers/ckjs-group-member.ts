// A consumer-group member on @confluentinc/kafka-javascript that records, from its rebalance
// callbacks, the periods in which it owned each partition and the offsets it processed in each.
// Before it releases a revoked partition it commits what it processed there, synchronously, so the
// next owner starts where it stopped (librdkafka tells the coordinator a partition is released
// only once the revoke callback has called incrementalUnassign). The synchronous commit blocks this
// event loop, so the broker must run in another process.
//
// Every event of every member in the process is stamped from one counter (`tick`), which orders
// them: tests compare ownership periods of different members, and records other clients process.
import {
  call,
  ERR_ASSIGN_PARTITIONS,
  ERR_REVOKE_PARTITIONS,
  type ConsumedMessage,
  type KafkaConsumer,
  type LibrdKafkaError,
  type RdKafka,
  type TopicPartition,
} from './confluent-javascript.js'
import { sleep, waitFor } from './wait.js'

let clock = 0
/** The next value of the process-wide event counter. */
export function tick(): number {
  return ++clock
}

export interface OwnershipPeriod {
  member: string
  partition: number
  opened: number
  closed: number | null
  /** Offsets processed while owning the partition, in order. */
  offsets: number[]
  /** Closed by a lost assignment (no commit was possible) rather than a revocation. */
  lost: boolean
}

export interface GroupMemberOptions {
  address: string
  groupId: string
  topic: string
  /** librdkafka's group.protocol; default consumer (KIP-848). */
  protocol?: 'classic' | 'consumer'
  /** Extra librdkafka settings. */
  config?: Record<string, unknown>
}

export class CkjsGroupMember {
  readonly periods: OwnershipPeriod[] = []
  /** partition -> the period in which it owns it now. */
  readonly current = new Map<number, OwnershipPeriod>()
  /** Records delivered for a partition it did not own any more (dropped, not processed). */
  stale = 0
  readonly errors: string[] = []
  private readonly consumer: KafkaConsumer
  private loop: Promise<void> | null = null
  private running = false

  constructor(
    rd: RdKafka,
    readonly name: string,
    private readonly opts: GroupMemberOptions,
  ) {
    this.consumer = new rd.KafkaConsumer(
      {
        'bootstrap.servers': opts.address,
        'client.id': name,
        'group.id': opts.groupId,
        'group.protocol': opts.protocol ?? 'consumer',
        'enable.auto.commit': false,
        'fetch.wait.max.ms': 50,
        ...opts.config,
        rebalance_cb: (err: LibrdKafkaError, assignment: TopicPartition[]) => this.onRebalance(err, assignment),
      },
      { 'auto.offset.reset': 'earliest' },
    )
    this.consumer.on('event.error', (err) => this.errors.push(`event.error: ${err.message}`))
  }

  async start(): Promise<void> {
    await call((cb) => this.consumer.connect({}, cb))
    this.consumer.setDefaultConsumeTimeout(100)
    this.consumer.subscribe([this.opts.topic])
    this.running = true
    this.loop = this.consumeLoop()
  }

  processedCount(): number {
    return this.periods.reduce((n, p) => n + p.offsets.length, 0)
  }

  /**
   * Leaves the group (revoking and committing everything), stops consuming and disconnects. The
   * consume loop runs until the revocation: librdkafka serves rebalance callbacks from consume().
   */
  async close(): Promise<void> {
    this.consumer.unsubscribe()
    try {
      await waitFor(() => this.current.size === 0, { timeoutMs: 15_000, what: `${this.name} to give up its partitions` })
    } finally {
      this.running = false
      await this.loop
    }
    await call((cb) => this.consumer.disconnect(cb))
  }

  private onRebalance(err: LibrdKafkaError, assignment: TopicPartition[]): void {
    const cooperative = this.consumer.rebalanceProtocol() === 'COOPERATIVE'
    try {
      if (err.code === ERR_ASSIGN_PARTITIONS) {
        for (const tp of assignment) {
          if (this.current.has(tp.partition)) this.errors.push(`assigned ${tp.partition}, which it already owns`)
          const period: OwnershipPeriod = { member: this.name, partition: tp.partition, opened: tick(), closed: null, offsets: [], lost: false }
          this.periods.push(period)
          this.current.set(tp.partition, period)
        }
        if (cooperative) this.consumer.incrementalAssign(assignment)
        else this.consumer.assign(assignment)
      } else if (err.code === ERR_REVOKE_PARTITIONS) {
        const lost = this.consumer.assignmentLost()
        const offsets = assignment.flatMap((tp) => {
          const last = this.current.get(tp.partition)?.offsets.at(-1)
          return last === undefined ? [] : [{ topic: this.opts.topic, partition: tp.partition, offset: last + 1 }]
        })
        // A failed commit is recorded, and the partitions are still let go: a revoke callback that
        // does not call incrementalUnassign leaves librdkafka waiting for it for ever.
        if (!lost && offsets.length > 0) {
          try {
            this.consumer.commitSync(offsets)
          } catch (e) {
            this.errors.push(`commit before revoking ${offsets.map((o) => o.partition).join(',')}: ${(e as Error).message}`)
          }
        }
        for (const tp of assignment) {
          const period = this.current.get(tp.partition)
          if (period === undefined) continue
          period.closed = tick()
          period.lost = lost
          this.current.delete(tp.partition)
        }
        if (cooperative) this.consumer.incrementalUnassign(assignment)
        else this.consumer.unassign()
      } else {
        this.errors.push(`rebalance error ${err.code}: ${err.message}`)
      }
    } catch (e) {
      this.errors.push(`rebalance callback: ${(e as Error).message}`)
    }
  }

  private async consumeLoop(): Promise<void> {
    while (this.running) {
      let batch: ConsumedMessage[]
      try {
        batch = await call<ConsumedMessage[]>((cb) => this.consumer.consume(200, cb))
      } catch (e) {
        this.errors.push(`consume: ${(e as Error).message}`)
        await sleep(50)
        continue
      }
      const touched = new Map<number, number>()
      for (const m of batch) {
        const period = this.current.get(m.partition)
        if (period === undefined) {
          this.stale++
          continue
        }
        period.offsets.push(m.offset)
        touched.set(m.partition, m.offset + 1)
      }
      if (touched.size > 0) this.consumer.commit([...touched].map(([partition, offset]) => ({ topic: this.opts.topic, partition, offset })))
    }
  }
}
