// Samsa under load: `samsa serve` started as a user would start it, driven at the protocol level
// as bench/load drives it, through the client's connection (pre-encoded Produce frames over
// pipelined connections; Fetch that leaves record batches as bytes), so the broker rather than
// the generator sets the pace.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { readLastOffset, batchSizeAt, BATCH_HEADER_SIZE } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { CreateTopicsApi } from '../../protocol/generated/create-topics.js'
import { DeleteTopicsApi } from '../../protocol/generated/delete-topics.js'
import { FetchApi, type FetchRequest } from '../../protocol/generated/fetch.js'
import { ProduceApi } from '../../protocol/generated/produce.js'
import { Reader } from '../../protocol/reader.js'
import { connect, frame } from '../load/connection.js'
import { readStamp, stamp, type RateTarget } from './fixed-rate.js'
import { rssMiB, sleep, startService, stopService, type Service } from './procs.js'
import type { Startup } from './results.js'
import { serveNodeFlags } from '../../cli/node-flags.js'
import type { ClientSecurity } from '../../broker/client/connection.js'
import { IncrementalAlterConfigsApi } from '../../protocol/generated/incremental-alter-configs.js'

const here = path.dirname(fileURLToPath(import.meta.url))
export const SAMSA_CLI = path.join(here, '../../cli/main.js')
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

export interface SamsaServer {
  service: Service
  host: string
  port: number
  bootstrap: string
  /** How the load generators reach this listener: plain TCP when absent. */
  security?: ClientSecurity
}

/**
 * Starts `samsa serve` on port 0 with `extraArgs` and `settings` (broker keys, as `--set`). `ready`
 * is the pattern of its stdout to wait for; by default the first "listening on" line, whose host
 * and port it takes.
 */
/** Starts `samsa serve` (the built CLI here, or `cli`: another build's dist/cli/main.js, to compare with). */
export async function startSamsa(dataDir: string, extraArgs: readonly string[] = [], settings: Record<string, string> = {}, ready = /listening on (.+):(\d+)/, env?: NodeJS.ProcessEnv, cli = SAMSA_CLI): Promise<SamsaServer> {
  const sets = Object.entries({ 'num.partitions': '16', 'group.initial.rebalance.delay.ms': '0', ...settings }).flatMap(([k, v]) => ['--set', `${k}=${v}`])
  const service = await startService(
    process.execPath,
    // The node flags `npm start` runs the broker with (cli/node-flags.ts).
    [...serveNodeFlags(), cli, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...sets, ...extraArgs],
    ready,
    { env },
  )
  const host = service.match[1]!
  const port = Number(service.match[2])
  return { service, host, port, bootstrap: `${host}:${port}` }
}

/** Time from spawn to "listening on" over `attempts` fresh starts, and RSS after 1 s idle. */
export async function measureStartup(dataDirFor: (i: number) => string, attempts: number): Promise<Startup> {
  const toListeningMs: number[] = []
  let idleRssMiB = 0
  for (let i = 0; i < attempts; i++) {
    const s = await startSamsa(dataDirFor(i))
    toListeningMs.push(s.service.startMs)
    if (i === attempts - 1) {
      await sleep(1000)
      idleRssMiB = rssMiB(s.service.pid)
    }
    await stopService(s.service.child)
  }
  return { toListeningMs, idleRssMiB }
}

export async function createTopic(s: SamsaServer, topic: string, partitions: number, configs: Record<string, string> = {}): Promise<void> {
  const admin = await connect(s.host, s.port, s.security)
  try {
    const res = await admin.request(CreateTopicsApi, 7, {
      topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      timeoutMs: 10000,
      validateOnly: false,
    })
    const err = res.topics[0]?.errorCode ?? 0
    if (err !== 0 && err !== 36) throw new Error(`CreateTopics ${topic}: error ${err}`)
  } finally {
    admin.close()
  }
}

/** Sets topic configs at run time (IncrementalAlterConfigs, SET). */
export async function alterTopic(s: SamsaServer, topic: string, configs: Record<string, string>): Promise<void> {
  const admin = await connect(s.host, s.port, s.security)
  try {
    const res = await admin.request(IncrementalAlterConfigsApi, 1, {
      resources: [{ resourceType: 2, resourceName: topic, configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) }],
      validateOnly: false,
    })
    const err = res.responses[0]?.errorCode ?? -1
    if (err !== 0) throw new Error(`IncrementalAlterConfigs ${topic}: error ${err}`)
  } finally {
    admin.close()
  }
}

