// The shape of one benchmark run, shared by the workloads and the report writers.
import type { ResourceUsage } from './procs.js'

export interface Percentiles {
  p50: number
  p99: number
  p999: number
  max: number
  count: number
}

export interface Row {
  /** Samsa, Redis Streams, NATS JetStream, or a ceiling. */
  system: string
  /** The load generator or client library that drove it. */
  client: string
  /** produce-1k, produce-100b, produce-1k-durable, latency-50k, consume-backlog. */
  workload: string
  recordBytes: number
  /** What "acknowledged" meant: acks=1, acks=all (fsync), appendfsync everysec, ... */
  durability: string
  recordsPerSec: number
  /** Payload bytes (records x record size) per second, in MiB/s, the same measure for every system. */
  mibPerSec: number
  /** Publish latency (intended send time to acknowledgement), milliseconds. */
  publishMs?: Percentiles
  /** End-to-end latency (intended send time to receipt by a consumer), milliseconds. */
  e2eMs?: Percentiles
  /** The server process while the workload ran. */
  server?: ResourceUsage
  note?: string
}

/** One way of running a consumer group, measured by bench/e2e/rebalance.ts. */
export interface RebalanceRow {
  client: string
  /** librdkafka's group.protocol. */
  protocol: 'classic' | 'consumer'
  assignor: string
  partitions: number
  members: number
  /** The most records a member processes per second (the work each record stands for). */
  memberRecordsPerSec: number
  /** A new member's start to the group consuming every partition again: the third member, then each replacement. */
  joinMs: number[]
  /** Records/s the members consumed together before the restart. */
  steadyRecordsPerSec: number
  /** From the first member's close to the group consuming everywhere after the last replacement. */
  restartSeconds: number
  /** Records consumed in that window, each counted once. */
  restartRecords: number
  restartRecordsPerSec: number
  /** Records delivered again in that window (read past the last committed offset before a handover). */
  rereadRecords: number
}

export interface Ceiling {
  name: string
  mibPerSec: number
  note: string
}

export interface Startup {
  /** Spawn of `samsa serve` to its "listening on" line, milliseconds, per attempt. */
  toListeningMs: number[]
  idleRssMiB: number
}

/** One point of a scale curve (bench/e2e/scale.ts): the broker with `n` of what grows on `axis`. */
export interface ScalePoint {
  axis: 'partitions' | 'connections' | 'producers'
  n: number
  /** The same broker just before the partitions or connections existed. */
  baseRssMiB?: number
  baseFds?: number
  /** Idle with them: RSS at the end of the sampling window, CPU over it, open descriptors. */
  idleRssMiB?: number
  idleCpuPct?: number
  fds?: number
  /** CreateTopics of `n` partitions, request to answer. */
  createMs?: number
  /** produce-1k acks=1 (records of 1 KiB). */
  produce?: { records: number; seconds: number; server: ResourceUsage }
  /** A fetch of what the produce run wrote, from offset 0. */
  fetch?: { records: number; seconds: number; server: ResourceUsage }
  /** RSS once the produce and fetch runs are over. */
  loadedRssMiB?: number
  /** SIGTERM to exit (a clean stop). */
  stopMs?: number
  /** Restart on the same data directory: spawn to "listening on", and idle RSS after. */
  restartMs?: number
  restartRssMiB?: number
  note?: string
}

export interface ScaleReport {
  points: ScalePoint[]
}

export interface RunReport {
  date: string
  mode: 'quick' | 'full'
  host: { cpus: number; cpuModel: string; memGiB: number; node: string; kernel: string; load1: number }
  settings: Record<string, number | string>
  ceilings: Ceiling[]
  startup?: Startup
  rows: Row[]
  /** Consumer-group rebalancing under each group protocol, when measured. */
  rebalance?: RebalanceRow[]
  /** Scale curves (partitions, connections, producers), when measured. */
  scale?: ScaleReport
  skipped: string[]
  ratios: Array<{ name: string; value: number; detail: string }>
}

export const MiB = 1024 * 1024
