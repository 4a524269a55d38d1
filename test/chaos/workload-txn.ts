// The workload's second half: transactional producers (kafkajs, and librdkafka through confluent-kafka
// for Python) writing transactions over several partitions of their own topic, some committed and
// some aborted on purpose (the read_committed consumer of that topic is librdkafka's, started by
// chaos.test.ts: kafkajs 2.2's filter of aborted transactions steps into only one aborted
// transaction per record, so it delivers aborted records when two start before a fetch's first
// record); a consumer group of two
// kafkajs members consuming the idempotent producers' topic and committing offsets as they go, with
// the group's committed offsets polled by OffsetFetch throughout; and, after the run, the final
// read_committed read of every partition of the transactional topic. All of it lands in one
// TxnHistory for checker-txn.ts (the group members' reads go to the main History's live reads).
import kafkajs from 'kafkajs'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { FetchApi } from '../../protocol/generated/fetch.js'
import { batchSizeAt, isControl, isTransactional, readAttributes, readLastOffset, readProducerId } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import type { History } from './checker.js'
import type { Txn, TxnHistory } from './checker-txn.js'

const { Kafka, logLevel } = kafkajs
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

export function emptyTxnHistory(): TxnHistory {
  return { txns: [], committedReads: [], finalCommitted: new Map(), openAtEnd: new Map(), commits: [], observations: [] }
}

export interface TxnWorkloadOptions {
  bootstrap: string[]
  /** The idempotent producers' topic, which the group consumes. */
  topic: string
  partitions: number
  /** The transactional producers' topic. */
  txnTopic: string
  txnPartitions: number
  kafkajsTxnProducers: number
  group: string
  groupMembers: number
  random: () => number
  countError: (name: string) => void
  /** Where the group members' reads go (the main history's live reads). */
  history: History
}

