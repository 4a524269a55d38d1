// Consumer-group rebalancing as librdkafka (@confluentinc/kafka-javascript, from .cache/ckjs) sees
// it under the three ways it can run a group: the classic protocol with the eager range assignor,
// the classic protocol with cooperative-sticky, and KIP-848's consumer protocol (the broker assigns).
// The three run one after the other against one broker, each on a topic of its own holding a
// backlog larger than the run consumes, so a member always has records to read.
//
// Each member processes at most MEMBER_RATE records/s (it waits after each batch as if every
// record cost 1/MEMBER_RATE s of work), so the figures measure work lost to rebalancing rather
// than the client's raw speed. Two figures per protocol:
// - join to consuming: from a new member's start (connect + subscribe) until every partition is
//   owned, every member holds its share, and every partition has delivered a record to its owner
//   since that owner got it; taken for a third member joining two, and for each replacement below;
// - rolling restart: three members, each closed and replaced in turn (the next closes once the
//   group consumes everything again); records consumed in that window, against what the three
//   consumed per second just before it. Consumption is counted once per record (the furthest
//   offset reached per partition), so records read again after a handover do not count twice.
// Heartbeats are 1 s under every protocol: librdkafka's heartbeat.interval.ms for the classic
// protocol and the broker's group.consumer.heartbeat.interval.ms for KIP-848, so the protocols
// differ in what they do, not in how often members talk.
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { mkdtempSync } from 'node:fs'
import { sleep, stopService } from './procs.js'
import type { RebalanceRow } from './results.js'
import { createTopic, startSamsa, wireProduce, type SamsaServer } from './samsa.js'

const PARTITIONS = 12
const MEMBERS = 3
const MEMBER_RATE = 1000
const RECORD_BYTES = 100
const HEARTBEAT_MS = 1000
const CONDITION_TIMEOUT_MS = 60_000

interface Mode {
  protocol: 'classic' | 'consumer'
  assignor: string
  config: Record<string, unknown>
}

const MODES: readonly Mode[] = [
  { protocol: 'classic', assignor: 'range (eager)', config: { 'group.protocol': 'classic', 'partition.assignment.strategy': 'range' } },
  { protocol: 'classic', assignor: 'cooperative-sticky', config: { 'group.protocol': 'classic', 'partition.assignment.strategy': 'cooperative-sticky' } },
  { protocol: 'consumer', assignor: 'uniform (broker)', config: { 'group.protocol': 'consumer' } },
]

interface LibrdKafkaError {
  code: number
  message: string
}
type Callback<T> = (err: LibrdKafkaError | null | undefined, value: T) => void
interface Message {
  partition: number
  offset: number
}
interface KafkaConsumer {
  connect(opts: object, cb: Callback<unknown>): void
  disconnect(cb: Callback<unknown>): void
  subscribe(topics: string[]): void
  consume(count: number, cb: Callback<Message[]>): void
  setDefaultConsumeTimeout(ms: number): void
  on(event: 'rebalance', fn: (err: LibrdKafkaError, assignment: Array<{ partition: number }>) => void): void
}
interface RdKafka {
  librdkafkaVersion: string
  KafkaConsumer: new (config: Record<string, unknown>, topicConfig: Record<string, unknown>) => KafkaConsumer
}

const ERR_ASSIGN = -175
const ERR_REVOKE = -174
const here = path.dirname(fileURLToPath(import.meta.url))
// dist/bench/e2e -> repository root
const ROOT = path.resolve(here, '../../..')
const PACKAGE = '@confluentinc/kafka-javascript'

/** The package, or why it cannot be loaded (test/compat/matrix/install-confluent-javascript.sh installs it). */
function loadRdKafka(): { rd: RdKafka; version: string } | { missing: string } {
  try {
    const require = createRequire(path.join(ROOT, '.cache/ckjs/package.json'))
    const rd = require(PACKAGE) as RdKafka
    const { version } = require(`${PACKAGE}/package.json`) as { version: string }
    return { rd, version: `${PACKAGE} ${version} (librdkafka ${rd.librdkafkaVersion})` }
  } catch (err) {
    return { missing: `${PACKAGE} not in .cache/ckjs (${(err as Error).message.split('\n')[0]}); test/compat/matrix/install-confluent-javascript.sh installs it` }
  }
}

