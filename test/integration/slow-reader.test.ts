// A client that pipelines Fetch requests and never reads its responses must not grow the broker's
// memory without bound nor stall other clients; what it held comes back once it goes.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { FetchApi } from '../../protocol/generated/fetch.js'
import { decodeResponseHeader } from '../../protocol/generated/response-header.js'
import { Reader } from '../../protocol/reader.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { createTopics, splitAddress, WireClient } from '../helpers/wire.js'

beforeAll(() => ensureBuilt(), 180_000)

const MiB = 1024 * 1024
const dirs: string[] = []
const brokers: ChildBroker[] = []
const sockets: net.Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const b of brokers.splice(0)) await b.kill().catch(() => {})
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/** Waits until the process uses under 10% of a core over 300 ms; throws when it does not settle in time. */
async function untilIdle(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const before = cpuMs(pid)
    await new Promise((r) => setTimeout(r, 300))
    if (cpuMs(pid) - before < 30) return
    if (Date.now() > deadline) throw new Error(`broker still busy after ${timeoutMs} ms`)
  }
}

/** CPU time (user + system) the process has used, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

/** Samples the broker's RSS every 20 ms; kills it past `killAbove` so a regression cannot take the machine down. */
function watchRss(broker: ChildBroker, killAbove: number) {
  let max = 0
  const timer = setInterval(() => {
    try {
      const rss = rssBytes(broker.proc.pid!)
      max = Math.max(max, rss)
      if (rss > killAbove) broker.proc.kill('SIGKILL')
    } catch {
      // exited
    }
  }, 20)
  return { max: () => max, stop: () => clearInterval(timer) }
}

async function startWithBacklog(config: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-slow-reader-'))
  dirs.push(dir)
  const broker = await startChildBroker(dir, config)
  brokers.push(broker)
  const c = await WireClient.connect(broker.address)
  await createTopics(c, [{ name: 'backlog', partitions: 1 }])
  // About 32 MiB in batches of just under 1 MiB.
  const value = Buffer.alloc(1000, 0x61)
  const records = Array.from({ length: 900 }, () => ({ value }))
  for (let i = 0; i < 36; i++) {
    const res = await c.request<ProduceResponse>(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'backlog', partitionData: [{ index: 0, records: encodeBatch(records) }] }],
    })
    expect(res.body.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE)
  }
  return { broker, c }
}

function fetchBody(maxBytes: number) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes,
    isolationLevel: 0,
    topics: [{ topic: 'backlog', partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: maxBytes, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
  }
}

/** Connects, never reads, and writes `count` pipelined Fetch requests for the whole backlog. */
async function slowReader(address: string, count: number): Promise<net.Socket> {
  const [host, port] = splitAddress(address)
  const s = await new Promise<net.Socket>((resolve, reject) => {
    const sock = net.connect({ host, port }, () => resolve(sock))
    sock.once('error', reject)
  })
  s.on('error', () => {})
  s.pause()
  sockets.push(s)
  const framer = await WireClient.connect(address)
  const frames = Array.from({ length: count }, () => framer.frame(ApiKey.Fetch, 4, (w) => FetchApi.encodeRequest(w, 4, fetchBody(50 * MiB) as never)))
  framer.close()
  s.write(Buffer.concat(frames))
  return s
}

async function timedMetadata(c: WireClient): Promise<number> {
  const started = Date.now()
  const res = await c.request<MetadataResponse>(ApiKey.Metadata, 4, { topics: null, allowAutoTopicCreation: false })
  expect(res.body.topics.some((t) => t.name === 'backlog')).toBe(true)
  return Date.now() - started
}

/**
 * Fetches the backlog from offset 0 over a connection of its own and returns the bytes of records
 * received (the response is collected in chunks: responses of tens of MiB are read whole once).
 */
async function fetchedBytes(address: string, maxBytes: number): Promise<number> {
  const framer = await WireClient.connect(address)
  const request = framer.frame(ApiKey.Fetch, 4, (w) => FetchApi.encodeRequest(w, 4, fetchBody(maxBytes) as never))
  framer.close()
  const [host, port] = splitAddress(address)
  const s = net.connect({ host, port })
  sockets.push(s)
  const chunks: Buffer[] = []
  let received = 0
  const frame = await new Promise<Buffer>((resolve, reject) => {
    s.on('error', reject)
    s.on('data', (d: Buffer) => {
      chunks.push(d)
      received += d.length
      if (received >= 4 && received >= 4 + Buffer.concat(chunks.slice(0, 4)).readInt32BE(0)) resolve(Buffer.concat(chunks).subarray(4))
    })
    s.write(request)
  })
  s.destroy()
  const r = new Reader(frame)
  decodeResponseHeader(r, 0)
  const p = FetchApi.decodeResponse(r, 4).responses[0]!.partitions[0]!
  expect(p.errorCode).toBe(ErrorCode.NONE)
  return p.records?.length ?? 0
}

describe('clients that never read', () => {
  it('ten connections pipelining 100 Fetch requests of 50 MiB each keep RSS bounded and others served', async () => {
    const { broker, c } = await startWithBacklog()
    const rss = watchRss(broker, 1500 * MiB)
    const base = rssBytes(broker.proc.pid!)
    try {
      const slow = await Promise.all(Array.from({ length: 10 }, () => slowReader(broker.address, 100)))
      const other = await WireClient.connect(broker.address)
      // Once it has read and sent what fits of each first response (a few hundred MiB, which takes a
      // while on a loaded machine), the broker idles with its slow readers paused, and answers at once.
      await untilIdle(broker.proc.pid!, 15_000)
      const latencies: number[] = []
      for (let i = 0; i < 10; i++) {
        latencies.push(await timedMetadata(other))
        await new Promise((r) => setTimeout(r, 150))
      }
      expect(Math.max(...latencies)).toBeLessThan(1000)
      // A consumer that reads still gets records.
      expect(await fetchedBytes(broker.address, 1 * MiB)).toBeGreaterThan(0)
      expect(rss.max()).toBeLessThan(500 * MiB)
      for (const s of slow) s.destroy()
      other.close()
    } finally {
      rss.stop()
    }
    expect(base).toBeLessThan(500 * MiB)
    c.close()
  }, 60_000)

  it('caps responses at fetch.max.bytes, and memory held for unread responses comes back when the reader goes', async () => {
    const { broker, c } = await startWithBacklog({ 'fetch.max.bytes': String(20 * MiB), 'fetch.memory.max.bytes': String(20 * MiB) })
    // fetch.max.bytes caps what the client asked for.
    const capped = await fetchedBytes(broker.address, 50 * MiB)
    expect(capped).toBeGreaterThan(19 * MiB)
    expect(capped).toBeLessThanOrEqual(20 * MiB)
    // An unread response holds the memory for responses: another fetch gets only its first batch.
    const slow = await slowReader(broker.address, 100)
    await new Promise((r) => setTimeout(r, 300))
    const squeezed = await fetchedBytes(broker.address, 50 * MiB)
    expect(squeezed).toBeGreaterThan(0)
    expect(squeezed).toBeLessThanOrEqual(1 * MiB)
    slow.destroy()
    await new Promise((r) => setTimeout(r, 300))
    expect(await fetchedBytes(broker.address, 50 * MiB)).toBe(capped)
    c.close()
  }, 60_000)
})
