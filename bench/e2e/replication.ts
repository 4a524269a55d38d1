// Replication cost and follower catch-up, on one machine: etcd and three `samsa serve --cluster`
// processes. Two topics led by broker 1 (manual assignment, 8 partitions each): replication factor
// 1, and replication factor 3 with min.insync.replicas 2. Produce 1 KiB records at max rate with
// acks=all to each, alternating rounds so both see the same machine; the ratio RF 3 / RF 1 is of the
// medians. Then broker 3 is stopped, a backlog is written to the RF 3 topic, and broker 3 is started
// again: the catch-up rate is the backlog over the time from its start to being back in every ISR.
//
//   node dist/bench/e2e/replication.js [--rounds 3] [--seconds 3] [--backlog-mib 64]
//
// Needs /usr/bin/etcd (or SAMSA_ETCD). Prints one JSON document and a short table.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { connect } from '../load/connection.js'
import { startEtcd } from './etcd.js'
import { stopService } from './procs.js'
import { startSamsa, wireProduce, type SamsaServer } from './samsa.js'
import { createTopicAtController, median, topicConfigs, waitUntil } from './cluster-bench.js'

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '')
const ROUNDS = Number(args.get('rounds') ?? 3)
const SECONDS = Number(args.get('seconds') ?? 3)
const BACKLOG_MIB = Number(args.get('backlog-mib') ?? 64)
const PARTITIONS = 8
const LOAD = { connections: 4, depth: 8, batchBytes: 64 * 1024 }

/** Creates a topic whose partitions are all led by broker 1, asking each broker until the controller takes it. */
function createLedByOne(brokers: SamsaServer[], topic: string, replicas: number[], configs: Record<string, string>): Promise<void> {
  const assignments = Array.from({ length: PARTITIONS }, (_, i) => ({ partitionIndex: i, brokerIds: replicas }))
  return createTopicAtController(brokers, { name: topic, numPartitions: -1, replicationFactor: -1, assignments, configs: topicConfigs(configs) })
}

/** Whether every partition of `topic` is led by broker 1 with the whole of `isr` in sync. */
async function ready(s: SamsaServer, topic: string, isr: number[]): Promise<boolean> {
  const c = await connect(s.host, s.port)
  try {
    const md = await c.request(MetadataApi, 12, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
    const t = md.topics[0]
    return t !== undefined && t.errorCode === 0 && t.partitions.length === PARTITIONS && t.partitions.every((p) => p.leaderId === 1 && isr.every((id) => p.isrNodes.includes(id)))
  } finally {
    c.close()
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-repl-'))
  const etcd = await startEtcd(root)
  const brokers: SamsaServer[] = []
  const start = (id: number) => startSamsa(path.join(root, `b${id}`), ['--cluster', `etcd://${etcd.endpoint.slice('http://'.length)}/bench`, '--node-id', String(id)], { 'num.partitions': '1' })
  try {
    for (const id of [1, 2, 3]) brokers.push(await start(id))
    await createLedByOne(brokers, 'rf1', [1], {})
    await createLedByOne(brokers, 'rf3', [1, 2, 3], { 'min.insync.replicas': '2' })
    await waitUntil('leaders and full ISRs', async () => (await ready(brokers[0]!, 'rf1', [1])) && (await ready(brokers[0]!, 'rf3', [1, 2, 3])))
    const rates: Record<'rf1' | 'rf3', number[]> = { rf1: [], rf3: [] }
    for (let r = 0; r < ROUNDS; r++) {
      for (const topic of r % 2 === 0 ? (['rf1', 'rf3'] as const) : (['rf3', 'rf1'] as const)) {
        const res = await wireProduce(brokers[0]!, topic, PARTITIONS, 1024, -1, SECONDS, LOAD)
        rates[topic].push(res.records / res.seconds)
        process.stderr.write(`round ${r + 1} ${topic} acks=all: ${Math.round(res.records / res.seconds)} records/s\n`)
      }
    }

    // Catch-up: broker 3 away while a backlog is written, then back until it is in every ISR again.
    await stopService(brokers[2]!.service.child)
    const backlog = await wireProduce(brokers[0]!, 'rf3', PARTITIONS, 1024, 1, 600, LOAD, Math.ceil((BACKLOG_MIB * 1048576) / 1024))
    const restarted = performance.now()
    brokers[2] = await start(3)
    await waitUntil('broker 3 back in every ISR', () => ready(brokers[0]!, 'rf3', [1, 2, 3]))
    const catchUpSeconds = (performance.now() - restarted) / 1000

    const result = {
      machine: { cores: os.cpus().length, loadAverage: os.loadavg() },
      settings: { rounds: ROUNDS, seconds: SECONDS, partitions: PARTITIONS, recordBytes: 1024, load: LOAD },
      produceAcksAll: { rf1: rates.rf1, rf3: rates.rf3, rf1Median: median(rates.rf1), rf3Median: median(rates.rf3), ratio: median(rates.rf3) / median(rates.rf1) },
      catchUp: { backlogRecords: backlog.records, backlogMiB: (backlog.records * 1024) / 1048576, seconds: catchUpSeconds, mibPerSecond: (backlog.records * 1024) / 1048576 / catchUpSeconds },
    }
    console.log(JSON.stringify(result, null, 2))
    console.log(`| produce 1 KiB acks=all | RF 1 ${Math.round(result.produceAcksAll.rf1Median)} records/s | RF 3 ${Math.round(result.produceAcksAll.rf3Median)} records/s | RF 3 / RF 1 ${result.produceAcksAll.ratio.toFixed(2)} |`)
    console.log(`| follower catch-up | ${result.catchUp.backlogMiB.toFixed(0)} MiB in ${catchUpSeconds.toFixed(1)} s (start to back in every ISR) | ${result.catchUp.mibPerSecond.toFixed(1)} MiB/s |`)
  } finally {
    for (const b of brokers) await stopService(b.service.child).catch(() => {})
    await stopService(etcd.service.child).catch(() => {})
    rmSync(root, { recursive: true, force: true })
  }
}

await main()