/**
 * Deletes a topic once its run is over. Its files go, and with them the page cache they dirtied,
 * so the next run does not compete with the kernel writing this one's data back.
 */
export async function deleteTopic(s: Pick<SamsaServer, 'host' | 'port' | 'security'>, topic: string): Promise<void> {
  const admin = await connect(s.host, s.port, s.security)
  try {
    const res = await admin.request(DeleteTopicsApi, 6, { topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }], topicNames: [], timeoutMs: 10000 })
    const err = res.responses[0]?.errorCode ?? 0
    if (err !== 0) throw new Error(`DeleteTopics ${topic}: error ${err}`)
  } finally {
    admin.close()
  }
  // The broker removes the directories in the background; give the unlinks a moment.
  await sleep(500)
}

export interface WireLoad {
  connections: number
  depth: number
  batchBytes: number
  /** Records carry keys from a space of this many per partition (a compacted topic's load); none when absent. */
  keys?: number
}

/**
 * Max-rate produce: every connection keeps `depth` pre-encoded requests in flight, cycling over
 * the partitions, until `seconds` pass or `maxRecords` are written. Returns records per second.
 */
export async function wireProduce(s: SamsaServer, topic: string, partitions: number, recordBytes: number, acks: number, seconds: number, load: WireLoad, maxRecords = Infinity): Promise<{ records: number; seconds: number }> {
  const perBatch = Math.max(1, Math.floor(load.batchBytes / (recordBytes + 10 + (load.keys === undefined ? 0 : 12))))
  const value = Buffer.alloc(recordBytes, 97)
  // Keyed: each partition cycles through enough batches to go over its key space once.
  const variants = load.keys === undefined ? 1 : Math.ceil(load.keys / perBatch)
  const frames = Array.from({ length: partitions * variants }, (_, i) => {
    const p = i % partitions
    const v = Math.floor(i / partitions)
    const key = (j: number) => (load.keys === undefined ? null : `key-${(v * perBatch + j) % load.keys}`)
    return frame(ProduceApi, 9, {
      transactionalId: null,
      acks,
      timeoutMs: 30000,
      topicData: [{ name: topic, partitionData: [{ index: p, records: encodeBatch(Array.from({ length: perBatch }, (_, j) => ({ key: key(j), value }))) }] }],
    })
  })
  const clients = await Promise.all(Array.from({ length: load.connections }, () => connect(s.host, s.port, s.security)))
  let batches = 0
  const maxBatches = Math.ceil(maxRecords / perBatch)
  const started = performance.now()
  const end = started + seconds * 1000
  try {
    await Promise.all(
      clients.flatMap((c, ci) =>
        Array.from({ length: load.depth }, async (_, d) => {
          let i = ci * load.depth + d
          while (performance.now() < end && batches < maxBatches) {
            batches++
            const res = await c.sendFrame(frames[i++ % frames.length]!)
            // ProduceResponse v9: topics (compact array), name, partitions (compact array), index int32, errorCode int16.
            if (i === ci * load.depth + d + 1) checkFirstProduce(res)
          }
        }),
      ),
    )
  } finally {
    for (const c of clients) c.close()
  }
  return { records: batches * perBatch, seconds: (performance.now() - started) / 1000 }
}

/** Decodes a raw produce response, so a broker that rejects the load fails loudly instead of fast. */
function checkFirstProduce(frame: Buffer): void {
  // The frame starts with the correlation id and, for v9, an empty tagged-field section.
  const r = new Reader(frame, 5)
  const res = ProduceApi.decodeResponse(r, 9)
  const code = r.bad ? -1 : (res.responses[0]?.partitionResponses[0]?.errorCode ?? -1)
  if (code !== 0) throw new Error(`produce rejected: error code ${code}`)
}

/**
 * Reads every partition from offset 0 until `maxBytes` of batches have arrived, a fetch returns
 * nothing, or `seconds` pass. Each connection owns a share of the partitions.
 */
