// What the cluster benchmarks share: their `--name value` arguments, and creating a topic through
// whichever broker is the controller (the others answer NOT_CONTROLLER).
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