/** Resolves with `p`, or with `undefined` once `ms` pass (leaving `p` to settle unobserved). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined
  return Promise.race([p.finally(() => clearTimeout(t)), new Promise<undefined>((r) => (t = setTimeout(() => r(undefined), ms)))])
}

const errorName = (err: unknown) => {
  const e = err as Error & { type?: string }
  return e.type ?? e.name ?? String(err)
}

export class TxnWorkload {
  readonly history = emptyTxnHistory()
  private stopping = false
  private readonly running: Array<Promise<void>> = []
  private readonly stops: Array<() => Promise<void>> = []

  constructor(private readonly opts: TxnWorkloadOptions) {}

  private kafka(clientId: string) {
    return new Kafka({ clientId, brokers: this.opts.bootstrap, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 10_000, retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 } })
  }

  start(): void {
    for (let i = 0; i < this.opts.kafkajsTxnProducers; i++) this.running.push(this.txnProducer(`tk${i}`))
    for (let i = 0; i < this.opts.groupMembers; i++) this.running.push(this.groupMember(`m${i}`))
    this.running.push(this.offsetPoller())
  }

  /** Stops producing; transactions in flight end (or are abandoned) and the consumers leave. */
  async stop(): Promise<void> {
    this.stopping = true
    await Promise.all(this.running)
  }

  /**
   * One transactional producer (transactional id `label`) after another: each transaction sends one
   * value to each of 2-3 distinct partitions, then commits (three times in four) or aborts. A send
   * that fails aborts the transaction, and then the producer is replaced by a new one with the same
   * transactional id; so is one whose commit or abort failed (the outcome is then unknown), and the
   * new one's InitProducerId fences the old one and ends its transaction.
   */
  private async txnProducer(label: string): Promise<void> {
    const { txnTopic, txnPartitions, random } = this.opts
    const kafka = this.kafka(`chaos-${label}`)
    for (let gen = 0; !this.stopping; gen++) {
      const producer = kafka.producer({ transactionalId: label, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 10_000, allowAutoTopicCreation: false, retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 } })
      const connected = await within(producer.connect().then(() => true, () => false), 30_000)
      if (connected !== true) {
        this.opts.countError('kafkajs txn connect failed')
        void producer.disconnect().catch(() => {})
        await sleep(500)
        continue
      }
      for (let n = 0; !this.stopping; n++) {
        const txn: Txn = { id: `${label}.${gen}-${n}`, intent: random() < 0.75 ? 'commit' : 'abort', outcome: 'unknown', values: [] }
        this.history.txns.push(txn)
        const healthy = await within(this.runTxn(producer, txn, txnTopic, txnPartitions), 60_000)
        if (healthy !== true) {
          if (healthy === undefined) this.opts.countError('kafkajs txn abandoned after 60 s')
          break
        }
      }
      await within(producer.disconnect().catch(() => {}), 10_000)
    }
  }

  /** One transaction; whether the producer can go on (every send and its EndTxn were acknowledged). */
  private async runTxn(producer: kafkajs.Producer, txn: Txn, topic: string, partitions: number): Promise<boolean> {
    const { random } = this.opts
    let t: kafkajs.Transaction
    try {
      t = await producer.transaction()
    } catch (err) {
      this.opts.countError(`kafkajs txn begin ${errorName(err)}`)
      txn.intent = 'abort'
      return false
    }
    let sendFailed = false
    const chosen = [...Array(partitions).keys()].sort(() => random() - 0.5).slice(0, 2 + Math.floor(random() * 2))
    for (const [i, partition] of chosen.entries()) txn.values.push([partition, `${txn.id}-${i}`])
    try {
      // One send per partition: kafkajs retries a send as a whole, so a send to several partitions
      // that failed on one would write the others' values again under new sequence numbers.
      for (const [partition, value] of txn.values) await t.send({ topic, acks: -1, timeout: 10_000, messages: [{ partition, value }] })
    } catch (err) {
      this.opts.countError(`kafkajs txn send ${errorName(err)}`)
      txn.intent = 'abort'
      sendFailed = true
    }
    try {
      if (txn.intent === 'commit') await t.commit()
      else await t.abort()
      txn.outcome = txn.intent === 'commit' ? 'committed' : 'aborted'
      // kafkajs takes back the sequence number of a send that failed, although the broker may have
      // appended the batch; the next transaction's record under it is refused (out of sequence).
      // A new producer under the same transactional id starts a new epoch, sequences from 0.
      return !sendFailed
    } catch (err) {
      this.opts.countError(`kafkajs txn ${txn.intent} ${errorName(err)}`)
      return false
    }
  }

  /**
   * A member of the group: reads the idempotent topic from the group's committed offsets (the
   * beginning when none) and, after each batch, commits the offset after its last record,
   * recording when each commit was sent and acknowledged. A member that crashes is replaced.
   */
  private async groupMember(label: string): Promise<void> {
    const { topic, group } = this.opts
    const kafka = this.kafka(`chaos-${label}`)
    while (!this.stopping) {
      const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, rebalanceTimeout: 20_000, heartbeatInterval: 1000, retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 2000 } })
      let crashed = false
      consumer.on(consumer.events.CRASH, (e) => {
        if (!e.payload.restart) crashed = true
        this.opts.countError(`kafkajs member crash ${errorName(e.payload.error)}`)
      })
      try {
        await consumer.connect()
        await consumer.subscribe({ topic, fromBeginning: true })
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch, isStale }) => {
            for (const m of batch.messages) this.opts.history.liveReads.push([batch.partition, Number(m.offset), m.value?.toString() ?? ''])
            if (batch.messages.length === 0 || isStale()) return
            const offset = Number(batch.lastOffset()) + 1
            const commit = { partition: batch.partition, offset, sentAt: Date.now(), ackedAt: undefined as number | undefined }
            this.history.commits.push(commit)
            try {
              await consumer.commitOffsets([{ topic, partition: batch.partition, offset: String(offset) }])
              commit.ackedAt = Date.now()
            } catch (err) {
              this.opts.countError(`kafkajs commit ${errorName(err)}`)
            }
          },
        })
        while (!this.stopping && !crashed) await sleep(250)
      } catch (err) {
        this.opts.countError(`kafkajs member ${errorName(err)}`)
        await sleep(500)
      }
      await within(consumer.disconnect().catch(() => {}), 15_000)
    }
  }

  /** The group's committed offsets by OffsetFetch, about once a second. */
  private async offsetPoller(): Promise<void> {
    const { group, topic } = this.opts
    const admin = this.kafka('chaos-offsets').admin({ retry: { retries: 1, initialRetryTime: 200 } })
    await within(admin.connect().catch(() => {}), 10_000)
    while (!this.stopping) {
      const sentAt = Date.now()
      const answer = await within(admin.fetchOffsets({ groupId: group, topics: [topic] }).catch((err: unknown) => {
        this.opts.countError(`kafkajs OffsetFetch ${errorName(err)}`)
        return undefined
      }), 15_000)
      const answeredAt = Date.now()
      if (answer !== undefined) {
        const offsets = new Map<number, number>()
        for (const p of answer.find((t) => t.topic === topic)?.partitions ?? []) offsets.set(p.partition, Number(p.offset))
        this.history.observations.push({ sentAt, answeredAt, offsets })
      }
      await sleep(1000)
    }
    await within(admin.disconnect().catch(() => {}), 10_000)
  }
}