/** What the members of one group consumed together. */
class Progress {
  /** partition -> furthest offset consumed + 1. */
  readonly furthest = new Map<number, number>()
  /** Records delivered, counting re-reads. */
  deliveries = 0

  /** Records consumed, each once. */
  consumed(): number {
    let n = 0
    for (const v of this.furthest.values()) n += v
    return n
  }
}

class Member {
  /** partition -> when the member got it; and when it first delivered a record of it since. */
  readonly owned = new Map<number, number>()
  readonly deliveredSince = new Map<number, number>()
  private readonly consumer: KafkaConsumer
  private running = false
  private loop: Promise<void> | null = null
  private busyUntil = 0

  constructor(rd: RdKafka, bootstrap: string, groupId: string, private readonly topic: string, mode: Mode, private readonly progress: Progress) {
    const classic = mode.protocol === 'classic' ? { 'heartbeat.interval.ms': HEARTBEAT_MS, 'session.timeout.ms': 10_000 } : {}
    this.consumer = new rd.KafkaConsumer(
      {
        'bootstrap.servers': bootstrap,
        'group.id': groupId,
        'enable.auto.commit': true,
        'auto.commit.interval.ms': 1000,
        'fetch.wait.max.ms': 100,
        // A short prefetch queue: with librdkafka's defaults (up to 100,000 records or 64 MiB per
        // partition) a member working at MEMBER_RATE would sit for many seconds on records queued
        // before a rebalance, which would hide what the protocol does.
        'queued.min.messages': 200,
        'queued.max.messages.kbytes': 64,
        'max.partition.fetch.bytes': 16 * 1024,
        rebalance_cb: true,
        ...classic,
        ...mode.config,
      },
      { 'auto.offset.reset': 'earliest' },
    )
    this.consumer.on('rebalance', (err, assignment) => {
      const now = performance.now()
      for (const { partition } of assignment) {
        this.deliveredSince.delete(partition)
        if (err.code === ERR_ASSIGN) this.owned.set(partition, now)
        else if (err.code === ERR_REVOKE) this.owned.delete(partition)
      }
    })
  }

  async start(): Promise<void> {
    await call((cb) => this.consumer.connect({}, cb))
    this.consumer.setDefaultConsumeTimeout(50)
    this.consumer.subscribe([this.topic])
    this.running = true
    this.loop = this.consumeLoop()
  }

  async close(): Promise<void> {
    this.running = false
    await this.loop
    await call((cb) => this.consumer.disconnect(cb))
  }

  private async consumeLoop(): Promise<void> {
    const batch = MEMBER_RATE / 20
    while (this.running) {
      const messages = await call<Message[]>((cb) => this.consumer.consume(batch, cb)).catch(() => [] as Message[])
      const now = performance.now()
      for (const m of messages) {
        if (!this.owned.has(m.partition)) continue
        this.progress.deliveries++
        if (!this.deliveredSince.has(m.partition)) this.deliveredSince.set(m.partition, now)
        if (m.offset + 1 > (this.progress.furthest.get(m.partition) ?? 0)) this.progress.furthest.set(m.partition, m.offset + 1)
      }
      // The work the records stand for: MEMBER_RATE records per second at most.
      this.busyUntil = Math.max(now, this.busyUntil) + (messages.length * 1000) / MEMBER_RATE
      const wait = this.busyUntil - performance.now()
      if (wait > 0) await sleep(wait)
    }
  }
}

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(new Error(`${err.message} (code ${err.code})`)) : resolve(value))))
}

/** Every partition owned, every member with its share, every partition delivering to its owner. */
function consumingEverywhere(members: readonly Member[]): boolean {
  const share = Math.floor(PARTITIONS / members.length)
  let owned = 0
  for (const m of members) {
    if (m.owned.size < share) return false
    for (const p of m.owned.keys()) if (!m.deliveredSince.has(p)) return false
    owned += m.owned.size
  }
  return owned === PARTITIONS
}

async function untilConsumingEverywhere(members: readonly Member[], what: string): Promise<void> {
  const deadline = performance.now() + CONDITION_TIMEOUT_MS
  while (!consumingEverywhere(members)) {
    if (performance.now() > deadline) throw new Error(`${what}: the group did not settle within ${CONDITION_TIMEOUT_MS / 1000} s`)
    await sleep(5)
  }
}

