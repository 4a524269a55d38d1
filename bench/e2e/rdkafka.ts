// librdkafka's rdkafka_performance as a load generator: C, batching, one process separate from the
// broker. Looked up in the librdkafka source tree under .cache/, or compiled from that tree's
// examples/rdkafka_performance.c against its static library into .cache/bench-e2e/.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCommand } from './procs.js'

const here = path.dirname(fileURLToPath(import.meta.url))
// dist/bench/e2e -> repository root
const ROOT = path.resolve(here, '../../..')
const OWN_DIR = path.join(ROOT, '.cache/bench-e2e')

function sourceTrees(): string[] {
  const base = path.join(ROOT, '.cache/librdkafka')
  if (!existsSync(base)) return []
  return readdirSync(base).filter((d) => d.startsWith('librdkafka-')).map((d) => path.join(base, d))
}

/** Path of a usable rdkafka_performance, building one if a built librdkafka tree is present. */
export function findRdkafkaPerformance(): string | { missing: string } {
  const candidates = [process.env.SAMSA_RDKAFKA_PERFORMANCE ?? '', ...sourceTrees().map((t) => path.join(t, 'examples/rdkafka_performance')), path.join(OWN_DIR, 'rdkafka_performance')]
  for (const c of candidates) if (c && existsSync(c)) return c
  for (const tree of sourceTrees()) {
    const lib = path.join(tree, 'src/librdkafka.a')
    const src = path.join(tree, 'examples/rdkafka_performance.c')
    if (!existsSync(lib) || !existsSync(src)) continue
    mkdirSync(OWN_DIR, { recursive: true })
    // A private copy of the library, so a rebuild in the source tree cannot change it mid-link.
    const ownLib = path.join(OWN_DIR, 'librdkafka.a')
    copyFileSync(lib, ownLib)
    const out = path.join(OWN_DIR, 'rdkafka_performance')
    const r = spawnSync('gcc', ['-O2', `-I${path.join(tree, 'src')}`, '-o', out, src, ownLib, '-lm', '-lzstd', '-lz', '-ldl', '-lpthread', '-lrt'], { encoding: 'utf8' })
    if (r.status === 0 && existsSync(out)) return out
    return { missing: `building rdkafka_performance failed: ${(r.stderr ?? '').slice(0, 300)}` }
  }
  return { missing: 'no built librdkafka under .cache/librdkafka (set SAMSA_RDKAFKA_PERFORMANCE to a binary)' }
}

export interface RdkafkaProduceResult {
  delivered: number
  seconds: number
  failed: number
}

/**
 * Produces `recordBytes` records with the given acks for `seconds`, then SIGINT: the tool stops
 * producing, waits for outstanding deliveries and prints its totals, which are what is reported.
 */
export async function rdkafkaProduce(bin: string, bootstrap: string, topic: string, recordBytes: number, acks: number, seconds: number): Promise<RdkafkaProduceResult> {
  const r = await runCommand(bin, ['-P', '-t', topic, '-b', bootstrap, '-s', String(recordBytes), '-a', String(acks), '-c', '2000000000', '-X', 'linger.ms=5', '-i', '1000'], seconds * 1000, 'SIGINT')
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('messages produced'))
  const last = lines.at(-1)
  const m = last && /(\d+) messages produced \((\d+) bytes\), (\d+) delivered \(offset -?\d+, (\d+) failed\) in (\d+)ms/.exec(last)
  if (!m) throw new Error(`rdkafka_performance producer printed no totals: ${(r.stdout + r.stderr).slice(-400)}`)
  return { delivered: Number(m[3]), failed: Number(m[4]), seconds: Number(m[5]) / 1000 }
}

export interface RdkafkaConsumeResult {
  records: number
  bytes: number
  seconds: number
}

/** Consumes `count` records of `topic` from the beginning as a group member (all partitions). */
export async function rdkafkaConsume(bin: string, bootstrap: string, topic: string, group: string, count: number, timeoutSeconds: number): Promise<RdkafkaConsumeResult> {
  const r = await runCommand(bin, ['-C', '-G', group, '-t', topic, '-b', bootstrap, '-c', String(count), '-X', 'auto.offset.reset=earliest', '-i', '1000'], timeoutSeconds * 1000, 'SIGINT')
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => l.includes('consumed in'))
  const last = lines.at(-1)
  const m = last && /(\d+) messages \((\d+) bytes\) consumed in (\d+)ms/.exec(last)
  if (!m) throw new Error(`rdkafka_performance consumer printed no totals: ${(r.stdout + r.stderr).slice(-400)}`)
  return { records: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]) / 1000 }
}