export async function wireFetch(s: SamsaServer, topic: string, partitions: number, connections: number, seconds: number, maxBytes: number): Promise<{ bytes: number; records: number; seconds: number }> {
  const clients = await Promise.all(Array.from({ length: connections }, () => connect(s.host, s.port, s.security)))
  let bytes = 0
  let records = 0
  const started = performance.now()
  const deadline = started + seconds * 1000
  try {
    await Promise.all(
      clients.map(async (c, ci) => {
        const mine = Array.from({ length: partitions }, (_, p) => p).filter((p) => p % connections === ci)
        const offsets = new Map(mine.map((p) => [p, 0]))
        while (performance.now() < deadline && bytes < maxBytes) {
          // The batches are counted in the receive buffer, as a consumer handing records on would
          // read them; copying each response out first would make the generator the bottleneck.
          const got = await c.requestWith(FetchApi, 11, fetchRequest(topic, mine, offsets, 0, 2 * 1024 * 1024), (res) => {
            let n = 0
            for (const t of res.responses) for (const p of t.partitions) {
              const rec = p.records
              if (!rec || rec.length === 0) continue
              let pos = 0
              while (pos + BATCH_HEADER_SIZE <= rec.length) {
                const size = batchSizeAt(rec, pos)
                if (pos + size > rec.length) break
                records += rec[pos + 57]! * 0x1000000 + (rec[pos + 58]! << 16) + (rec[pos + 59]! << 8) + rec[pos + 60]!
                offsets.set(p.partitionIndex, readLastOffset(rec, pos) + 1)
                n += size
                pos += size
              }
            }
            return n
          })
          bytes += got
          if (got === 0) break
        }
      }),
    )
  } finally {
    for (const c of clients) c.close()
  }
  return { bytes, records, seconds: (performance.now() - started) / 1000 }
}

function fetchRequest(topic: string, partitions: number[], offsets: Map<number, number>, maxWaitMs: number, partitionMaxBytes: number): FetchRequest {
  return {
    clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs, minBytes: 1,
    maxBytes: 16 * 1024 * 1024, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: '', forgottenTopicsData: [],
    topics: [{ topic, topicId: ZERO_UUID, partitions: partitions.map((p) => ({
      partition: p, currentLeaderEpoch: -1, fetchOffset: offsets.get(p)!, lastFetchedEpoch: -1, logStartOffset: -1,
      partitionMaxBytes, replicaDirectoryId: ZERO_UUID,
    })) }],
  }
}

/**
 * Fixed-rate target over the wire client: each tick's records become one batch on the next
 * partition (round robin); a long-polling Fetch over all partitions reads them back.
 */
export async function samsaRateTarget(s: Pick<SamsaServer, 'host' | 'port' | 'security'>, topic: string, partitions: number, recordBytes: number, acks: number): Promise<RateTarget> {
  const producer = await connect(s.host, s.port, s.security)
  const consumer = await connect(s.host, s.port, s.security)
  let next = 0
  let closed = false
  let loop: Promise<void> = Promise.resolve()
  return {
    async publish(due) {
      const records = new Array<{ value: Buffer }>(due.length)
      for (let i = 0; i < due.length; i++) {
        const value = Buffer.allocUnsafe(recordBytes).fill(97, 8)
        stamp(value, due[i]!)
        records[i] = { value }
      }
      const res = await producer.request(ProduceApi, 9, {
        transactionalId: null, acks, timeoutMs: 30000,
        topicData: [{ name: topic, partitionData: [{ index: next++ % partitions, records: encodeBatch(records) }] }],
      })
      const code = res.responses[0]?.partitionResponses[0]?.errorCode ?? -1
      if (code !== 0) throw new Error(`produce error ${code}`)
    },
    async subscribe(onStamp) {
      const all = Array.from({ length: partitions }, (_, p) => p)
      const offsets = new Map(all.map((p) => [p, 0]))
      loop = (async () => {
        while (!closed) {
          const res = await consumer.request(FetchApi, 11, fetchRequest(topic, all, offsets, 100, 1024 * 1024))
          for (const t of res.responses) for (const p of t.partitions) {
            const rec = p.records
            if (!rec || rec.length === 0) continue
            let pos = 0
            while (pos + BATCH_HEADER_SIZE <= rec.length) {
              const size = batchSizeAt(rec, pos)
              if (pos + size > rec.length) break
              for (const r of iterateRecords(rec, pos)) if (r.value) onStamp(readStamp(r.value))
              offsets.set(p.partitionIndex, readLastOffset(rec, pos) + 1)
              pos += size
            }
          }
        }
      })().catch(() => {})
    },
    async close() {
      closed = true
      await Promise.race([loop, sleep(500)])
      producer.close()
      consumer.close()
    },
  }
}
