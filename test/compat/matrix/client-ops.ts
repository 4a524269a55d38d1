// What a driver must do with its client. Drivers only act and report what their client saw;
// every check lives in scenarios.ts so all clients are held to the same standard.
import type { CodecName, FeatureId } from './features.js'

/**
 * One record as a client delivered it. Bytes travel as lowercase hex so the comparison is byte
 * for byte whatever the client's string handling; header keys are strings in Kafka's format.
 */
export interface SeenRecord {
  partition: number
  offset: number
  timestamp: number
  key: string | null
  value: string | null
  headers: Array<[string, string | null]>
}

export interface SeenMetadata {
  brokers: Array<{ nodeId: number; host: string; port: number }>
  topics: Array<{ name: string; partitions: Array<{ partition: number; leader: number }> }>
}

export interface OutgoingRecord {
  key: Buffer
  value: Buffer
  headers: Array<[string, Buffer]>
}

export interface ProduceSpec {
  topic: string
  partition: number
  codec: CodecName
  records: OutgoingRecord[]
}

export type StartPosition = { beginning: true } | { offset: number } | { timestamp: number }

export interface ConsumeSpec {
  topic: string
  partition: number
  from: StartPosition
  /** Stop after this many records; fewer within the timeout is an error. */
  count: number
}

/** Classic: JoinGroup/SyncGroup/Heartbeat. Consumer: KIP-848's ConsumerGroupHeartbeat. */
export type GroupProtocol = 'classic' | 'consumer'

export interface GroupSpec {
  topic: string
  groupId: string
  /** Records to read before committing and leaving the group. */
  count: number
  /** Asked only of clients that have the consumer protocol; absent means classic. */
  protocol?: GroupProtocol
}

export interface ClientOps {
  metadata(topics: string[]): Promise<SeenMetadata>
  createTopic(topic: string, partitions: number): Promise<void>
  /** Offsets the client reported for each record, in order; null if it reports none. */
  produce(spec: ProduceSpec): Promise<number[] | null>
  consume(spec: ConsumeSpec): Promise<SeenRecord[]>
  /**
   * Joins `groupId` subscribed to `topic` (earliest when nothing is committed), reads `count`
   * records, commits what it read, and leaves.
   */
  groupConsume(spec: GroupSpec): Promise<SeenRecord[]>
}

export interface ClientDriver {
  name: string
  /** The client's version and the features it lacks, or why it cannot run at all. */
  probe(): Promise<ClientProbe>
  /** Sets up connections to `address`; the returned ops are used one at a time. */
  open(address: string): Promise<ClientOps & { close(): Promise<void> }>
  /** Footnotes for cells that pass but were exercised in a way a reader should know about. */
  notes?: Partial<Record<FeatureId, string>>
}

export type ClientProbe =
  | {
      ok: true
      version: string
      /** Features this client does not have, each with the reason the README footnote gives. */
      notApplicable: Partial<Record<FeatureId, string>>
    }
  | { ok: false; reason: string }

export const hex = (b: Uint8Array | null | undefined): string | null =>
  b == null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

export const DEFAULT_OP_TIMEOUT_MS = 20_000

/** Footnote for a librdkafka-based client too old for the consumer group protocol. */
export const librdkafkaWithoutKip848 = (version: string) =>
  `librdkafka ${version} predates the consumer group protocol: group.protocol=consumer is generally available from librdkafka 2.12`

