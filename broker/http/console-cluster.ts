// The console's source inside a broker of a cluster (broker/cluster): what the whole cluster holds,
// whichever broker serves the console. Brokers, the controller, topics and each partition's leader,
// replicas and ISR come from this broker's copy of the cluster metadata; offsets from each
// partition's leader (in process when it is this broker, else ListOffsets); sizes from the log
// directories of the brokers holding a replica (this one's own, DescribeLogDirs to the others);
// groups from every broker and each group's coordinator; messages from the leader (in process,
// else a Fetch to it); topic creation and deletion go to the controller, as CreateTopics and
// DeleteTopics must, and config changes to etcd as AlterConfigs does on any broker.
//
// Requests to other brokers go over the inter-broker listener with the brokers' own credentials
// (console-admin.ts over an AdminClient), so every answer is first cut to what the caller may see
// and every action checked against the caller's ACLs here, exactly as BrokerConsoleSource does for
// a single broker. With ACLs on, the brokers' principal needs what those requests need (a super
// user has it); whatever another broker refuses or does not answer is left out with a note.
// Without cluster mode every call goes to BrokerConsoleSource unchanged.
import { AclOperation as Op, CLUSTER_NAME, ResourceType as Resource } from '../acls/acl-types.js'
import { AdminClient } from '../client/admin-client.js'
import type { ClientSecurity } from '../client/connection.js'
import { keyPartition } from '../client/partitioner.js'
import type { ClusterNode } from '../cluster/cluster-node.js'
import { endpointFor } from '../cluster/keys.js'
import type { BrokerContext } from '../context.js'
import { isInternalTopic } from '../coordinator-state/internal-topics.js'
import { AdminConsoleSource } from './console-admin.js'
import { BrokerConsoleSource, configViews } from './console-broker.js'
import {
  HttpError,
  type AclView,
  type Caller,
  type ClusterView,
  type ConfigEdit,
  type ConsoleSource,
  type GroupDetail,
  type GroupSummary,
  type MessagePage,
  type MessageQuery,
  type PartitionDetail,
  type TestRecord,
  type TopicDetail,
  type TopicSummary,
  type UserView,
} from './console-source.js'

/** How this broker reaches the others: its inter-broker listener's name and security. */
export interface InterBrokerReach {
  listenerName?: string
  security?: ClientSecurity
}

const REMOTE_TIMEOUT_MS = 10_000

interface Offsets {
  low: number
  high: number
  lso: number
}

/** Per topic and partition, the bytes of its largest replica among the brokers that answered. */
interface Sizes {
  bytes: Map<string, Map<number, number>>
  /** Brokers holding replicas whose size is not known (down, or DescribeLogDirs failed). */
  unknown: Set<number>
}

export class ClusterConsoleSource implements ConsoleSource {
  readonly mode = 'broker'
  private readonly local: BrokerConsoleSource
  private remoteSource: Promise<{ admin: AdminClient; source: AdminConsoleSource }> | undefined

  constructor(
    private readonly broker: () => BrokerContext | undefined,
    private readonly reach: InterBrokerReach = {},
  ) {
    this.local = new BrokerConsoleSource(broker)
  }

  async close(): Promise<void> {
    const r = await this.remoteSource?.catch(() => undefined)
    this.remoteSource = undefined
    await r?.source.close()
    await r?.admin.close().catch(() => {})
  }

  /** The cluster this broker belongs to, or undefined for a single broker. */
  private clusterNode(): { b: BrokerContext; cl: ClusterNode } | undefined {
    const b = this.broker()
    return b?.cluster === undefined ? undefined : { b, cl: b.cluster }
  }

