// @confluentinc/kafka-javascript (librdkafka through its node-rdkafka-style API), loaded from
// .cache/ckjs where test/compat/matrix/install-confluent-javascript.sh installs it: it is kept out
// of package.json because its install builds librdkafka. The types are the part of the API the
// group tests use. `loadConfluentJavascript` reports why the package cannot be loaded instead of
// throwing, so a test can skip with that reason.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface LibrdKafkaError {
  message: string
  code: number
}
export type NodeCallback<T> = (err: LibrdKafkaError | null | undefined, value: T) => void

export interface TopicPartition {
  topic: string
  partition: number
}
export interface TopicPartitionOffset extends TopicPartition {
  offset: number
}
export interface ConsumedMessage {
  topic: string
  partition: number
  offset: number
  value: Buffer | null
}

export interface KafkaConsumer {
  connect(opts: object, cb: NodeCallback<unknown>): void
  disconnect(cb: NodeCallback<unknown>): void
  subscribe(topics: string[]): void
  unsubscribe(): void
  consume(count: number, cb: NodeCallback<ConsumedMessage[]>): void
  setDefaultConsumeTimeout(ms: number): void
  incrementalAssign(tps: TopicPartition[]): void
  incrementalUnassign(tps: TopicPartition[]): void
  assign(tps: TopicPartition[]): void
  unassign(): void
  assignmentLost(): boolean
  rebalanceProtocol(): 'COOPERATIVE' | 'EAGER' | 'NONE'
  commit(offsets: TopicPartitionOffset[]): void
  commitSync(offsets: TopicPartitionOffset[]): void
  committed(tps: TopicPartition[], timeoutMs: number, cb: NodeCallback<TopicPartitionOffset[]>): void
  on(event: 'event.error', fn: (err: LibrdKafkaError) => void): void
}

export interface Producer {
  connect(opts: object, cb: NodeCallback<unknown>): void
  disconnect(cb: NodeCallback<unknown>): void
  setPollInterval(ms: number): void
  produce(topic: string, partition: number | null, value: Buffer, key: Buffer | null): void
  flush(timeoutMs: number, cb: NodeCallback<void>): void
}

export interface RdKafka {
  librdkafkaVersion: string
  KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => KafkaConsumer
  Producer: new (config: Record<string, unknown>) => Producer
}

/** librdkafka's RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS and __REVOKE_PARTITIONS, as rebalance callbacks get them. */
export const ERR_ASSIGN_PARTITIONS = -175
export const ERR_REVOKE_PARTITIONS = -174

const PACKAGE = '@confluentinc/kafka-javascript'
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export function loadConfluentJavascript(): { rd: RdKafka } | { reason: string } {
  try {
    const require = createRequire(path.join(ROOT, '.cache/ckjs/package.json'))
    return { rd: require(PACKAGE) as RdKafka }
  } catch (err) {
    const first = (err as Error).message.split('\n')[0]
    return { reason: `${PACKAGE} not loadable from .cache/ckjs (${first}); test/compat/matrix/install-confluent-javascript.sh installs it` }
  }
}

/** Turns a node-style callback API into a promise. */
export function call<T>(fn: (cb: NodeCallback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    fn((err, value) => (err ? reject(new Error(`${err.message ?? String(err)} (code ${err.code})`)) : resolve(value))),
  )
}
