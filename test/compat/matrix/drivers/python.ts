// The Python clients (kafka-python and confluent-kafka from Debian, run with /usr/bin/python3):
// each has a script in ./python that performs one operation per run and prints JSON.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PYTHON } from '../../../helpers/external-clients.js'
import { run } from '../../../helpers/run.js'
import { DEFAULT_OP_TIMEOUT_MS, hex, librdkafkaWithoutKip848, type ClientDriver, type ClientOps, type SeenMetadata, type SeenRecord } from '../client-ops.js'
import { CODECS, codecFeature, type FeatureId } from '../features.js'

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python')

async function call<T>(script: string, address: string, op: string, spec: unknown = {}): Promise<T> {
  // the script's own waits stay inside ours, so a slow client reports its error rather than a kill
  const r = await run(PYTHON, [path.join(scripts, script), address, op], { input: JSON.stringify(spec), timeoutMs: DEFAULT_OP_TIMEOUT_MS + 5000 })
  const last = r.stdout.trim().split('\n').pop() ?? ''
  let out: { ok: boolean; result?: T; error?: string }
  try {
    out = JSON.parse(last)
  } catch {
    const why = r.timedOut ? 'timed out' : `exited with ${r.code ?? r.signal}`
    throw new Error(`${script} ${op} ${why} without a result; stderr: ${r.stderr.trim().slice(-1500)}`)
  }
  if (!out.ok) throw new Error(out.error)
  return out.result as T
}

const CLIENT_WAIT_S = (DEFAULT_OP_TIMEOUT_MS - 5000) / 1000

function pythonOps(script: string, address: string): ClientOps & { close(): Promise<void> } {
  return {
    metadata: (topics) => call<SeenMetadata>(script, address, 'metadata', { topics }),
    createTopic: (topic, partitions) => call<void>(script, address, 'create-topic', { topic, partitions }),
    produce: ({ topic, partition, codec, records }) =>
      call<number[]>(script, address, 'produce', {
        topic,
        partition,
        codec,
        records: records.map((r) => ({ key: hex(r.key), value: hex(r.value), headers: r.headers.map(([k, v]) => [k, hex(v)]) })),
      }),
    consume: (spec) => call<SeenRecord[]>(script, address, 'consume', { ...spec, timeoutS: CLIENT_WAIT_S }),
    groupConsume: (spec) => call<SeenRecord[]>(script, address, 'group', { ...spec, timeoutS: CLIENT_WAIT_S }),
    async close() {},
  }
}

/** Probes by importing the module: a missing Debian package is reported with its name. */
async function probeModule(script: string, pkg: string) {
  try {
    return { ok: true as const, info: await call<{ version: string; codecs?: Record<string, boolean> }>(script, '', 'probe') }
  } catch (err) {
    return { ok: false as const, reason: `${PYTHON} cannot run ${pkg} (${(err as Error).message.split('\n')[0]}); install the Debian package ${pkg}` }
  }
}

const KAFKA_PYTHON_CODEC_PACKAGE: Partial<Record<string, string>> = { snappy: 'python3-snappy', lz4: 'python3-lz4', zstd: 'python3-zstandard' }

export const kafkaPythonDriver: ClientDriver = {
  name: 'kafka-python',
  async probe() {
    const p = await probeModule('kafka-python-driver.py', 'python3-kafka')
    if (!p.ok) return p
    const notApplicable: Partial<Record<FeatureId, string>> = { groupKip848: 'kafka-python speaks only the classic group protocol (JoinGroup, SyncGroup, Heartbeat)' }
    const missing = CODECS.filter((c) => c !== 'none' && !p.info.codecs?.[c])
    const note =
      `kafka-python compresses ${missing.join(', ')} only with optional Python libraries ` +
      `(Debian: ${missing.map((c) => KAFKA_PYTHON_CODEC_PACKAGE[c] ?? `a ${c} library`).join(', ')}), not installed on this runner`
    for (const codec of missing) notApplicable[codecFeature(codec)] = note
    return { ok: true, version: p.info.version, notApplicable }
  },
  async open(address) {
    return pythonOps('kafka-python-driver.py', address)
  },
}

export const confluentKafkaDriver: ClientDriver = {
  name: 'confluent-kafka',
  async probe() {
    const p = await probeModule('confluent-kafka-driver.py', 'python3-confluent-kafka')
    if (!p.ok) return p
    const lib = /librdkafka (\S+)\)/.exec(p.info.version)?.[1] ?? 'unknown'
    return { ok: true, version: p.info.version, notApplicable: { groupKip848: librdkafkaWithoutKip848(lib) } }
  },
  async open(address) {
    return pythonOps('confluent-kafka-driver.py', address)
  },
}
