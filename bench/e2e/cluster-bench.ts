// What the cluster benchmarks share: their `--name value` arguments, creating a topic through
// whichever broker is the controller (the others answer NOT_CONTROLLER), bounded waits on brokers
// that may be dead, and the statistics they report.
import { CreateTopicsApi, type CreateTopicsRequestCreatableTopic } from '../../protocol/generated/create-topics.js'
import { connect } from '../load/connection.js'
import { sleep } from './procs.js'
import type { SamsaServer } from './samsa.js'

const NOT_CONTROLLER = 41

/** `--name value` pairs (and a bare `--quick`) from the command line. */
export function benchArgs(argv = process.argv.slice(2)): Map<string, string> {
  const args = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.set('quick', '1')
    else args.set(argv[i]!.replace(/^--/, ''), argv[++i] ?? '')
  }
  return args
}

/** Sends CreateTopics to each broker in turn until the controller takes it. */
export async function createTopicAtController(brokers: Iterable<SamsaServer>, topic: CreateTopicsRequestCreatableTopic): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const s of brokers) {
      const c = await connect(s.host, s.port)
      try {
        const res = await c.request(CreateTopicsApi, 7, { topics: [topic], timeoutMs: 10000, validateOnly: false })
        const code = res.topics[0]!.errorCode
        if (code === 0) return
        if (code !== NOT_CONTROLLER) throw new Error(`CreateTopics ${topic.name}: error ${code}`)
      } finally {
        c.close()
      }
    }
    await sleep(200)
  }
  throw new Error(`no controller took CreateTopics ${topic.name}`)
}

/** A topic's configs as CreateTopics carries them. */
export function topicConfigs(configs: Record<string, string>): CreateTopicsRequestCreatableTopic['configs'] {
  return Object.entries(configs).map(([name, value]) => ({ name, value }))
}

/** Bounds a request to a broker that may be dead or fenced. */
export function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))])
}

/** Polls `cond` every 100 ms (a rejection counts as false) until it holds; throws after `timeoutMs`. */
export async function waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** The nearest-rank percentile `q` (0..1) of `xs`. */
export function percentile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.min(s.length - 1, Math.ceil(q * s.length) - 1))]!
}

/** The median of `xs`, the mean of the middle two for an even count. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