  /** An admin client over the inter-broker listener, bootstrapped from the live brokers; made again after a failure to reach the cluster. */
  private async remote(cl: ClusterNode, nodeId: number): Promise<AdminConsoleSource> {
    this.remoteSource ??= (async () => {
      const bootstrap = cl.image.liveBrokers().map((reg) => {
        const e = endpointFor(reg, this.reach.listenerName)
        return `${e.host}:${e.port}`
      })
      if (bootstrap.length === 0) throw new HttpError(503, 'no live broker is registered in the cluster')
      const opts = { bootstrap, clientId: `samsa-console-${nodeId}`, timeoutMs: REMOTE_TIMEOUT_MS, security: this.reach.security }
      const admin = new AdminClient(opts)
      return { admin, source: new AdminConsoleSource(admin, opts) }
    })()
    try {
      return (await this.remoteSource).source
    } catch (err) {
      this.remoteSource = undefined
      throw err
    }
  }

  /**
   * Runs a call to other brokers. One that could not reach them drops the client, so the next call
   * bootstraps from the brokers live then; the old client is closed once calls in flight on it
   * have had their time.
   */
  private async viaRemote<T>(cl: ClusterNode, nodeId: number, fn: (s: AdminConsoleSource) => Promise<T>): Promise<T> {
    const current = this.remoteSource
    const s = await this.remote(cl, nodeId)
    try {
      return await fn(s)
    } catch (err) {
      if (err instanceof HttpError && err.status === 502 && current !== undefined && this.remoteSource === current) {
        this.remoteSource = undefined
        setTimeout(() => void current.then((r) => Promise.all([r.source.close(), r.admin.close()])).catch(() => {}), REMOTE_TIMEOUT_MS).unref()
      }
      throw err
    }
  }

  private describable(c: Caller, cl: ClusterNode, name: string): void {
    if (!this.local.may(c, Op.DESCRIBE, Resource.TOPIC, name) || !cl.image.topics.has(name)) throw new HttpError(404, `no topic ${name}`)
  }

  async cluster(c: Caller, actions: boolean): Promise<ClusterView> {
    const own = await this.local.cluster(c, actions)
    const n = this.clusterNode()
    if (n === undefined) return own
    const { b, cl } = n
    const image = cl.image
    const brokers = image.liveBrokers().map((reg) => {
      const l = reg.listeners[0] ?? reg
      return { nodeId: reg.nodeId, host: l.host, port: l.port, rack: reg.rack ?? null, controller: reg.nodeId === image.controllerId }
    })
    let partitions = 0
    let under = 0
    let offline = 0
    for (const { value: s } of image.allPartitions()) {
      if (!image.topics.has(s.topic)) continue
      partitions++
      if (s.leader < 0 || !image.isLive(s.leader)) offline++
      else if (s.isr.length < s.replicas.length) under++
    }
    const notes = [`Served by broker ${b.nodeId} of a cluster of ${brokers.length} live brokers: topics and partitions from the cluster metadata; the log directory and uptime are broker ${b.nodeId}'s.`]
    let groups = own.groups
    try {
      groups = (await this.viaRemote(cl, b.nodeId, (s) => s.groupIds())).length
    } catch (err) {
      notes.push(`Groups counted on broker ${b.nodeId} only: ${(err as Error).message}`)
    }
    if (image.controllerId < 0) notes.push('No broker holds the controller election right now.')
    return { ...own, controllerId: image.controllerId, brokers, topics: image.topics.size, partitions, groups, underReplicatedPartitions: under, offlinePartitions: offline, notes }
  }

