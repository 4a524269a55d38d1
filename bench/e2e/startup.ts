// Start-up of `samsa serve` on a data directory that already holds something, as a user restarts
// a broker: spawned through the CLI with the node flags `npm start` gives it, timed from the spawn
// to the first answers a client gets. Four directories, each prepared once by a broker of the build
// under test and stopped cleanly:
//
//   empty         started and stopped once, nothing created
//   topics        10 topics of 3 partitions, 1,000 records of 100 B in each partition
//   offsets       topics, plus 20 groups that committed offsets (__consumer_offsets, 50 partitions)
//   transactions  offsets, plus 20 committed transactions (__transaction_state, 50 partitions)
//   after kill -9 transactions, started again after each start was ended by SIGKILL (recovery)
//
// Each start is timed to three points: the "listening on" line; the first Metadata answer
// (ApiVersions, then Metadata for every topic, on a connection opened after that line); and, where
// groups committed, the first OffsetFetch that returns a group's committed offsets, retried every
// 5 ms while the coordinator answers COORDINATOR_LOAD_IN_PROGRESS (as clients retry it).
//
//   node dist/bench/e2e/startup.js [--rounds 7] [--baseline ../other/dist/cli/main.js] [--out FILE] [--keep DIR] [--in-process]
//
// --in-process times startBroker() in this process instead, with the build's modules loaded once
// before: node's own start and the loading of the modules (most of a spawn's time on a loaded
// machine, and the same for every directory) are left out, and "broker CPU" is this process's.
// --keep DIR prepares the directories in DIR (which must not exist) and leaves them there, to start
// a broker on them by hand (`DIR/prepared/<name>`), under a profiler for instance. --rounds 0 only
// prepares them.
// With --baseline the other build starts on its own copy of each directory, alternating with this
// build start by start (order flipped every round), and the table gives both with their ratio.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { ApiVersionsApi } from '../../protocol/generated/api-versions.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { OffsetCommitApi } from '../../protocol/generated/offset-commit.js'
import { OffsetFetchApi } from '../../protocol/generated/offset-fetch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { connect } from '../load/connection.js'
import { benchArgs, median } from './cluster-bench.js'
import { cpuSeconds, sleep, stopService } from './procs.js'
import { SAMSA_CLI, startSamsa, type SamsaServer } from './samsa.js'

const args = benchArgs(process.argv.slice(2).filter((a) => a !== '--in-process'))
const ROUNDS = Number(args.get('rounds') ?? 7)
const BASELINE = args.get('baseline')
const IN_PROCESS = process.argv.includes('--in-process')
const TOPICS = 10
const PARTITIONS = 3
const RECORDS = 1000
const GROUPS = 20
const TRANSACTIONS = 20

interface Scenario {
  name: string
  /** The directory it starts on is prepared from this scenario's. */
  from?: string
  prepare?: (s: SamsaServer) => Promise<void>
  /** The group whose committed offsets are read back; none without groups. */
  group?: string
  /** Each start ends with SIGKILL, so the next one recovers. */
  kill?: boolean
}

type Address = Pick<SamsaServer, 'host' | 'port'>

interface Start {
  listeningMs: number
  metadataMs: number
  offsetsMs?: number
  /** The broker's CPU time (user + system) when the last of those answers came. */
  cpuMs: number
}

const topicNames = Array.from({ length: TOPICS }, (_, i) => `startup-${i}`)

const SCENARIOS: Scenario[] = [
  { name: 'empty' },
  { name: 'topics', prepare: createTopics },
  { name: 'offsets', from: 'topics', prepare: commitOffsets, group: 'startup-group-0' },
  { name: 'transactions', from: 'offsets', prepare: commitTransactions, group: 'startup-group-0' },
  { name: 'after kill -9', from: 'transactions', group: 'startup-group-0', kill: true },
]

