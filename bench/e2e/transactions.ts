// Transaction commits per second, a single broker against a cluster, in one run on one machine: a
// `samsa serve` on its own, and etcd with three `samsa serve --cluster` processes where the topic
// and __transaction_state have replication factor 3 and min.insync.replicas 2 (every state change
// of the coordinator and every record waits for a follower as well as the fsync). kafkajs
// transactional producers, each with its own transactional id (so the cluster spreads them over the
// coordinators of their __transaction_state partitions), loop: begin, send one 100-byte record
// with acks=all, commit. Rounds alternate between the two set-ups so both see the same machine; the
// ratio is of the medians.
//
//   node dist/bench/e2e/transactions.js [--rounds 3] [--seconds 5] [--producers 4]
//
// Needs /usr/bin/etcd (or SAMSA_ETCD). Prints one JSON document and a table row.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import kafkajs from 'kafkajs'
import { startEtcd } from './etcd.js'
import { stopService } from './procs.js'
import { startSamsa, type SamsaServer } from './samsa.js'

const { Kafka, logLevel } = kafkajs
const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '')
const ROUNDS = Number(args.get('rounds') ?? 3)
const SECONDS = Number(args.get('seconds') ?? 5)
const PRODUCERS = Number(args.get('producers') ?? 4)
const TOPIC = 'txn-bench'
const PARTITIONS = 4

const kafka = (brokers: string[]) =>
  new Kafka({ clientId: 'bench-txn', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } })

async function createTopic(brokers: string[], replicationFactor: number): Promise<void> {
  const admin = kafka(brokers).admin()
  await admin.connect()
  try {
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: PARTITIONS, replicationFactor, configEntries: replicationFactor > 1 ? [{ name: 'min.insync.replicas', value: '2' }] : [] }],
      waitForLeaders: true,
    })
  } finally {
    await admin.disconnect()
  }
}

/** `PRODUCERS` transactional producers committing one-record transactions for `seconds`: commits per second. */
async function commitRate(brokers: string[], label: string, round: number, seconds: number): Promise<number> {
  const producers = Array.from({ length: PRODUCERS }, (_, i) =>
    kafka(brokers).producer({ transactionalId: `bench-${label}-${round}-${i}`, idempotent: true, maxInFlightRequests: 1 }),
  )
  await Promise.all(producers.map((p) => p.connect()))
  // The first transaction of each (InitProducerId, coordinator look-up) is not timed.
  await Promise.all(producers.map(async (p, i) => {
    const t = await p.transaction()
    await t.send({ topic: TOPIC, acks: -1, messages: [{ partition: i % PARTITIONS, value: 'warm-up' }] })
    await t.commit()
  }))
  const value = Buffer.alloc(100, 'x')
  let commits = 0
  const started = performance.now()
  const until = started + seconds * 1000
  await Promise.all(
    producers.map(async (p, i) => {
      for (let n = 0; performance.now() < until; n++) {
        const t = await p.transaction()
        await t.send({ topic: TOPIC, acks: -1, messages: [{ partition: (i + n) % PARTITIONS, value }] })
        await t.commit()
        commits++
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  await Promise.all(producers.map((p) => p.disconnect()))
  return commits / elapsed
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-txn-'))
  const servers: SamsaServer[] = []
  let etcd: Awaited<ReturnType<typeof startEtcd>> | undefined
  try {
    const single = await startSamsa(path.join(root, 'single'), [], { 'num.partitions': '1' })
    servers.push(single)
    etcd = await startEtcd(root)
    const cluster: SamsaServer[] = []
    for (const id of [1, 2, 3]) {
      cluster.push(await startSamsa(path.join(root, `b${id}`), ['--cluster', `etcd://${etcd.endpoint.slice('http://'.length)}/bench`, '--node-id', String(id)], { 'num.partitions': '1' }))
    }
    servers.push(...cluster)
    await createTopic([single.bootstrap], 1)
    await createTopic(cluster.map((s) => s.bootstrap), 3)
    const setups = { single: [single.bootstrap], rf3: cluster.map((s) => s.bootstrap) }
    const rates: Record<'single' | 'rf3', number[]> = { single: [], rf3: [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of r % 2 === 0 ? (['single', 'rf3'] as const) : (['rf3', 'single'] as const)) {
        const rate = await commitRate(setups[name], name, r, SECONDS)
        rates[name].push(rate)
        process.stderr.write(`round ${r + 1} ${name}: ${rate.toFixed(0)} commits/s\n`)
      }
    }
    const result = {
      machine: { cores: os.cpus().length, loadAverage: os.loadavg() },
      settings: { rounds: ROUNDS, seconds: SECONDS, producers: PRODUCERS, partitions: PARTITIONS, recordBytes: 100, recordsPerTransaction: 1, client: 'kafkajs' },
      commitsPerSecond: { single: rates.single, rf3: rates.rf3, singleMedian: median(rates.single), rf3Median: median(rates.rf3), ratio: median(rates.rf3) / median(rates.single) },
    }
    console.log(JSON.stringify(result, null, 2))
    console.log(
      `| transaction commits/s (${PRODUCERS} kafkajs producers, 1 record each) | one broker ${Math.round(result.commitsPerSecond.singleMedian)} | RF 3 (3 brokers + etcd) ${Math.round(result.commitsPerSecond.rf3Median)} | RF 3 / one broker ${result.commitsPerSecond.ratio.toFixed(2)} |`,
    )
  } finally {
    for (const s of servers) await stopService(s.service.child).catch(() => {})
    if (etcd !== undefined) await stopService(etcd.service.child).catch(() => {})
    rmSync(root, { recursive: true, force: true })
  }
}

await main()
