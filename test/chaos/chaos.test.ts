// Fault injection on a three-broker cluster (see README, "Fault injection"): idempotent producers
// and a consumer on an RF 3, min.insync.replicas 2 topic while the nemesis kills, pauses and
// restarts brokers, restarts etcd and cuts the network; then every fault is healed, the cluster
// settles (every partition led, every ISR full), every partition is read from offset 0 (and every
// replica from its broker's disk) and the checker lists anomalies, which must be none. Long: it runs only when SAMSA_CHAOS_MINUTES is set,
// as `npm run chaos -- --minutes N [--seed S]` does.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing } from '../cluster/harness.js'
import { makeTempDir } from '../helpers/temp-dir.js'
import { check, countByKind, type History, type Verdict } from './checker.js'
import { ChaosCluster } from './cluster.js'
import { Nemesis, seededRandom } from './nemesis.js'
import { readPartition } from '../helpers/read-partition.js'
import { readReplicaLog, Workload } from './workload.js'
import { checkTxns, countTxnByKind, type TxnHistory, type TxnOutcome, type TxnVerdict } from './checker-txn.js'
import { readCommitted, TxnWorkload } from './workload-txn.js'

const { Kafka, logLevel } = kafkajs
const minutes = Number(process.env.SAMSA_CHAOS_MINUTES ?? '0')
const seed = Number(process.env.SAMSA_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31))
const keep = process.env.SAMSA_CHAOS_KEEP === '1'
const TOPIC = 'chaos'
const PARTITIONS = 6
const TXN_TOPIC = 'chaos-txn'
const GROUP = 'chaos-group'
const SESSION_TIMEOUT_MS = 3000

const skipReason = etcdMissing ?? (minutes > 0 ? undefined : 'long-running; set SAMSA_CHAOS_MINUTES or run `npm run chaos -- --minutes N`')
const log = (line: string) => console.log(`[chaos ${new Date().toISOString().slice(11, 23)}] ${line}`)

async function partitions(bootstrap: string[], topic = TOPIC) {
  const admin = new Kafka({ clientId: 'chaos-admin', brokers: bootstrap, logLevel: logLevel.NOTHING, connectionTimeout: 3000, requestTimeout: 10_000, retry: { retries: 2 } }).admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId)
  } finally {
    await admin.disconnect()
  }
}

/** Waits until every partition has a leader and all three replicas in its ISR; the time taken, or undefined if it never did. */
async function settle(cluster: ChaosCluster, timeoutMs: number): Promise<number | undefined> {
  const start = Date.now()
  while (Date.now() - start < timeoutMs) {
    const ps = await partitions(cluster.bootstrap()).catch(() => undefined)
    const ts = await partitions(cluster.bootstrap(), TXN_TOPIC).catch(() => undefined)
    const full = (xs: typeof ps) => xs !== undefined && xs.length === PARTITIONS && xs.every((p) => p.leader > 0 && p.isr.length === 3)
    if (full(ps) && full(ts)) return Date.now() - start
    await new Promise((r) => setTimeout(r, 500))
  }
  return undefined
}

/**
 * `read` of one partition from its leader; if the leader moved since the metadata was read (a
 * preferred-leader election after the heal), again from the new one, up to ten times.
 */