  async topics(c: Caller): Promise<TopicSummary[]> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.topics(c)
    const names = [...n.cl.image.topics.keys()].filter((t) => this.local.may(c, Op.DESCRIBE, Resource.TOPIC, t)).sort()
    const sizes = await this.sizes(n.b, n.cl)
    return Promise.all(names.map(async (name) => (await this.detail(n.b, n.cl, name, sizes)).summary))
  }

  async topic(c: Caller, name: string): Promise<TopicDetail> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.topic(c, name)
    const { b, cl } = n
    this.describable(c, cl, name)
    const sizes = await this.sizes(b, cl)
    const d = await this.detail(b, cl, name, sizes)
    const spec = cl.image.topics.get(name)!.value
    const configs = this.local.may(c, Op.DESCRIBE_CONFIGS, Resource.TOPIC, name) ? configViews(b, spec.configs) : []
    const notes = [`Segment counts are known only for the replicas on broker ${b.nodeId}, the broker serving this console.`]
    if (d.unknownSizes.size > 0) notes.push(`Size on broker${d.unknownSizes.size > 1 ? 's' : ''} ${[...d.unknownSizes].sort((x, y) => x - y).join(', ')} unknown: not answering DescribeLogDirs.`)
    if (d.offsetsFromCopy) notes.push(`Offsets of partitions led elsewhere are broker ${b.nodeId}'s own copy: their leaders did not answer ListOffsets.`)
    return { ...d.summary, partitionDetails: d.partitions, configs, notes }
  }

  /** One topic's partitions as the metadata, the leaders and the log directories describe them. */
  private async detail(b: BrokerContext, cl: ClusterNode, name: string, sizes: Sizes): Promise<{ summary: TopicSummary; partitions: PartitionDetail[]; unknownSizes: Set<number>; offsetsFromCopy: boolean }> {
    const image = cl.image
    const spec = image.topics.get(name)!.value
    const states = image.partitionsOf(name)
    const { offsets, fromCopy } = await this.offsets(b, cl, name)
    const unknownSizes = new Set<number>()
    const partitions = states.map((s): PartitionDetail => {
      const o = offsets.get(s.partition) ?? { low: 0, high: 0, lso: 0 }
      const known = sizes.bytes.get(name)?.get(s.partition)
      const missing = s.replicas.filter((id) => sizes.unknown.has(id))
      for (const id of missing) unknownSizes.add(id)
      const log = s.replicas.includes(b.nodeId) ? b.logs.partition(name, s.partition) : undefined
      return {
        partition: s.partition,
        leader: s.leader < 0 || !image.isLive(s.leader) ? null : s.leader,
        logStartOffset: o.low,
        highWatermark: o.high,
        lastStableOffset: o.lso,
        sizeBytes: known ?? null,
        segments: log?.segmentCount ?? null,
        replicas: s.replicas,
        isr: s.isr,
        offlineReplicas: s.replicas.filter((id) => !image.isLive(id)),
      }
    })
    const sizeBytes = partitions.some((p) => p.sizeBytes === null) ? null : partitions.reduce((x, p) => x + p.sizeBytes!, 0)
    const summary: TopicSummary = {
      name,
      topicId: spec.topicId,
      partitions: spec.partitions,
      sizeBytes,
      records: partitions.reduce((x, p) => x + p.highWatermark - p.logStartOffset, 0),
      endOffsets: partitions.reduce((x, p) => x + p.highWatermark, 0),
      internal: isInternalTopic(name) || name.startsWith('__'),
    }
    return { summary, partitions, unknownSizes, offsetsFromCopy: fromCopy }
  }

  /**
   * Each partition's log start, high watermark and last stable offset, from its leader: this
   * broker's log when it leads, else ListOffsets. When the leaders do not answer, this broker's
   * own copy (a follower's, or empty where it holds no replica) stands in, and `fromCopy` says so.
   */
  private async offsets(b: BrokerContext, cl: ClusterNode, name: string): Promise<{ offsets: Map<number, Offsets>; fromCopy: boolean }> {
    const out = new Map<number, Offsets>()
    const own = (p: number): Offsets => {
      const log = b.logs.partition(name, p)
      return log === undefined ? { low: 0, high: 0, lso: 0 } : { low: log.logStartOffset, high: log.highWatermark, lso: log.lastStableOffset }
    }
    const states = cl.image.partitionsOf(name)
    for (const s of states) if (s.leader === b.nodeId) out.set(s.partition, own(s.partition))
    if (out.size === states.length) return { offsets: out, fromCopy: false }
    let fromCopy = false
    try {
      const [uncommitted, committed] = await this.viaRemote(cl, b.nodeId, (s) => Promise.all([s.partitionOffsets(name, 0), s.partitionOffsets(name, 1)]))
      const lso = new Map(committed.map((o) => [o.partition, o.high]))
      for (const o of uncommitted) if (!out.has(o.partition)) out.set(o.partition, { low: o.low, high: o.high, lso: lso.get(o.partition) ?? o.high })
    } catch {
      fromCopy = true
    }
    for (const s of states) {
      if (out.has(s.partition)) continue
      fromCopy = true
      out.set(s.partition, own(s.partition))
    }
    return { offsets: out, fromCopy }
  }

  /** Replica sizes: this broker's own logs for the replicas it holds, DescribeLogDirs to each other live broker. */
  private async sizes(b: BrokerContext, cl: ClusterNode): Promise<Sizes> {
    const image = cl.image
    const bytes = new Map<string, Map<number, number>>()
    const add = (topic: string, partition: number, size: number) => {
      let m = bytes.get(topic)
      if (m === undefined) bytes.set(topic, (m = new Map()))
      m.set(partition, Math.max(m.get(partition) ?? 0, size))
    }
    for (const { value: s } of image.allPartitions()) {
      if (!s.replicas.includes(b.nodeId)) continue
      const log = b.logs.partition(s.topic, s.partition)
      if (log !== undefined) add(s.topic, s.partition, log.sizeInBytes)
    }
    const unknown = new Set<number>()
    for (const id of image.brokers.keys()) if (!image.isLive(id)) unknown.add(id)
    const others = image.liveBrokers().filter((reg) => reg.nodeId !== b.nodeId)
    await Promise.all(
      others.map(async (reg) => {
        try {
          const dirs = await this.viaRemote(cl, b.nodeId, (s) => s.logDirs(reg.nodeId))
          for (const d of dirs) for (const p of d.partitions) if (!p.isFuture) add(p.topic, p.partition, p.sizeBytes)
        } catch {
          unknown.add(reg.nodeId)
        }
      }),
    )
    // A partition none of whose replicas answered has no known size (a registered broker that is down is unknown too).
    for (const { value: s } of image.allPartitions()) {
      const answered = s.replicas.some((id) => id === b.nodeId || (image.isLive(id) && !unknown.has(id)))
      if (!answered) {
        bytes.get(s.topic)?.delete(s.partition)
        for (const id of s.replicas) if (id !== b.nodeId) unknown.add(id)
      }
    }
    return { bytes, unknown }
  }

  async messages(c: Caller, topic: string, q: MessageQuery): Promise<MessagePage> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.messages(c, topic, q)
    const { b, cl } = n
    this.describable(c, cl, topic)
    if (!this.local.may(c, Op.READ, Resource.TOPIC, topic)) throw new HttpError(403, `not authorized to read ${topic}`)
    const state = cl.image.partition(topic, q.partition)?.value
    if (state === undefined) throw new HttpError(404, `no partition ${topic}-${q.partition}`)
    if (state.leader < 0) throw new HttpError(503, `${topic}-${q.partition} has no leader right now`)
    // The leader's log is the one to read: a follower's may be behind the high watermark, or hold a tail the leader never had.
    if (state.leader === b.nodeId) return this.local.messages(c, topic, q)
    return this.viaRemote(cl, b.nodeId, (s) => s.messages(c, topic, q))
  }

  async groups(c: Caller): Promise<GroupSummary[]> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.groups(c)
    try {
      return await this.viaRemote(n.cl, n.b.nodeId, (s) => s.groups(c, (id) => this.local.may(c, Op.DESCRIBE, Resource.GROUP, id)))
    } catch (err) {
      // A broker that does not answer ListGroups leaves the groups coordinated here (the cluster view notes why).
      if (err instanceof HttpError && err.status === 502) return this.local.groups(c)
      throw err
    }
  }

  async group(c: Caller, id: string): Promise<GroupDetail> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.group(c, id)
    if (!this.local.may(c, Op.DESCRIBE, Resource.GROUP, id)) throw new HttpError(404, `no group ${id}`)
    const g = await this.viaRemote(n.cl, n.b.nodeId, (s) => s.group(c, id))
    const mayTopic = (t: string) => this.local.may(c, Op.DESCRIBE, Resource.TOPIC, t)
    return { ...g, offsets: g.offsets.filter((o) => mayTopic(o.topic)), sharePartitions: g.sharePartitions.filter((p) => mayTopic(p.topic)) }
  }

  /** ACLs and SCRAM users live in etcd, the same on every broker. */
  acls(c: Caller): Promise<AclView[] | null> {
    return this.local.acls(c)
  }

  users(c: Caller): Promise<UserView[]> {
    return this.local.users(c)
  }

  async createTopic(c: Caller, name: string, partitions: number | undefined, configs: Record<string, string>): Promise<{ name: string; partitions: number }> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.createTopic(c, name, partitions, configs)
    const { b, cl } = n
    if (!this.local.may(c, Op.CREATE, Resource.CLUSTER, CLUSTER_NAME) && !this.local.may(c, Op.CREATE, Resource.TOPIC, name)) throw new HttpError(403, `not authorized to create ${name}`)
    if (cl.image.topics.has(name)) throw new HttpError(409, `topic ${name} already exists`)
    const created = await this.viaRemote(cl, b.nodeId, (s) => s.createTopic(c, name, partitions, configs))
    b.logger.info({ topic: name, partitions: created.partitions, configs, principal: c.principal }, 'created topic from the console')
    return created
  }

  async deleteTopic(c: Caller, name: string): Promise<void> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.deleteTopic(c, name)
    const { b, cl } = n
    if (!this.local.may(c, Op.DELETE, Resource.TOPIC, name)) throw new HttpError(403, `not authorized to delete ${name}`)
    if (!b.config.getBool('delete.topic.enable')) throw new HttpError(409, 'topic deletion is disabled (delete.topic.enable=false)')
    if (!cl.image.topics.has(name)) throw new HttpError(404, `no topic ${name}`)
    await this.viaRemote(cl, b.nodeId, (s) => s.deleteTopic(c, name))
    b.logger.info({ topic: name, principal: c.principal }, 'deleted topic from the console')
  }

  /** Any broker writes topic configs to etcd (config-admin.ts), as AlterConfigs does in cluster mode. */
  alterTopicConfigs(c: Caller, name: string, edits: readonly ConfigEdit[]): Promise<void> {
    return this.local.alterTopicConfigs(c, name, edits)
  }

  async produce(c: Caller, topic: string, r: TestRecord): Promise<{ partition: number; offset: number }> {
    const n = this.clusterNode()
    if (n === undefined) return this.local.produce(c, topic, r)
    const { b, cl } = n
    this.describable(c, cl, topic)
    if (!this.local.may(c, Op.WRITE, Resource.TOPIC, topic)) throw new HttpError(403, `not authorized to write to ${topic}`)
    const spec = cl.image.topics.get(topic)!.value
    const partition = r.partition ?? (r.key === null ? 0 : keyPartition(r.key, spec.partitions))
    if (cl.image.partition(topic, partition) === undefined) throw new HttpError(404, `no partition ${topic}-${partition}`)
    // Through Produce to the leader with acks=all, as any client's record: replicated before it is acknowledged.
    const sent = await this.viaRemote(cl, b.nodeId, (s) => s.produce(c, topic, { ...r, partition }))
    b.logger.info({ topic, partition, offset: sent.offset, principal: c.principal }, 'produced a record from the console')
    return sent
  }
}
