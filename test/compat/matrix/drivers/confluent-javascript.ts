// @confluentinc/kafka-javascript: librdkafka (the version the package bundles, built from its
// sources at install) through the package's node-rdkafka-style API: AdminClient, a Producer with
// acks=all and delivery reports, and KafkaConsumer, assign()ed for reads from a position and
// subscribe()d for groups. A group member speaks the classic protocol or KIP-848's consumer
// protocol as GroupSpec.protocol says (librdkafka's group.protocol).
//
// The package is not in package.json: its install builds librdkafka (minutes, and without GitHub
// only with CKJS_LINKING=dynamic), which `npm ci` for running a broker must not pay. It lives in
// .cache/ckjs, installed by test/compat/matrix/install-confluent-javascript.sh (CI runs it); the
// types below are the part of its API this driver uses.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { DEFAULT_OP_TIMEOUT_MS, hex, type ClientDriver, type ClientOps, type SeenRecord } from '../client-ops.js'

type Callback<T> = (err: LibrdKafkaError | null | undefined, value: T) => void
interface LibrdKafkaError {
  message: string
  code: number
}
type MessageHeader = Record<string, Buffer | string | null | undefined>
interface Message {
  value: Buffer | null
  key?: Buffer | string | null
  partition: number
  offset: number
  timestamp?: number
  headers?: MessageHeader[]
}
interface Metadata {
  brokers: Array<{ id: number; host: string; port: number }>
  topics: Array<{ name: string; partitions: Array<{ id: number; leader: number }> }>
}
interface TopicPartitionOffset {
  topic: string
  partition: number
  offset: number
}
interface Client {
  connect(opts: object, cb: Callback<unknown>): void
  disconnect(cb: Callback<unknown>): void
  getMetadata(opts: { topic?: string; allTopics?: boolean; timeout?: number }, cb: Callback<Metadata>): void
}
interface Producer extends Client {
  setPollInterval(ms: number): void
  on(event: 'delivery-report', fn: (err: LibrdKafkaError | null, report: { opaque: unknown; offset: number }) => void): void
  produce(topic: string, partition: number, value: Buffer | null, key: Buffer | null, timestamp: number | null, opaque: unknown, headers: MessageHeader[]): void
  flush(timeoutMs: number, cb: Callback<void>): void
}
interface KafkaConsumer extends Client {
  consume(count: number, cb: Callback<Message[]>): void
  assign(assignments: TopicPartitionOffset[]): void
  subscribe(topics: string[]): void
  commit(offsets: TopicPartitionOffset[]): void
  committed(partitions: Array<{ topic: string; partition: number }>, timeoutMs: number, cb: Callback<Array<{ offset: number }>>): void
  offsetsForTimes(partitions: TopicPartitionOffset[], timeoutMs: number, cb: Callback<Array<{ partition: number; offset: number }>>): void
}
interface AdminClient {
  createTopic(t: { topic: string; num_partitions: number; replication_factor: number }, timeoutMs: number, cb: Callback<void>): void
  disconnect(): void
}
interface RdKafka {
  librdkafkaVersion: string
  Producer: new (config: Record<string, unknown>) => Producer
  KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => KafkaConsumer
  AdminClient: { create(config: Record<string, unknown>): AdminClient }
}

const PACKAGE = '@confluentinc/kafka-javascript'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..')
const require = createRequire(path.join(ROOT, '.cache/ckjs/package.json'))

/** The package's native binding loads on require; a missing or unbuilt package is reported, not thrown. */
function load(): RdKafka {
  return require(PACKAGE) as RdKafka
}

const OFFSET_BEGINNING = -2
const POLL_BATCH = 100

/** Turns a node-style callback API into a promise. */
function call<T>(fn: (cb: (err: LibrdKafkaError | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(asError(err)) : resolve(value))))
}

function asError(err: unknown): Error {
  if (err instanceof Error) return err
  const e = err as { message?: string; code?: number }
  return new Error(`${e.message ?? String(err)}${e.code !== undefined ? ` (code ${e.code})` : ''}`)
}

function headerList(h: MessageHeader[] | undefined): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = []
  for (const one of h ?? []) {
    for (const [k, v] of Object.entries(one)) out.push([k, v == null ? null : hex(Buffer.isBuffer(v) ? v : Buffer.from(v))])
  }
  return out
}

function seen(m: Message): SeenRecord {
  const key = m.key == null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(String(m.key))
  return { partition: m.partition, offset: m.offset, timestamp: m.timestamp ?? -1, key: hex(key), value: hex(m.value), headers: headerList(m.headers) }
}

/** Polls `consumer` until `count` records arrived or time ran out. */
async function pollUntil(consumer: KafkaConsumer, count: number, what: string): Promise<SeenRecord[]> {
  const records: SeenRecord[] = []
  const deadline = Date.now() + DEFAULT_OP_TIMEOUT_MS
  while (records.length < count && Date.now() < deadline) {
    const batch = await call<Message[]>((cb) => consumer.consume(Math.min(POLL_BATCH, count - records.length), cb))
    for (const m of batch) records.push(seen(m))
  }
  if (records.length < count) {
    throw new Error(`${what}: ${records.length} of ${count} records within ${DEFAULT_OP_TIMEOUT_MS} ms (offsets ${records.map((r) => r.offset).join(',') || 'none'})`)
  }
  return records
}

/**
 * commit() and then committed() until the broker reports the offsets. commitSync() would block
 * the event loop until the broker answers, and the matrix's broker runs on that same loop.
 */