export interface SectionContext {
  progress(msg: string): void
  /** What could not be measured, and why. */
  skipped: string[]
  /** Stops for what is still running when the harness is interrupted. */
  stops: Array<() => Promise<void>>
}

/** The three ways librdkafka runs a group, one after the other on a broker of their own under `work`. */
export async function benchRebalance(work: string, steadySeconds: number, ctx: SectionContext): Promise<RebalanceRow[]> {
  const loaded = loadRdKafka()
  if ('missing' in loaded) {
    ctx.skipped.push(`consumer-group rebalancing: ${loaded.missing}`)
    return []
  }
  const samsa = await startSamsa(mkdtempSync(path.join(work, 'samsa-rebalance-')), ['--set', `group.consumer.heartbeat.interval.ms=${HEARTBEAT_MS}`])
  ctx.stops.push(() => stopService(samsa.service.child))
  const rows: RebalanceRow[] = []
  for (const mode of MODES) {
    const label = `samsa: consumer-group rebalancing, ${mode.protocol} protocol, ${mode.assignor}`
    ctx.progress(`${label}...`)
    try {
      rows.push(await measureRebalancing(samsa, loaded.rd, loaded.version, mode, steadySeconds, ctx.progress))
    } catch (err) {
      ctx.skipped.push(`${label}: ${(err as Error).message.split('\n')[0]}`)
      ctx.progress(`  failed: ${(err as Error).message.split('\n')[0]}`)
    }
  }
  await stopService(samsa.service.child)
  return rows
}

/** Runs one protocol's join and rolling restart; the members are closed at the end either way. */
async function measureRebalancing(samsa: SamsaServer, rd: RdKafka, client: string, mode: Mode, steadySeconds: number, log: (msg: string) => void): Promise<RebalanceRow> {
  const id = `${mode.protocol}-${mode.assignor.replace(/\W+/g, '-')}`
  const topic = `rebalance-${id}`
  const groupId = `bench-${id}`
  await createTopic(samsa, topic, PARTITIONS)
  // More than the run can consume, so every partition always has records to deliver; in batches
  // of 4 KiB, so every fetch (16 KiB a partition) returns records of every partition it asks for.
  const expected = MEMBERS * MEMBER_RATE * (steadySeconds + 180)
  await wireProduce(samsa, topic, PARTITIONS, RECORD_BYTES, 1, 120, { connections: 2, depth: 8, batchBytes: 4 * 1024 }, expected)
  const progress = new Progress()
  const members: Member[] = []
  const start = async (): Promise<number> => {
    const t = performance.now()
    const m = new Member(rd, samsa.bootstrap, groupId, topic, mode, progress)
    members.push(m)
    await m.start()
    await untilConsumingEverywhere(members, `${mode.assignor}: member ${members.length} joining`)
    return performance.now() - t
  }
  try {
    for (let i = 1; i < MEMBERS; i++) await start()
    const joinMs = [await start()]
    log(`  ${mode.assignor}: third member consuming after ${joinMs[0]!.toFixed(0)} ms`)

    const s0 = progress.consumed()
    const t0 = performance.now()
    await sleep(steadySeconds * 1000)
    const steadyRecordsPerSec = (progress.consumed() - s0) / ((performance.now() - t0) / 1000)

    const deliveredBefore = progress.deliveries
    const r0 = progress.consumed()
    const w0 = performance.now()
    for (let i = 0; i < MEMBERS; i++) {
      const old = members.shift()!
      await old.close()
      joinMs.push(await start())
    }
    const restartSeconds = (performance.now() - w0) / 1000
    const restartRecords = progress.consumed() - r0
    log(`  ${mode.assignor}: rolling restart ${restartSeconds.toFixed(1)} s, ${restartRecords} records (steady ${steadyRecordsPerSec.toFixed(0)}/s); joins ${joinMs.map((j) => j.toFixed(0)).join(', ')} ms`)
    return {
      client,
      protocol: mode.protocol,
      assignor: mode.assignor,
      partitions: PARTITIONS,
      members: MEMBERS,
      memberRecordsPerSec: MEMBER_RATE,
      joinMs,
      steadyRecordsPerSec,
      restartSeconds,
      restartRecords,
      restartRecordsPerSec: restartRecords / restartSeconds,
      rereadRecords: progress.deliveries - deliveredBefore - restartRecords,
    }
  } finally {
    for (const m of members.splice(0)) await m.close().catch(() => {})
  }
}