async function fromLeader<T>(cluster: ChaosCluster, topic: string, partition: number, read: (address: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const p = (await partitions(cluster.bootstrap(), topic)).find((x) => x.partitionId === partition)!
      return await read(`127.0.0.1:${cluster.broker(p.leader).client.port}`)
    } catch (err) {
      if (attempt === 10) throw err
      log(`reading ${topic}-${partition}: ${(err as Error).message}; again`)
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
}

/** The whole history, one JSON line per value attempted, per final record and per live read, for investigating an anomaly. */
async function writeHistory(file: string, h: History, txns: TxnHistory): Promise<void> {
  const lines: string[] = []
  for (const [value, a] of h.attempts) lines.push(JSON.stringify({ value, ...a, ack: h.acks.get(value), failed: h.failed.has(value) }))
  for (const [partition, log] of h.finalLog) for (const [offset, value] of log.records) lines.push(JSON.stringify({ final: value, partition, offset }))
  for (const [partition, offset, value] of h.liveReads) lines.push(JSON.stringify({ read: value, partition, offset }))
  for (const t of txns.txns) lines.push(JSON.stringify({ txn: t.id, intent: t.intent, outcome: t.outcome, values: t.values }))
  for (const [partition, records] of txns.finalCommitted) for (const [offset, value] of records) lines.push(JSON.stringify({ finalCommitted: value, partition, offset }))
  for (const [partition, offset, value] of txns.committedReads) lines.push(JSON.stringify({ readCommitted: value, partition, offset }))
  for (const c of txns.commits) lines.push(JSON.stringify({ commit: c.offset, partition: c.partition, sentAt: c.sentAt, ackedAt: c.ackedAt }))
  for (const o of txns.observations) lines.push(JSON.stringify({ offsetFetch: Object.fromEntries(o.offsets), sentAt: o.sentAt, answeredAt: o.answeredAt }))
  await writeFile(file, `${lines.join('\n')}\n`)
}

function report(verdict: Verdict, txns: TxnVerdict, extra: Record<string, unknown>): string {
  const total = verdict.anomalies.length + txns.anomalies.length
  const lines = [
    `seed ${seed}, ${minutes} minute(s) of faults, topics ${TOPIC} and ${TXN_TOPIC}: ${PARTITIONS} partitions each, RF 3, min.insync.replicas 2`,
    ...Object.entries(extra).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`),
    `operations: ${JSON.stringify(verdict.figures)}`,
    `transactions and offsets: ${JSON.stringify(txns.figures)}`,
    `anomalies: ${JSON.stringify({ ...countByKind(verdict.anomalies), ...countTxnByKind(txns.anomalies) })} (total ${total})`,
    ...verdict.anomalies.slice(0, 50).map((a) => `  ${a.kind} ${TOPIC}-${a.partition}${a.offset === undefined ? '' : `@${a.offset}`} ${a.value ?? ''}: ${a.detail}`),
    ...txns.anomalies.slice(0, 50).map((a) => `  ${a.kind} ${a.kind === 'offset-regress' ? `${GROUP} ${TOPIC}` : TXN_TOPIC}-${a.partition ?? ''}${a.offset === undefined ? '' : `@${a.offset}`} ${a.value ?? ''}: ${a.detail}`),
  ]
  if (verdict.anomalies.length > 50 || txns.anomalies.length > 50) lines.push(`  ... (the first 50 of each half shown)`)
  return lines.join('\n')
}

describe.skipIf(skipReason !== undefined)(`fault injection (${skipReason ?? `${minutes} min, seed ${seed}`})`, () => {
  let cluster: ChaosCluster | undefined
  let anomalous = true
  afterAll(async () => {
    await cluster?.stop(keep || anomalous)
    if (cluster !== undefined && (keep || anomalous)) log(`kept: etcd ${cluster.etcd.dataDir}, brokers ${cluster.brokers.map((b) => b.dataDir).join(' ')}`)
  })

  it('loses no acknowledged write, duplicates nothing, keeps order and dense offsets', async () => {
    log(`seed ${seed} (rerun with --seed ${seed})`)
    const started = Date.now()
    const logDir = await makeTempDir('samsa-chaos-run-')
    await mkdir(logDir, { recursive: true })
    log(`broker output in ${logDir}`)
    cluster = await ChaosCluster.start(3, logDir, {
      'broker.session.timeout.ms': String(SESSION_TIMEOUT_MS),
      'controlled.shutdown.timeout.ms': '10000',
      'replica.lag.time.max.ms': '5000',
      'leader.imbalance.check.interval.seconds': '10',
    })
    const admin = new Kafka({ clientId: 'chaos-admin', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    const configEntries = [{ name: 'min.insync.replicas', value: '2' }]
    await admin.createTopics({ topics: [TOPIC, TXN_TOPIC].map((topic) => ({ topic, numPartitions: PARTITIONS, replicationFactor: 3, configEntries })), waitForLeaders: true })
    await admin.disconnect()
    const settledAtStart = await settle(cluster, 60_000)
    expect(settledAtStart, 'the new topic has a leader and a full ISR on every partition').toBeDefined()
    log(`cluster up in ${Date.now() - started} ms`)

    const random = seededRandom(seed)
    const workload = new Workload({ bootstrap: cluster.bootstrap(), topic: TOPIC, partitions: PARTITIONS, kafkajsProducers: 4, librdkafkaRate: 50, random: seededRandom(seed ^ 0x5eed), logDir })
    const nemesis = new Nemesis(cluster, { seed: Math.floor(random() * 2 ** 31), sessionTimeoutMs: SESSION_TIMEOUT_MS, log })
    const txnWorkload = new TxnWorkload({
      bootstrap: cluster.bootstrap(), topic: TOPIC, partitions: PARTITIONS, txnTopic: TXN_TOPIC, txnPartitions: PARTITIONS, kafkajsTxnProducers: 2,
      group: GROUP, groupMembers: 2, random: seededRandom(seed ^ 0x7a7a), countError: (e) => workload.countError(e), history: workload.history,
    })
    workload.start()
    txnWorkload.start()
    workload.startPython(['txn', cluster.bootstrap().join(','), TXN_TOPIC, String(PARTITIONS), 'tr0'], (m) => {
      if (typeof m.t === 'string') txnWorkload.history.txns.push({ id: m.t, intent: m.intent as 'commit' | 'abort', outcome: m.outcome as TxnOutcome, values: m.vals as Array<[number, string]> })
      else if (typeof m.err === 'string') workload.countError(`librdkafka txn ${m.err}`)
    })
    workload.startPython(['consume-committed', cluster.bootstrap().join(','), TXN_TOPIC, String(PARTITIONS)], (m) => {
      if (typeof m.v === 'string') txnWorkload.history.committedReads.push([m.p as number, m.o as number, m.v])
      else if (typeof m.err === 'string') workload.countError(`librdkafka read_committed consumer ${m.err}`)
    })
    const faultsFrom = Date.now()
    await nemesis.run(faultsFrom + minutes * 60_000)
    log('nemesis done; healing')
    await cluster.healAll()
    // A quiet spell with every broker up, so sends that were failing find their way again.
    await new Promise((r) => setTimeout(r, 5000))
    await Promise.all([workload.stop(), txnWorkload.stop()])
    log(`workload stopped; ${workload.history.attempts.size} values attempted, ${txnWorkload.history.txns.length} transactions`)

    const settleMs = await settle(cluster, 120_000)
    log(settleMs === undefined ? 'cluster did NOT settle within 120 s' : `settled in ${settleMs} ms`)
    const ps = await partitions(cluster.bootstrap())
    for (const p of ps) workload.history.finalLog.set(p.partitionId, await fromLeader(cluster, TOPIC, p.partitionId, (a) => readPartition(a, TOPIC, p.partitionId)))
    // Every transaction ends (the coordinator aborts what its producer left open once
    // transaction.timeout.ms passes): then read_committed reads reach the high watermark.
    const txnPs = await partitions(cluster.bootstrap(), TXN_TOPIC)
    const stableFrom = Date.now()
    let unstable: string[] = []
    do {
      unstable = []
      for (const p of txnPs) {
        const r = await fromLeader(cluster, TXN_TOPIC, p.partitionId, (a) => readCommitted(a, TXN_TOPIC, p.partitionId))
        txnWorkload.history.finalCommitted.set(p.partitionId, r.records)
        txnWorkload.history.openAtEnd.delete(p.partitionId)
        if (r.lastStableOffset !== r.highWatermark) {
          unstable.push(`${p.partitionId}: LSO ${r.lastStableOffset} < HW ${r.highWatermark}`)
          txnWorkload.history.openAtEnd.set(p.partitionId, { lastStableOffset: r.lastStableOffset, highWatermark: r.highWatermark })
        }
      }
      if (unstable.length > 0) await new Promise((r) => setTimeout(r, 1000))
    } while (unstable.length > 0 && Date.now() - stableFrom < 90_000)
    log(unstable.length === 0 ? `transactions all ended in ${Date.now() - stableFrom} ms` : `transactions still open after 90 s: ${unstable.join(', ')}`)
    // Quiet: followers fetch what they lack; then each replica is read from its broker's disk.
    await new Promise((r) => setTimeout(r, 3000))
    await cluster.killBrokers()
    for (const b of cluster.brokers) {
      const replicas = new Map<number, Array<[number, string]>>()
      for (const p of ps) if (p.replicas.includes(b.nodeId)) replicas.set(p.partitionId, await readReplicaLog(b.dataDir, TOPIC, p.partitionId))
      workload.history.replicaLogs.set(b.nodeId, replicas)
    }
    const verdict = check(workload.history)
    const txnVerdict = checkTxns(txnWorkload.history)
    anomalous = verdict.anomalies.length > 0 || txnVerdict.anomalies.length > 0 || settleMs === undefined
    const text = report(verdict, txnVerdict, {
      'wall time (s)': Math.round((Date.now() - started) / 1000),
      'faults injected': nemesis.counts(),
      'fault errors': nemesis.faults.filter((f) => f.error !== undefined).map((f) => `${f.kind} ${f.nodeId ?? ''}: ${f.error}`),
      'settled after heal (ms)': settleMs ?? 'never',
      'send errors': Object.fromEntries(workload.errors),
      'final partitions': ps.map((p) => ({ p: p.partitionId, leader: p.leader, isr: p.isr, hw: workload.history.finalLog.get(p.partitionId)?.highWatermark })),
    })
    console.log(`\n==== chaos report ====\n${text}\n`)
    await writeFile(path.join(logDir, 'report.txt'), `${text}\n${[...verdict.anomalies, ...txnVerdict.anomalies].map((a) => `${a.kind} ${a.partition}@${a.offset}: ${a.detail}`).join('\n')}\n`)
    await writeFile(path.join(logDir, 'faults.json'), JSON.stringify(nemesis.faults, null, 1))
    if (anomalous || keep) await writeHistory(path.join(logDir, 'history.jsonl'), workload.history, txnWorkload.history)
    expect(settleMs, 'every partition led, with a full ISR, after the faults were healed').toBeDefined()
    expect(verdict.figures.acknowledged, 'the workload got writes acknowledged').toBeGreaterThan(0)
    expect(txnVerdict.figures.committed, 'transactions were committed').toBeGreaterThan(0)
    expect(txnVerdict.figures.offsetCommitsAcked, 'the group committed offsets').toBeGreaterThan(0)
    expect({ ...countByKind(verdict.anomalies), ...countTxnByKind(txnVerdict.anomalies) }).toEqual({ ...countByKind([]), ...countTxnByKind([]) })
  }, (minutes * 60 + 600) * 1000)
})
