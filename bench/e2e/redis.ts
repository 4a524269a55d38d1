// Redis Streams as a peer: one stream per partition (s:000000000000 .. s:<n-1>, the key names
// redis-benchmark's -r expands to), XADD to publish, XREADGROUP ... NOACK to consume. The server
// runs with AOF on, appendfsync everysec (the usual setting) or always (fsync before replying).
// Max-rate publishing is driven by redis-benchmark (C, pipelined); latency and consumption by the
// RESP client here.
import { existsSync } from 'node:fs'
import { RespClient, type RespValue } from './resp.js'
import { readStamp, stamp, type RateTarget } from './fixed-rate.js'
import { freePort, runCommand, sleep, startService, type Service } from './procs.js'

export type AppendFsync = 'everysec' | 'always'

export interface RedisServer {
  service: Service
  port: number
}

export function redisAvailable(): string | null {
  if (!existsSync('/usr/bin/redis-server')) return 'redis-server not installed (apt-get install -y redis-server)'
  if (!existsSync('/usr/bin/redis-benchmark')) return 'redis-benchmark not installed (apt-get install -y redis-tools)'
  return null
}

export async function startRedis(dir: string, fsync: AppendFsync): Promise<RedisServer> {
  const port = await freePort()
  const service = await startService(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', fsync, '--daemonize', 'no', '--protected-mode', 'no', '--logfile', ''],
    /Ready to accept connections/,
  )
  return { service, port }
}

export const streamKey = (p: number) => `s:${String(p).padStart(12, '0')}`

/**
 * XADD at max rate with redis-benchmark: 16 connections x 64 pipelined commands over `streams`
 * random streams, until `seconds` pass or `maxRecords` are added. Reads its running "overall"
 * figure, or its summary when it finishes on its own.
 */
export async function redisBenchmarkXadd(port: number, streams: number, recordBytes: number, seconds: number, maxRecords: number): Promise<{ records: number; seconds: number }> {
  const value = 'x'.repeat(recordBytes)
  const started = performance.now()
  const r = await runCommand('/usr/bin/redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-c', '16', '-P', '64', '-r', String(streams), '-n', String(maxRecords), 'XADD', 's:__rand_int__', '*', 'v', value], seconds * 1000, 'SIGINT')
  const elapsed = (performance.now() - started) / 1000
  const out = r.stdout.replaceAll('\r', '\n')
  const summary = /throughput summary: ([\d.]+) requests per second/.exec(out)
  if (summary) return { records: maxRecords, seconds: maxRecords / Number(summary[1]) }
  const overall = [...out.matchAll(/rps=[\d.]+ \(overall: ([\d.]+)\)/g)].at(-1)
  if (!overall) throw new Error(`redis-benchmark printed no rate: ${(r.stdout + r.stderr).slice(-300)}`)
  return { records: Number(overall[1]) * elapsed, seconds: elapsed }
}

/** Total entries over all streams. */
export async function streamLengths(port: number, streams: number): Promise<number> {
  const c = await RespClient.connect(port)
  try {
    let n = 0
    for (let p = 0; p < streams; p++) n += Number(await c.command('XLEN', streamKey(p)))
    return n
  } finally {
    c.close()
  }
}

/** Reads every stream from the start as one group member, NOACK, `count` entries per stream per call. */
export async function redisConsume(port: number, streams: number, group: string, maxRecords: number, seconds: number): Promise<{ records: number; bytes: number; seconds: number }> {
  const c = await RespClient.connect(port)
  const keys = Array.from({ length: streams }, (_, p) => streamKey(p))
  try {
    for (const k of keys) await c.command('XGROUP', 'CREATE', k, group, '0', 'MKSTREAM')
    const read = RespClient.encode(['XREADGROUP', 'GROUP', group, 'c1', 'COUNT', '256', 'NOACK', 'STREAMS', ...keys, ...keys.map(() => '>')])
    let records = 0
    let bytes = 0
    const started = performance.now()
    const deadline = started + seconds * 1000
    // Two reads in flight keep the server busy while the previous reply is parsed.
    let pending = [c.sendEncoded(read, 1), c.sendEncoded(read, 1)]
    while (records < maxRecords && performance.now() < deadline) {
      const [reply] = await pending.shift()!
      let got = 0
      forEachEntryValue(reply!, (v) => {
        got++
        bytes += v.length
      })
      records += got
      if (got === 0) break
      pending.push(c.sendEncoded(read, 1))
    }
    const elapsed = (performance.now() - started) / 1000
    await Promise.allSettled(pending)
    pending = []
    return { records, bytes, seconds: elapsed }
  } finally {
    c.close()
  }
}

/** Walks an XREAD/XREADGROUP reply: [[key, [[id, [field, value, ...]], ...]], ...]. */
function forEachEntryValue(reply: RespValue, onValue: (v: Buffer) => void): void {
  if (reply instanceof Error) throw reply
  if (!Array.isArray(reply)) return
  for (const stream of reply) {
    const entries = (stream as RespValue[])[1]
    if (!Array.isArray(entries)) continue
    for (const e of entries) {
      const fields = (e as RespValue[])[1]
      if (Array.isArray(fields) && Buffer.isBuffer(fields[1])) onValue(fields[1])
    }
  }
}

/**
 * Fixed-rate target: each tick's records are XADDed to the next stream (round robin) in one
 * pipelined write; a blocking XREADGROUP over all streams reads them back.
 */
export async function redisRateTarget(port: number, streams: number, recordBytes: number): Promise<RateTarget> {
  const producer = await RespClient.connect(port)
  const consumer = await RespClient.connect(port)
  const keys = Array.from({ length: streams }, (_, p) => streamKey(p))
  const heads = keys.map((k) => Buffer.from(`*5\r\n$4\r\nXADD\r\n$${k.length}\r\n${k}\r\n$1\r\n*\r\n$1\r\nv\r\n$${recordBytes}\r\n`))
  const crlf = Buffer.from('\r\n')
  let next = 0
  let closed = false
  let loop: Promise<void> = Promise.resolve()
  return {
    async publish(due) {
      const head = heads[next++ % streams]!
      const one = head.length + recordBytes + 2
      const frame = Buffer.allocUnsafe(one * due.length)
      for (let i = 0; i < due.length; i++) {
        const at = i * one
        head.copy(frame, at)
        const value = frame.subarray(at + head.length, at + head.length + recordBytes)
        value.fill(97, 8)
        stamp(value, due[i]!)
        crlf.copy(frame, at + head.length + recordBytes)
      }
      const replies = await producer.sendEncoded(frame, due.length)
      for (const r of replies) if (r instanceof Error) throw r
    },
    async subscribe(onStamp) {
      for (const k of keys) await consumer.command('XGROUP', 'CREATE', k, 'latency', '$', 'MKSTREAM')
      const read = RespClient.encode(['XREADGROUP', 'GROUP', 'latency', 'c1', 'COUNT', '1000', 'BLOCK', '100', 'NOACK', 'STREAMS', ...keys, ...keys.map(() => '>')])
      loop = (async () => {
        while (!closed) {
          const [reply] = await consumer.sendEncoded(read, 1)
          forEachEntryValue(reply!, (v) => onStamp(readStamp(v)))
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