function kafka(s: SamsaServer): Kafka {
  return new Kafka({ clientId: 'samsa-bench-startup', brokers: [s.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 50 } })
}

async function createTopics(s: SamsaServer): Promise<void> {
  const k = kafka(s)
  const admin = k.admin()
  await admin.connect()
  await admin.createTopics({ topics: topicNames.map((topic) => ({ topic, numPartitions: PARTITIONS })) })
  await admin.disconnect()
  const producer = k.producer()
  await producer.connect()
  const value = Buffer.alloc(100, 'x')
  for (const topic of topicNames) {
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < RECORDS; i += 250) {
        await producer.send({ topic, acks: 1, messages: Array.from({ length: 250 }, () => ({ partition: p, value })) })
      }
    }
  }
  await producer.disconnect()
}

/** Simple commits (generation -1, no member), one OffsetCommit per group over every partition. */
async function commitOffsets(s: SamsaServer): Promise<void> {
  const c = await connect(s.host, s.port)
  try {
    for (let g = 0; g < GROUPS; g++) {
      const groupId = `startup-group-${g}`
      for (;;) {
        const fc = await c.request(FindCoordinatorApi, 3, { key: groupId, keyType: 0, coordinatorKeys: [] })
        if (fc.errorCode === 0) break
        await sleep(50)
      }
      const res = await c.request(OffsetCommitApi, 8, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        retentionTimeMs: -1,
        topics: topicNames.map((name) => ({ name, partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, committedOffset: 100 + g, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null })) })),
      })
      const failed = res.topics.flatMap((t) => t.partitions).find((p) => p.errorCode !== 0)
      if (failed !== undefined) throw new Error(`OffsetCommit ${groupId}: error ${failed.errorCode}`)
    }
  } finally {
    c.close()
  }
}

