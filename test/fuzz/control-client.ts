// The control client: a kafkajs idempotent producer (acks=all) and a consumer group member
// working a topic of their own while the fuzzer runs. It records every acknowledged record and
// every record consumed, with times, so the test can say whether the broker stalled it, lost an
// acknowledged record, duplicated one or reordered a partition.
import kafkajs from 'kafkajs'
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs'

const { Kafka: KafkaClass, logLevel } = kafkajs

export interface Acked {
  seq: number
  partition: number
  offset: number
  at: number
}

export interface Consumed {
  seq: number
  offset: number
  at: number
}

export class ControlClient {
  readonly acked: Acked[] = []
  readonly consumed = new Map<number, Consumed[]>()
  readonly errors: string[] = []
  /** Longest a single send took to be acknowledged, ms. */
  maxSendMs = 0
  private sendStartedAt: number | null = null
  private running = false
  private loop: Promise<void> = Promise.resolve()
  private readonly kafka: Kafka
  private admin?: Admin
  private producer?: Producer
  private consumer?: Consumer

  constructor(
    address: string,
    readonly topic: string,
    readonly partitions = 2,
    private readonly intervalMs = 10,
  ) {
    this.kafka = new KafkaClass({
      clientId: 'samsa-fuzz-control',
      brokers: [address],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 1000 },
      connectionTimeout: 3000,
    })
  }

  async start(): Promise<void> {
    this.admin = this.kafka.admin()
    await this.admin.connect()
    await this.admin.createTopics({ topics: [{ topic: this.topic, numPartitions: this.partitions }], waitForLeaders: true })
    this.consumer = this.kafka.consumer({ groupId: `${this.topic}-group`, sessionTimeout: 10_000, heartbeatInterval: 1000, maxWaitTimeInMs: 100 })
    this.consumer.on(this.consumer.events.CRASH, (e) => this.errors.push(`consumer crashed: ${e.payload.error?.message}`))
    await this.consumer.connect()
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true })
    const joined = new Promise<void>((resolve) => this.consumer!.on(this.consumer!.events.GROUP_JOIN, () => resolve()))
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        const list = this.consumed.get(partition) ?? []
        this.consumed.set(partition, list)
        list.push({ seq: Number(message.value!.toString()), offset: Number(message.offset), at: Date.now() })
      },
    })
    await joined
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await this.producer.connect()
    this.running = true
    this.loop = this.produceLoop()
  }

  private async produceLoop(): Promise<void> {
    for (let seq = 0; this.running; seq++) {
      const partition = seq % this.partitions
      this.sendStartedAt = Date.now()
      try {
        const [meta] = await this.producer!.send({ topic: this.topic, acks: -1, messages: [{ value: String(seq), partition }] })
        const at = Date.now()
        this.maxSendMs = Math.max(this.maxSendMs, at - this.sendStartedAt)
        this.acked.push({ seq, partition, offset: Number(meta!.baseOffset), at })
      } catch (err) {
        this.errors.push(`send ${seq} failed after ${Date.now() - this.sendStartedAt} ms: ${(err as Error).message}`)
      }
      this.sendStartedAt = null
      await new Promise((r) => setTimeout(r, this.intervalMs))
    }
  }

  /** How long the producer or the consumer has been waiting on the broker right now, ms. */
  stalledFor(now = Date.now()): { producer: number; consumer: number } {
    const producer = this.sendStartedAt === null ? 0 : now - this.sendStartedAt
    let consumer = 0
    const lastSeq = new Map<number, number>()
    for (const [p, list] of this.consumed) lastSeq.set(p, list.length ? list[list.length - 1]!.seq : -1)
    // the oldest acknowledged record of each partition not consumed yet
    const open = new Set(Array.from({ length: this.partitions }, (_, p) => p))
    for (const a of this.acked) {
      if (open.size === 0) break
      if (!open.has(a.partition) || a.seq <= (lastSeq.get(a.partition) ?? -1)) continue
      consumer = Math.max(consumer, now - a.at)
      open.delete(a.partition)
    }
    return { producer, consumer }
  }

  /** Stops producing and waits until every acknowledged record has been consumed. */
  async finish(timeoutMs: number): Promise<void> {
    this.running = false
    await this.loop
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && this.stalledFor().consumer > 0) await new Promise((r) => setTimeout(r, 50))
  }

  /** Everything wrong with what was consumed against what was acknowledged; empty when exact. */
  problems(): string[] {
    const out: string[] = []
    for (let p = 0; p < this.partitions; p++) {
      const acked = this.acked.filter((a) => a.partition === p)
      const consumed = this.consumed.get(p) ?? []
      const seen = new Map<number, number>()
      for (let i = 0; i < consumed.length; i++) {
        const c = consumed[i]!
        seen.set(c.seq, (seen.get(c.seq) ?? 0) + 1)
        if (i > 0 && c.seq <= consumed[i - 1]!.seq) out.push(`partition ${p}: seq ${c.seq} at offset ${c.offset} after seq ${consumed[i - 1]!.seq}`)
      }
      for (const a of acked) {
        const n = seen.get(a.seq) ?? 0
        if (n !== 1) out.push(`partition ${p}: acknowledged seq ${a.seq} (offset ${a.offset}) consumed ${n} times`)
      }
      const offsets = new Map(consumed.map((c) => [c.seq, c.offset]))
      for (const a of acked) {
        const o = offsets.get(a.seq)
        if (o !== undefined && o !== a.offset) out.push(`partition ${p}: seq ${a.seq} acknowledged at offset ${a.offset}, consumed at ${o}`)
      }
    }
    return out.slice(0, 20)
  }

  /** Longest time from acknowledgement to consumption, ms. */
  maxLagMs(): number {
    const ackedAt = new Map(this.acked.map((a) => [a.seq, a.at]))
    let max = 0
    for (const list of this.consumed.values()) for (const c of list) max = Math.max(max, c.at - (ackedAt.get(c.seq) ?? c.at))
    return max
  }

  /** Stops and disconnects; safe to call more than once. */
  async close(): Promise<void> {
    this.running = false
    await this.loop
    const clients = [this.producer, this.consumer, this.admin]
    this.producer = this.consumer = this.admin = undefined
    await Promise.allSettled(clients.map((c) => c?.disconnect()))
  }
}
