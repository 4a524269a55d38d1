// The group members coordinator-failover.ts watches: a kafkajs consumer or a librdkafka one
// (@confluentinc/kafka-javascript from .cache/ckjs), each reporting every commit the coordinator
// accepted and every record it received (the record's value is its send time).
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel, type Consumer } from 'kafkajs'
import { sleep } from './procs.js'

export interface Watched {
  onCommit(): void
  onRecord(sentAt: number): void
}

export interface GroupMember {
  readonly client: string
  readonly settings: Record<string, unknown>
  start(): Promise<void>
  stop(): Promise<void>
}

const KAFKAJS_RETRY = { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 }

/** kafkajs, committing after every record (autoCommitThreshold 1); commits seen through its COMMIT_OFFSETS event. */
export function kafkajsMember(bootstrap: string[], group: string, topic: string, watched: Watched, debugLog: boolean): GroupMember {
  const settings = { sessionTimeout: 10_000, heartbeatInterval: 300, autoCommitThreshold: 1, retry: KAFKAJS_RETRY }
  const kafka = new Kafka({ clientId: 'samsa-bench-coordinator-failover', brokers: bootstrap, logLevel: debugLog ? logLevel.DEBUG : logLevel.NOTHING, retry: KAFKAJS_RETRY })
  const consumer: Consumer = kafka.consumer({ groupId: group, sessionTimeout: settings.sessionTimeout, heartbeatInterval: settings.heartbeatInterval, retry: KAFKAJS_RETRY })
  consumer.on(consumer.events.COMMIT_OFFSETS, () => watched.onCommit())
  return {
    client: 'kafkajs',
    settings,
    async start() {
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: false })
      await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ message }) => watched.onRecord(Number(message.value!.toString())) })
    },
    async stop() {
      await consumer.disconnect()
    },
  }
}

interface RdError {
  code: number
  message: string
}
type Callback<T> = (err: RdError | null | undefined, value: T) => void
interface RdConsumer {
  connect(opts: object, cb: Callback<unknown>): void
  disconnect(cb: Callback<unknown>): void
  subscribe(topics: string[]): void
  consume(count: number, cb: Callback<Array<{ value: Buffer | null }>>): void
  setDefaultConsumeTimeout(ms: number): void
  on(event: 'offset.commit', fn: (err: RdError | null | undefined) => void): void
}
interface RdKafka {
  librdkafkaVersion: string
  KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => RdConsumer
}

const PACKAGE = '@confluentinc/kafka-javascript'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(new Error(`${err.message} (code ${err.code})`)) : resolve(value))))
}

/** librdkafka, auto-committing every 100 ms; commits seen through offset_commit_cb. Throws when .cache/ckjs lacks the package. */
export function librdkafkaMember(bootstrap: string[], group: string, topic: string, watched: Watched): GroupMember {
  const rd = createRequire(path.join(ROOT, '.cache/ckjs/package.json'))(PACKAGE) as RdKafka
  const settings = { 'session.timeout.ms': 10_000, 'heartbeat.interval.ms': 300, 'enable.auto.commit': true, 'auto.commit.interval.ms': 100, 'fetch.wait.max.ms': 100, 'group.protocol': 'classic' }
  const consumer = new rd.KafkaConsumer({ 'bootstrap.servers': bootstrap.join(','), 'group.id': group, offset_commit_cb: true, ...settings }, { 'auto.offset.reset': 'latest' })
  consumer.on('offset.commit', (err) => {
    if (!err) watched.onCommit()
  })
  let running = false
  let loop: Promise<void> | undefined
  return {
    client: `librdkafka ${rd.librdkafkaVersion} (${PACKAGE})`,
    settings,
    async start() {
      await call((cb) => consumer.connect({}, cb))
      consumer.setDefaultConsumeTimeout(50)
      consumer.subscribe([topic])
      running = true
      loop = (async () => {
        while (running) {
          const messages = await call<Array<{ value: Buffer | null }>>((cb) => consumer.consume(100, cb)).catch(async () => {
            await sleep(20)
            return []
          })
          for (const m of messages) watched.onRecord(Number(m.value!.toString()))
        }
      })()
    },
    async stop() {
      running = false
      await loop
      await call((cb) => consumer.disconnect(cb))
    },
  }
}
