// kcat (librdkafka) run as a child process per operation. Records come back in a format whose
// key and value are length-prefixed (%K:%k %S:%s), so binary payloads, newlines included, are
// read exactly. kcat sets headers per run (-H), not per record, and has no admin commands.
import { spawn } from 'node:child_process'
import { run } from '../../../helpers/run.js'
import { DEFAULT_OP_TIMEOUT_MS, hex, librdkafkaWithoutKip848, type ClientDriver, type ClientOps, type SeenRecord, type StartPosition } from '../client-ops.js'

const FORMAT = '%p %o %T %K:%k %S:%s %h\\n'

/** Runs kcat to completion and returns stdout as bytes; throws with stderr on failure. */
function kcat(address: string, args: string[], input?: string, timeoutMs = DEFAULT_OP_TIMEOUT_MS): Promise<Buffer> {
  const all = ['-b', address, '-X', 'broker.address.family=v4', ...args]
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', all, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(Buffer.concat(out))
      else reject(new Error(`kcat ${args.join(' ')} ${signal ? `killed by ${signal} after ${timeoutMs} ms` : `exited with ${code}`}: ${err.trim().slice(-1500)}`))
    })
    child.stdin.on('error', () => {})
    child.stdin.end(input ?? '')
  })
}

/** Parses FORMAT output. Lengths are -1 for null keys and values. */
export function parseRecords(out: Buffer): SeenRecord[] {
  const records: SeenRecord[] = []
  let pos = 0
  const until = (ch: string): string => {
    const end = out.indexOf(ch, pos)
    if (end < 0) throw new Error(`malformed kcat output at byte ${pos}: ${JSON.stringify(out.subarray(pos, pos + 80).toString())}`)
    const s = out.subarray(pos, end).toString('utf8')
    pos = end + 1
    return s
  }
  const sized = (): string | null => {
    const len = Number(until(':'))
    if (len < 0) return null
    const h = hex(out.subarray(pos, pos + len))
    pos += len + 1
    return h
  }
  while (pos < out.length) {
    const partition = Number(until(' '))
    const offset = Number(until(' '))
    const timestamp = Number(until(' '))
    const key = sized()
    const value = sized()
    const hs = until('\n')
    const headers: Array<[string, string | null]> = hs
      ? hs.split(',').map((kv) => {
          const eq = kv.indexOf('=')
          return [kv.slice(0, eq), hex(Buffer.from(kv.slice(eq + 1), 'utf8'))]
        })
      : []
    records.push({ partition, offset, timestamp, key, value, headers })
  }
  return records
}

function position(from: StartPosition): string {
  if ('beginning' in from) return 'beginning'
  if ('offset' in from) return String(from.offset)
  return `s@${from.timestamp}`
}

export const kcatDriver: ClientDriver = {
  name: 'kcat',

  async probe() {
    const r = await run('kcat', ['-V'], { timeoutMs: 10_000 }).catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }))
    if (r.code !== 0) return { ok: false, reason: (r.stderr || 'kcat -V failed').trim().split('\n').pop()! }
    const v = /Version (\S+).*librdkafka (\S+)/.exec(r.stdout)
    return {
      ok: true,
      version: v ? `${v[1]} (librdkafka ${v[2]})` : 'unknown',
      notApplicable: {
        createTopic: 'kcat has no topic administration; it can only rely on broker-side auto-creation',
        groupKip848: librdkafkaWithoutKip848(v?.[2] ?? 'unknown'),
      },
    }
  },

  async open(address) {
    const ops: ClientOps & { close(): Promise<void> } = {
      async metadata(topics) {
        const md = JSON.parse((await kcat(address, ['-L', '-J', '-m', '10'])).toString('utf8')) as {
          brokers: Array<{ id: number; name: string }>
          topics: Array<{ topic: string; partitions: Array<{ partition: number; leader: number }> }>
        }
        return {
          brokers: md.brokers.map((b) => {
            const i = b.name.lastIndexOf(':')
            return { nodeId: b.id, host: b.name.slice(0, i), port: Number(b.name.slice(i + 1)) }
          }),
          topics: md.topics
            .filter((t) => topics.includes(t.topic))
            .map((t) => ({ name: t.topic, partitions: t.partitions.map((p) => ({ partition: p.partition, leader: p.leader })) })),
        }
      },

      async createTopic() {
        throw new Error('kcat cannot create topics')
      },

      async produce({ topic, partition, codec, records }) {
        const headers = records[0]?.headers ?? []
        const same = (a: Array<[string, Buffer]>) => a.length === headers.length && a.every(([k, v], i) => k === headers[i]![0] && v.equals(headers[i]![1]))
        if (!records.every((r) => same(r.headers))) throw new Error('kcat sets one header list for a whole run')
        const lines = records.map((r) => {
          const k = r.key.toString('utf8')
          const v = r.value.toString('utf8')
          if (k.includes('\t') || /[\n]/.test(k + v)) throw new Error('kcat input lines cannot carry tabs in keys or newlines')
          return `${k}\t${v}\n`
        })
        const hArgs = headers.flatMap(([k, v]) => ['-H', `${k}=${v.toString('utf8')}`])
        await kcat(address, ['-P', '-t', topic, '-p', String(partition), '-K', '\t', '-X', `compression.codec=${codec}`, '-X', 'acks=all', ...hArgs], lines.join(''))
        return null
      },

      async consume({ topic, partition, from, count }) {
        const out = await kcat(address, ['-C', '-q', '-t', topic, '-p', String(partition), '-o', position(from), '-c', String(count), '-e', '-f', FORMAT])
        return parseRecords(out)
      },

      async groupConsume({ topic, groupId }) {
        // -e ends the member once every assigned partition is at its end; kcat commits what it
        // consumed when it leaves. No -o: that would override the committed offsets.
        const out = await kcat(address, ['-G', groupId, '-q', '-X', 'auto.offset.reset=earliest', '-e', '-f', FORMAT, topic])
        return parseRecords(out)
      },

      async close() {},
    }
    return ops
  },
}