async function commitTransactions(s: SamsaServer): Promise<void> {
  const k = kafka(s)
  for (let t = 0; t < TRANSACTIONS; t++) {
    const producer = k.producer({ transactionalId: `startup-txn-${t}`, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const txn = await producer.transaction()
    await txn.send({ topic: topicNames[t % TOPICS]!, messages: [{ value: `txn-${t}` }] })
    await txn.commit()
    await producer.disconnect()
  }
}

/** ApiVersions then Metadata for every topic, on a new connection: the first answers a client needs. */
async function firstMetadata(s: Address): Promise<void> {
  const c = await connect(s.host, s.port)
  try {
    const v = await c.request(ApiVersionsApi, 3, { clientSoftwareName: 'samsa-bench', clientSoftwareVersion: '1' })
    if (v.errorCode !== 0) throw new Error(`ApiVersions: error ${v.errorCode}`)
    const md = await c.request(MetadataApi, 12, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
    if (md.brokers.length === 0) throw new Error('Metadata: no brokers')
  } finally {
    c.close()
  }
}

/** FindCoordinator and OffsetFetch of `group`, retried while its coordinator loads, until its offsets come back. */
async function firstOffsets(s: Address, group: string): Promise<void> {
  const c = await connect(s.host, s.port)
  try {
    for (;;) {
      const fc = await c.request(FindCoordinatorApi, 3, { key: group, keyType: 0, coordinatorKeys: [] })
      if (fc.errorCode === 0) {
        const res = await c.request(OffsetFetchApi, 7, { groupId: group, topics: null, groups: [], requireStable: true })
        if (res.errorCode === 0) {
          const committed = res.topics.flatMap((t) => t.partitions).filter((p) => p.committedOffset >= 0).length
          if (committed !== TOPICS * PARTITIONS) throw new Error(`OffsetFetch ${group}: ${committed} committed offsets, expected ${TOPICS * PARTITIONS}`)
          return
        }
        if (res.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS && res.errorCode !== ErrorCode.UNSTABLE_OFFSET_COMMIT) throw new Error(`OffsetFetch: error ${res.errorCode}`)
      } else if (fc.errorCode !== ErrorCode.COORDINATOR_NOT_AVAILABLE && fc.errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) {
        throw new Error(`FindCoordinator: error ${fc.errorCode}`)
      }
      await sleep(5)
    }
  } finally {
    c.close()
  }
}

async function timedStart(cli: string, dataDir: string, sc: Scenario): Promise<Start> {
  const spawned = performance.now()
  const s = await startSamsa(dataDir, [], {}, undefined, undefined, cli)
  const listeningMs = s.service.startMs
  try {
    await firstMetadata(s)
    const metadataMs = performance.now() - spawned
    let offsetsMs: number | undefined
    if (sc.group !== undefined) {
      await firstOffsets(s, sc.group)
      offsetsMs = performance.now() - spawned
    }
    return { listeningMs, metadataMs, offsetsMs, cpuMs: cpuSeconds(s.service.pid) * 1000 }
  } finally {
    if (sc.kill) {
      s.service.child.kill('SIGKILL')
      await new Promise((r) => s.service.child.once('exit', r))
    } else await stopService(s.service.child)
  }
}

/** The broker entry point (dist/broker/index.js) of the build whose CLI is `cli`. */
type StartBroker = (opts: { dataDir: string; host: string; port: number; logLevel: string; config: Record<string, string> }) => Promise<{ host: string; port: number; stop(): Promise<void> }>
const brokers = new Map<string, StartBroker>()
async function brokerOf(cli: string): Promise<StartBroker> {
  let start = brokers.get(cli)
  if (start === undefined) {
    start = ((await import(pathToFileURL(path.join(path.dirname(cli), '../broker/index.js')).href)) as { startBroker: StartBroker }).startBroker
    brokers.set(cli, start)
  }
  return start
}

/**
 * --in-process: startBroker() of the build in this process, its modules loaded already, so what is
 * timed is the broker's own start (node's start and module loading are the same for every
 * directory). "after kill -9" is an unclean stop here: a clean stop whose marker is removed.
 */
async function inProcessStart(cli: string, dataDir: string, sc: Scenario): Promise<Start> {
  const startBroker = await brokerOf(cli)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const b = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent', config: { 'num.partitions': '16', 'group.initial.rebalance.delay.ms': '0' } })
  const listeningMs = performance.now() - t0
  try {
    await firstMetadata(b)
    const metadataMs = performance.now() - t0
    let offsetsMs: number | undefined
    if (sc.group !== undefined) {
      await firstOffsets(b, sc.group)
      offsetsMs = performance.now() - t0
    }
    const cpu = process.cpuUsage(cpu0)
    return { listeningMs, metadataMs, offsetsMs, cpuMs: (cpu.user + cpu.system) / 1000 }
  } finally {
    await b.stop()
    if (sc.kill) rmSync(path.join(dataDir, '.kafka_cleanshutdown'), { force: true })
  }
}

async function main(): Promise<void> {
  const loadAverageAtStart = os.loadavg()
  const keep = args.get('keep')
  const root = keep === undefined ? mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-startup-')) : path.resolve(keep)
  const sides = [{ name: 'this build', cli: SAMSA_CLI }, ...(BASELINE === undefined ? [] : [{ name: 'baseline', cli: path.resolve(BASELINE) }])]
  try {
    // Every directory is prepared by this build, then copied once per side.
    for (const sc of SCENARIOS) {
      const dir = path.join(root, 'prepared', sc.name)
      if (sc.from !== undefined) cpSync(path.join(root, 'prepared', sc.from), dir, { recursive: true })
      const s = await startSamsa(dir)
      await sc.prepare?.(s)
      if (sc.kill) {
        s.service.child.kill('SIGKILL')
        await new Promise((r) => s.service.child.once('exit', r))
      } else await stopService(s.service.child)
      for (const side of sides) cpSync(dir, path.join(root, side.name, sc.name), { recursive: true })
      process.stderr.write(`prepared ${sc.name}\n`)
    }
    if (ROUNDS === 0) return
    const starts = new Map<string, Start[]>()
    const start = IN_PROCESS ? inProcessStart : timedStart
    // A first start of each build, in no figure: its modules loaded (in process), files cached.
    for (const side of sides) await start(side.cli, path.join(root, side.name, 'empty'), SCENARIOS[0]!)
    for (let r = 0; r < ROUNDS; r++) {
      for (const sc of SCENARIOS) {
        for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
          const st = await start(side.cli, path.join(root, side.name, sc.name), sc)
          const key = `${side.name}/${sc.name}`
          starts.set(key, [...(starts.get(key) ?? []), st])
          process.stderr.write(`round ${r + 1} ${key}: listening ${st.listeningMs.toFixed(0)} ms, metadata ${st.metadataMs.toFixed(0)} ms${st.offsetsMs === undefined ? '' : `, offsets ${st.offsetsMs.toFixed(0)} ms`}, cpu ${st.cpuMs.toFixed(0)} ms\n`)
        }
      }
    }
    const summary = (side: string, sc: string) => {
      const xs = starts.get(`${side}/${sc}`)!
      const offsets = xs.flatMap((x) => (x.offsetsMs === undefined ? [] : [x.offsetsMs]))
      return {
        listeningMs: median(xs.map((x) => x.listeningMs)),
        metadataMs: median(xs.map((x) => x.metadataMs)),
        offsetsMs: offsets.length === 0 ? undefined : median(offsets),
        cpuMs: median(xs.map((x) => x.cpuMs)),
        runs: xs.map((x) => ({ listeningMs: Math.round(x.listeningMs), metadataMs: Math.round(x.metadataMs), offsetsMs: x.offsetsMs === undefined ? undefined : Math.round(x.offsetsMs), cpuMs: Math.round(x.cpuMs) })),
      }
    }
    const result = {
      machine: { cores: os.cpus().length, loadAverageAtStart, loadAverageAtEnd: os.loadavg() },
      settings: { inProcess: IN_PROCESS, rounds: ROUNDS, topics: TOPICS, partitionsPerTopic: PARTITIONS, recordsPerPartition: RECORDS, groups: GROUPS, transactions: TRANSACTIONS, baseline: BASELINE },
      scenarios: Object.fromEntries(SCENARIOS.map((sc) => [sc.name, Object.fromEntries(sides.map((side) => [side.name, summary(side.name, sc.name)]))])),
    }
    const json = JSON.stringify(result, null, 2)
    if (args.has('out')) writeFileSync(args.get('out')!, json + '\n')
    console.log(json)
    const ms = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(0))
    const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '' : ` (${(a / b).toFixed(2)})`)
    const headers = sides.length === 1 ? '| data directory | to listening, ms | to Metadata, ms | to committed offsets, ms | broker CPU by then, ms |' : '| data directory | to listening, ms: this build / baseline (ratio) | to Metadata, ms | to committed offsets, ms | broker CPU by then, ms |'
    console.log(headers)
    console.log('|---|---:|---:|---:|---:|')
    for (const sc of SCENARIOS) {
      const a = summary(sides[0]!.name, sc.name)
      const b = sides[1] === undefined ? undefined : summary(sides[1].name, sc.name)
      const cell = (k: 'listeningMs' | 'metadataMs' | 'offsetsMs' | 'cpuMs') => (b === undefined ? ms(a[k]) : a[k] === undefined ? '–' : `${ms(a[k])} / ${ms(b[k])}${ratio(a[k], b[k])}`)
      console.log(`| ${sc.name} | ${cell('listeningMs')} | ${cell('metadataMs')} | ${cell('offsetsMs')} | ${cell('cpuMs')} |`)
    }
  } finally {
    if (keep === undefined) rmSync(root, { recursive: true, force: true })
  }
}

await main()