async function commitAndConfirm(consumer: KafkaConsumer, offsets: Array<{ topic: string; partition: number; offset: number }>): Promise<void> {
  consumer.commit(offsets)
  const want = JSON.stringify(offsets.map((o) => o.offset))
  const deadline = Date.now() + DEFAULT_OP_TIMEOUT_MS
  let seen = ''
  while (Date.now() < deadline) {
    const got = await call<Array<{ offset: number }>>((cb) => consumer.committed(offsets.map(({ topic, partition }) => ({ topic, partition })), 5000, cb))
    seen = JSON.stringify(got.map((o) => o.offset))
    if (seen === want) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`committed offsets ${seen}, expected ${want} after commit()`)
}

export const confluentJavascriptDriver: ClientDriver = {
  name: PACKAGE,

  async probe() {
    let rd: RdKafka
    try {
      rd = load()
    } catch (err) {
      return { ok: false, reason: `cannot load ${PACKAGE} (${(err as Error).message.split('\n')[0]}); test/compat/matrix/install-confluent-javascript.sh installs it into .cache/ckjs` }
    }
    const version = (require(`${PACKAGE}/package.json`) as { version: string }).version
    return { ok: true, version: `${version} (librdkafka ${rd.librdkafkaVersion})`, notApplicable: {} }
  },

  async open(address) {
    const rd = load()
    const common = { 'bootstrap.servers': address, 'client.id': 'samsa-matrix', 'socket.timeout.ms': 10_000 }
    // Each record's delivery report finds its promise through the opaque number sent with it.
    const pending = new Map<number, (err: Error | null, offset: number) => void>()
    let nextOpaque = 0
    async function connectProducer(config: Record<string, unknown> = {}): Promise<Producer> {
      const p = new rd.Producer({ ...common, acks: -1, dr_cb: true, 'linger.ms': 5, ...config })
      await call((cb) => p.connect({}, cb))
      p.setPollInterval(20)
      p.on('delivery-report', (err, report) => {
        const done = pending.get(report.opaque as number)
        pending.delete(report.opaque as number)
        done?.(err ? asError(err) : null, report.offset)
      })
      return p
    }
    const producer = await connectProducer()
    const admin = rd.AdminClient.create(common)

    async function withConsumer<T>(config: Record<string, unknown>, fn: (c: KafkaConsumer) => Promise<T>): Promise<T> {
      const consumer = new rd.KafkaConsumer({ ...common, 'enable.auto.commit': false, 'fetch.wait.max.ms': 200, ...config }, { 'auto.offset.reset': 'earliest' })
      await call((cb) => consumer.connect({}, cb))
      try {
        return await fn(consumer)
      } finally {
        await call((cb) => consumer.disconnect(cb)).catch(() => {})
      }
    }

    const ops: ClientOps & { close(): Promise<void> } = {
      async metadata(topics) {
        const md = await call<Metadata>((cb) => producer.getMetadata({ topic: topics[0], allTopics: false, timeout: 10_000 }, cb))
        return {
          brokers: md.brokers.map((b) => ({ nodeId: b.id, host: b.host, port: b.port })),
          topics: md.topics.filter((t) => topics.includes(t.name)).map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.id, leader: p.leader })) })),
        }
      },

      async createTopic(topic, partitions) {
        await call<void>((cb) => admin.createTopic({ topic, num_partitions: partitions, replication_factor: 1 }, 10_000, cb))
      },

      async produce({ topic, partition, codec, records }) {
        // compression is a producer-wide setting in librdkafka, so each codec gets its own producer
        const p = codec === 'none' ? producer : await connectProducer({ 'compression.codec': codec })
        try {
          const offsets = records.map(
            (r) =>
              new Promise<number>((resolve, reject) => {
                const opaque = nextOpaque++
                pending.set(opaque, (err, offset) => (err ? reject(err) : resolve(offset)))
                p.produce(topic, partition, r.value, r.key, null, opaque, r.headers.map(([k, v]) => ({ [k]: v })))
              }),
          )
          await call<void>((cb) => p.flush(10_000, cb))
          return await Promise.all(offsets)
        } finally {
          if (p !== producer) await call((cb) => p.disconnect(cb)).catch(() => {})
        }
      },

      async consume({ topic, partition, from, count }) {
        return withConsumer({ 'group.id': 'samsa-matrix-reader' }, async (consumer) => {
          let offset = OFFSET_BEGINNING
          if ('offset' in from) offset = from.offset
          else if ('timestamp' in from) {
            const found = await call<Array<{ partition: number; offset: number }>>((cb) => consumer.offsetsForTimes([{ topic, partition, offset: from.timestamp }], 10_000, cb))
            const p = found.find((o) => o.partition === partition)
            if (!p) throw new Error(`offsetsForTimes returned no offset for partition ${partition}`)
            offset = p.offset
          }
          consumer.assign([{ topic, partition, offset }])
          return pollUntil(consumer, count, `${PACKAGE} reader of ${topic}`)
        })
      },

      async groupConsume({ topic, groupId, count, protocol }) {
        return withConsumer({ 'group.id': groupId, 'group.protocol': protocol ?? 'classic' }, async (consumer) => {
          consumer.subscribe([topic])
          const records = await pollUntil(consumer, count, `${PACKAGE} group member of ${topic}`)
          const next = new Map<number, number>()
          for (const r of records) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1))
          await commitAndConfirm(consumer, [...next].map(([p, offset]) => ({ topic, partition: p, offset })))
          return records
        })
      },

      async close() {
        await call((cb) => producer.disconnect(cb)).catch(() => {})
        admin.disconnect()
      },
    }
    return ops
  },
}
