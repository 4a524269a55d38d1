// What the group-coordinator benchmarks share: a three-broker cluster on etcd, topics created at
// whichever broker is the controller, and a group's coordinator as FindCoordinator names it.
import path from 'node:path'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { connect } from '../load/connection.js'
import { startEtcd } from './etcd.js'
import { stopService, type Service } from './procs.js'
import { startSamsa, type SamsaServer } from './samsa.js'
import { createTopicAtController, topicConfigs, waitUntil, within } from './cluster-bench.js'
export { percentile, waitUntil, within } from './cluster-bench.js'

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'
export const OFFSETS_TOPIC = '__consumer_offsets'

/** etcd and brokers 1..3 in cluster mode; `start(id)` starts one again after a kill. */
export class BenchCluster {
  readonly brokers = new Map<number, SamsaServer>()
  private constructor(private readonly root: string, private readonly etcd: { service: Service; endpoint: string }, private readonly settings: Record<string, string>) {}

  static async start(root: string, settings: Record<string, string>): Promise<BenchCluster> {
    const cluster = new BenchCluster(root, await startEtcd(root), settings)
    for (const id of [1, 2, 3]) await cluster.start(id)
    return cluster
  }

  /**
   * Starts broker `id` on its data directory. On the loaded machine a restart can take longer than
   * startSamsa waits (20 s), and the start is then tried again, up to three times.
   */
  async start(id: number): Promise<void> {
    const etcd = `etcd://${this.etcd.endpoint.slice('http://'.length)}/bench`
    for (let attempt = 1; ; attempt++) {
      try {
        this.brokers.set(id, await startSamsa(path.join(this.root, `b${id}`), ['--cluster', etcd, '--node-id', String(id)], { 'num.partitions': '1', ...this.settings }))
        return
      } catch (err) {
        if (attempt === 3) throw err
        process.stderr.write(`broker ${id} did not start (${(err as Error).message.split('\n')[0]}); trying again\n`)
      }
    }
  }

  /** SIGKILLs broker `id`; resolves once the process has exited. */
  kill(id: number): { exited: Promise<unknown> } {
    const child = this.brokers.get(id)!.service.child
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    this.brokers.delete(id)
    return { exited }
  }

  anyLive(): SamsaServer {
    return [...this.brokers.values()][0]!
  }

  async stop(): Promise<void> {
    for (const b of this.brokers.values()) await stopService(b.service.child).catch(() => {})
    await stopService(this.etcd.service.child).catch(() => {})
  }
}

/** Creates `topic` through whichever of `brokers` is the controller. */
export function createTopic(brokers: Iterable<SamsaServer>, topic: string, partitions: number, replicationFactor: number, configs: Record<string, string> = {}): Promise<void> {
  return createTopicAtController(brokers, { name: topic, numPartitions: partitions, replicationFactor, assignments: [], configs: topicConfigs(configs) })
}

/** The group's coordinator as `s` names it: node id, host and port; undefined while it has none. */
export async function findCoordinator(s: SamsaServer, groupId: string): Promise<{ nodeId: number; host: string; port: number } | undefined> {
  const c = await within(2000, connect(s.host, s.port))
  try {
    const res = await within(3000, c.request(FindCoordinatorApi, 3, { key: groupId, keyType: 0, coordinatorKeys: [] }))
    return res.errorCode === 0 ? { nodeId: res.nodeId, host: res.host, port: res.port } : undefined
  } finally {
    c.close()
  }
}

/** A partition's leader and ISR as `s`'s Metadata names them. */
export async function partitionState(s: SamsaServer, topic: string, partition: number): Promise<{ leader: number; isr: number[] }> {
  const c = await within(2000, connect(s.host, s.port))
  try {
    const md = await within(2000, c.request(MetadataApi, 12, { topics: [{ topicId: ZERO_UUID, name: topic }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false }))
    const p = md.topics[0]?.partitions.find((x) => x.partitionIndex === partition)
    return p === undefined ? { leader: -1, isr: [] } : { leader: p.leaderId, isr: p.isrNodes }
  } finally {
    c.close()
  }
}
