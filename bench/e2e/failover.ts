// Leadership recovery after kill -9, on one machine: etcd and three `samsa serve --cluster`
// processes, one topic of one partition, replication factor 3, min.insync.replicas 2. Each round
// waits for a full ISR, SIGKILLs the partition's leader and times from the kill to the first
// acks=all produce of one record that the new leader acknowledges (asking a live broker's Metadata
// for the leader and producing to it, every 20 ms, as a client would); then it starts the killed
// broker again and waits until it is back in the ISR. The broker's lease (broker.session.timeout.ms)
// must run out in etcd before the controller elects another leader, so it dominates the figure.
//
//   node dist/bench/e2e/failover.js [--kills 20] [--session-ms 9000] [--quick]
//
// --quick: 5 kills. Needs /usr/bin/etcd (or SAMSA_ETCD). Prints one JSON document and a table row.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { ProduceApi } from '../../protocol/generated/produce.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { connect } from '../load/connection.js'
import { startEtcd } from './etcd.js'
import { sleep, stopService } from './procs.js'
import { startSamsa, type SamsaServer } from './samsa.js'
import { benchArgs, createTopicAtController, percentile, topicConfigs, waitUntil, within } from './cluster-bench.js'

const args = benchArgs()
const KILLS = Number(args.get('kills') ?? (args.has('quick') ? 5 : 20))
const SESSION_MS = Number(args.get('session-ms') ?? 9000)
const TOPIC = 'failover'
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

function createTopic(brokers: Map<number, SamsaServer>): Promise<void> {
  return createTopicAtController(brokers.values(), { name: TOPIC, numPartitions: 1, replicationFactor: 3, assignments: [], configs: topicConfigs({ 'min.insync.replicas': '2' }) })
}

/** The partition's leader and ISR as a live broker's Metadata names them. */
async function partitionState(s: SamsaServer): Promise<{ leader: number; isr: number[] }> {
  const c = await within(2000, connect(s.host, s.port))
  try {
    const md = await within(2000, c.request(MetadataApi, 12, { topics: [{ topicId: ZERO_UUID, name: TOPIC }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
    const p = md.topics[0]?.partitions[0]
    return p === undefined ? { leader: -1, isr: [] } : { leader: p.leaderId, isr: p.isrNodes }
  } finally {
    c.close()
  }
}

/** One record with acks=all to `s`: whether it was acknowledged. */
async function produceOne(s: SamsaServer): Promise<boolean> {
  const c = await within(2000, connect(s.host, s.port))
  try {
    const res = await within(5000, c.request(ProduceApi, 9, { transactionalId: null, acks: -1, timeoutMs: 4000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encodeBatch([{ key: null, value: Buffer.from('probe') }]) }] }] }))
    return res.responses[0]!.partitionResponses[0]!.errorCode === 0
  } finally {
    c.close()
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'samsa-bench-failover-'))
  const etcd = await startEtcd(root)
  const brokers = new Map<number, SamsaServer>()
  const start = async (id: number) => {
    brokers.set(id, await startSamsa(path.join(root, `b${id}`), ['--cluster', `etcd://${etcd.endpoint.slice('http://'.length)}/bench`, '--node-id', String(id)], { 'num.partitions': '1', 'broker.session.timeout.ms': String(SESSION_MS) }))
  }
  const anyLive = () => [...brokers.values()][0]!
  const fullIsr = async () => {
    const st = await partitionState(anyLive())
    return st.leader >= 0 && st.isr.length === 3 && (await produceOne(brokers.get(st.leader)!))
  }
  try {
    for (const id of [1, 2, 3]) await start(id)
    await createTopic(brokers)
    const recoveries: Array<{ victim: number; newLeader: number; ms: number }> = []
    for (let k = 0; k < KILLS; k++) {
      await waitUntil('a leader with a full ISR', fullIsr)
      const victim = (await partitionState(anyLive())).leader
      const child = brokers.get(victim)!.service.child
      const exited = new Promise((r) => child.once('exit', r))
      const killedAt = performance.now()
      child.kill('SIGKILL')
      brokers.delete(victim)
      let newLeader = -1
      for (;;) {
        const st = await partitionState(anyLive()).catch(() => undefined)
        const s = st === undefined ? undefined : brokers.get(st.leader)
        if (s !== undefined && (await produceOne(s).catch(() => false))) {
          newLeader = st!.leader
          break
        }
        if (performance.now() - killedAt > 120_000) throw new Error('no leader acknowledged a produce within 120 s of the kill')
        await sleep(20)
      }
      const ms = performance.now() - killedAt
      recoveries.push({ victim, newLeader, ms })
      process.stderr.write(`kill ${k + 1}/${KILLS}: broker ${victim} -> ${newLeader} in ${ms.toFixed(0)} ms\n`)
      await exited
      await start(victim)
    }
    const ms = recoveries.map((r) => r.ms)
    const result = {
      machine: { cores: os.cpus().length, loadAverage: os.loadavg() },
      settings: { kills: KILLS, brokerSessionTimeoutMs: SESSION_MS, partitions: 1, replicationFactor: 3, minInsyncReplicas: 2, pollMs: 20 },
      recoveries,
      msP50: percentile(ms, 0.5),
      msMax: Math.max(...ms),
      msMin: Math.min(...ms),
    }
    console.log(JSON.stringify(result, null, 2))
    console.log(`| leader kill -9 to first acks=all produce on the new leader (${KILLS} kills, broker.session.timeout.ms ${SESSION_MS}) | p50 ${(result.msP50 / 1000).toFixed(2)} s, max ${(result.msMax / 1000).toFixed(2)} s |`)
  } finally {
    for (const b of brokers.values()) await stopService(b.service.child).catch(() => {})
    await stopService(etcd.service.child).catch(() => {})
    rmSync(root, { recursive: true, force: true })
  }
}

await main()