/**
 * What a read_committed consumer sees of one partition, from offset 0 up to its last stable offset,
 * by plain Fetch (isolation level 1) from `address` (its leader), dropping control batches and the
 * batches of the aborted transactions the broker lists, as clients do. With the last stable offset
 * and the high watermark, which are equal once no transaction is open.
 */
export async function readCommitted(address: string, topic: string, partition: number): Promise<{ records: Array<[number, string]>; lastStableOffset: number; highWatermark: number }> {
  const conn = await BrokerConnection.connect(address, { clientId: 'partition-reader', connectTimeoutMs: 5000, requestTimeoutMs: 30_000 })
  const records: Array<[number, string]> = []
  let offset = 0
  let lastStableOffset = -1
  let highWatermark = -1
  try {
    for (;;) {
      const res = await conn.request(FetchApi, 12, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 22,
        isolationLevel: 1, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 22, replicaDirectoryId: ZERO_UUID }] }],
      })
      const p = res.responses[0]!.partitions[0]!
      if (p.errorCode !== ErrorCode.NONE) throw new Error(`fetch of ${topic}-${partition} at ${offset} from ${address} answered error ${p.errorCode}`)
      lastStableOffset = Number(p.lastStableOffset)
      highWatermark = Number(p.highWatermark)
      const pending = [...(p.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset))
      const abortedNow = new Set<number>()
      const bytes = p.records ?? new Uint8Array()
      const from = offset
      for (let pos = 0; pos + 61 <= bytes.length; pos += batchSizeAt(bytes, pos)) {
        const last = readLastOffset(bytes, pos)
        const attributes = readAttributes(bytes, pos)
        const producerId = readProducerId(bytes, pos)
        while (pending.length > 0 && Number(pending[0]!.firstOffset) <= last) abortedNow.add(Number(pending.shift()!.producerId))
        if (last >= offset) offset = last + 1
        if (isControl(attributes)) {
          // An abort marker ends that producer's aborted transaction; a commit marker cannot follow one.
          for (const r of iterateRecords(bytes, pos)) if (r.key !== null && r.key.length >= 4 && r.key[3] === 0) abortedNow.delete(producerId)
          continue
        }
        if (isTransactional(attributes) && abortedNow.has(producerId)) continue
        for (const r of iterateRecords(bytes, pos)) if (Number(r.offset) >= from && Number(r.offset) < lastStableOffset) records.push([Number(r.offset), Buffer.from(r.value!).toString()])
      }
      if (offset >= lastStableOffset || bytes.length === 0) break
    }
  } finally {
    conn.close()
  }
  return { records, lastStableOffset, highWatermark }
}
