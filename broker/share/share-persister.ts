// How a share-partition leader reads and writes its share partitions' state: through the share
// coordinator of each (the leader of the share partition's __share_group_state partition), as
// Kafka's DefaultStatePersister does. The coordinator is this broker on a single broker, and in a
// cluster whenever this broker leads the state partition: then the state is written in process.
// Otherwise it goes to the leader with Kafka's inter-broker RPCs (ReadShareGroupState,
// WriteShareGroupState, InitializeShareGroupState, DeleteShareGroupState), one request per
// coordinator and group.
//
// A refusal that passes (NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS while the state partition
// moves, a coordinator that is down, too few in-sync replicas) is retried with the leader looked up
// again, until `retryMs` has passed; then the write fails and its callers answer the error. A read
// of a share partition without state answers stateEpoch -1 (Samsa's coordinator; the record of an
// initialized share partition has stateEpoch 0 or more).
import type { Logger } from 'pino'
import { ErrorCode, errorName } from '../../protocol/errors.js'
import { DeleteShareGroupStateApi } from '../../protocol/generated/delete-share-group-state.js'
import { InitializeShareGroupStateApi } from '../../protocol/generated/initialize-share-group-state.js'
import { ReadShareGroupStateApi } from '../../protocol/generated/read-share-group-state.js'
import { WriteShareGroupStateApi } from '../../protocol/generated/write-share-group-state.js'
import type { ShareStateRecord } from '../../storage/metadata-store.js'
import { parseShareStateKey, shareStateKey } from '../../storage/metadata-keys.js'
import { BrokerConnection, type ClientSecurity } from '../client/connection.js'
import { parseShareCoordinatorKey, shareCoordinatorKey, type ShareStateChange, type ShareStateCoordinator } from '../coordinator-state/share-state.js'
import { KafkaError, toKafkaError } from '../errors.js'
import type { ShareStateStore } from './share-state-writer.js'

const RETRIABLE: ReadonlySet<number> = new Set([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
])

/** A state partition's leader; undefined while it has none. */
export type StateLeaderLookup = (statePartition: number) => { nodeId: number; host: string; port: number } | undefined

export interface SharePersisterOptions {
  coordinator: ShareStateCoordinator
  /** Creates __share_group_state when it does not exist yet (loading it, on a single broker). */
  ensureTopic: () => Promise<void>
  logger: Logger
  /** How long a refused read or write is retried. */
  retryMs: number
}

interface Cluster {
  nodeId: number
  leaderOf: StateLeaderLookup
  security?: ClientSecurity
}

/** Each key's outcome; NONE when done. */
type Outcomes = Map<string, number>

export class ShareCoordinatorPersister implements ShareStateStore {
  private cluster: Cluster | undefined
  private closed = false
  /** Keys whose write a newer leader fenced, with the epoch fenced: later writes at that epoch are dropped. */
  private readonly fenced = new Map<string, number>()
  private readonly connections = new Map<number, { address: string; connection: Promise<BrokerConnection> }>()

  constructor(private readonly opts: SharePersisterOptions) {}

  /** Cluster mode: state partitions led elsewhere are reached over the network. */
  useCluster(cluster: Cluster): void {
    this.cluster = cluster
  }

  async writeShareStates(entries: ReadonlyMap<string, ShareStateRecord | null>): Promise<void> {
    const changes = new Map<string, ShareStateRecord | null>()
    for (const [key, state] of entries) {
      const k = toCoordinatorKey(key)
      // A deposed leader's state, refused once already (the writer hands failed writes back).
      const fencedAt = this.fenced.get(k)
      if (fencedAt !== undefined && state !== null && state.leaderEpoch <= fencedAt) continue
      changes.set(k, state)
    }
    try {
      await this.retrying([...changes.keys()], (local, remote) => this.writeTo(local, remote, changes))
    } catch (err) {
      if (err instanceof FencedWrite) for (const k of err.keys) this.fenced.set(k, changes.get(k)?.leaderEpoch ?? -1)
      throw err
    }
  }

  /** Each key's state, null when it has none; rejects when a coordinator could not answer in time. */
  async readShareStates(keys: readonly string[]): Promise<Map<string, ShareStateRecord | null>> {
    const found = new Map<string, ShareStateRecord | null>()
    await this.retrying(keys.map(toCoordinatorKey), (local, remote) => this.readFrom(local, remote, found))
    return new Map(keys.map((k) => [k, found.get(toCoordinatorKey(k)) ?? null]))
  }

  /** Gives the share partitions an initial state (start offset -1: the leader resolves it) where they have none. */
  async initializeShareStates(keys: readonly string[]): Promise<void> {
    await this.retrying(keys.map(toCoordinatorKey), (local, remote) => this.initializeAt(local, remote))
  }

  /** The states this broker's coordinator serves: all of them on a single broker, read at start. */
  listShareStates(): Array<{ key: string; value: ShareStateRecord }> {
    return this.opts.coordinator.list().map(({ key, state }) => {
      const k = parseShareCoordinatorKey(key)
      return { key: shareStateKey(k.groupId, k.topicId, k.partition), value: state }
    })
  }

  /** Stops retrying (the broker stops); what is still refused fails at once. */
  close(): void {
    this.closed = true
    for (const c of this.connections.values()) void c.connection.then((conn) => conn.close(), () => {})
    this.connections.clear()
  }

  /**
   * Runs `attempt` on the keys, split into those this broker coordinates and those of each other
   * coordinator, again for the keys refused with a passing error until `retryMs` has passed.
   */
  private async retrying(keys: readonly string[], attempt: (local: string[], remote: Map<number, { address: string; keys: string[] }>) => Promise<Outcomes>): Promise<void> {
    if (keys.length === 0) return
    await this.opts.ensureTopic()
    const deadline = Date.now() + this.opts.retryMs
    let pending = [...keys]
    for (let round = 0; ; round++) {
      const local: string[] = []
      const remote = new Map<number, { address: string; keys: string[] }>()
      const outcomes: Outcomes = new Map()
      for (const key of pending) {
        const p = this.opts.coordinator.partitionFor(key)
        if (this.cluster === undefined || this.opts.coordinator.topic.refusal(p) !== ErrorCode.NOT_COORDINATOR) {
          local.push(key)
          continue
        }
        const leader = this.cluster.leaderOf(p)
        if (leader === undefined || leader.nodeId === this.cluster.nodeId) {
          // No leader yet, or this broker is about to serve it.
          outcomes.set(key, ErrorCode.COORDINATOR_NOT_AVAILABLE)
          continue
        }
        let to = remote.get(leader.nodeId)
        if (to === undefined) remote.set(leader.nodeId, (to = { address: `${leader.host}:${leader.port}`, keys: [] }))
        to.keys.push(key)
      }
      for (const [k, code] of await attempt(local, remote)) outcomes.set(k, code)
      const failed = [...outcomes].filter(([, code]) => code !== ErrorCode.NONE)
      if (failed.length === 0) return
      const fenced = failed.filter(([, code]) => code === ErrorCode.FENCED_LEADER_EPOCH).map(([k]) => k)
      if (fenced.length > 0) throw new FencedWrite(fenced)
      const fatal = failed.find(([, code]) => !RETRIABLE.has(code))
      if (fatal !== undefined || Date.now() >= deadline || this.closed) {
        const [key, code] = fatal ?? failed[0]!
        throw new KafkaError(code, `the share coordinator of ${key} refused the share-partition state (${errorName(code)})`)
      }
      pending = failed.map(([k]) => k)
      await sleep(Math.min(500, 50 * 2 ** Math.min(round, 4)))
    }
  }

  private async writeTo(local: string[], remote: Map<number, { address: string; keys: string[] }>, changes: ReadonlyMap<string, ShareStateRecord | null>): Promise<Outcomes> {
    const out: Outcomes = new Map()
    const jobs: Array<Promise<void>> = []
    if (local.length > 0) {
      const localChanges: ShareStateChange[] = local.map((key) => ({ key, state: changes.get(key)! }))
      jobs.push(this.opts.coordinator.write(localChanges).then((o) => void o.forEach((code, k) => out.set(k, code))))
    }
    for (const [nodeId, to] of remote) {
      for (const [groupId, keys] of byGroup(to.keys)) {
        const writes = keys.filter((k) => changes.get(k) !== null)
        const deletes = keys.filter((k) => changes.get(k) === null)
        if (writes.length > 0) jobs.push(this.remote(nodeId, to.address, writes, out, (conn) => conn.request(WriteShareGroupStateApi, 0, {
          groupId,
          topics: topicsOf(writes, (k, partition) => {
            const s = changes.get(k)!
            return { partition, stateEpoch: s.stateEpoch, leaderEpoch: s.leaderEpoch, startOffset: s.startOffset, stateBatches: s.stateBatches.map(([firstOffset, lastOffset, deliveryState, deliveryCount]) => ({ firstOffset, lastOffset, deliveryState, deliveryCount })) }
          }),
        }).then((res) => res.results)))
        if (deletes.length > 0) jobs.push(this.remote(nodeId, to.address, deletes, out, (conn) => conn.request(DeleteShareGroupStateApi, 0, {
          groupId,
          topics: topicsOf(deletes, (_k, partition) => ({ partition })),
        }).then((res) => res.results)))
      }
    }
    await Promise.all(jobs)
    return out
  }

  private async readFrom(local: string[], remote: Map<number, { address: string; keys: string[] }>, found: Map<string, ShareStateRecord | null>): Promise<Outcomes> {
    const out: Outcomes = new Map()
    for (const key of local) {
      const read = this.opts.coordinator.read(key)
      if (typeof read === 'number') out.set(key, read)
      else {
        out.set(key, ErrorCode.NONE)
        found.set(key, read ?? null)
      }
    }
    const jobs: Array<Promise<void>> = []
    for (const [nodeId, to] of remote) {
      for (const [groupId, keys] of byGroup(to.keys)) {
        jobs.push(this.remote(nodeId, to.address, keys, out, async (conn) => {
          const res = await conn.request(ReadShareGroupStateApi, 0, { groupId, topics: topicsOf(keys, (_k, partition) => ({ partition, leaderEpoch: -1 })) })
          for (const t of res.results) {
            for (const p of t.partitions) {
              if (p.errorCode !== ErrorCode.NONE) continue
              const key = shareCoordinatorKey(groupId, t.topicId, p.partition)
              found.set(key, p.stateEpoch < 0 ? null : {
                startOffset: Number(p.startOffset),
                stateEpoch: p.stateEpoch,
                leaderEpoch: -1,
                stateBatches: p.stateBatches.map((b) => [Number(b.firstOffset), Number(b.lastOffset), b.deliveryState, b.deliveryCount]),
              })
            }
          }
          return res.results
        }))
      }
    }
    await Promise.all(jobs)
    return out
  }

  private async initializeAt(local: string[], remote: Map<number, { address: string; keys: string[] }>): Promise<Outcomes> {
    const out: Outcomes = new Map()
    const jobs: Array<Promise<void>> = []
    if (local.length > 0) jobs.push(this.opts.coordinator.initialize(local, 0, -1).then((o) => void o.forEach((code, k) => out.set(k, code))))
    for (const [nodeId, to] of remote) {
      for (const [groupId, keys] of byGroup(to.keys)) {
        jobs.push(this.remote(nodeId, to.address, keys, out, (conn) => conn.request(InitializeShareGroupStateApi, 0, {
          groupId,
          topics: topicsOf(keys, (_k, partition) => ({ partition, stateEpoch: 0, startOffset: -1 })),
        }).then((res) => res.results)))
      }
    }
    await Promise.all(jobs)
    return out
  }

  /** One request to another coordinator; every key it names gets the outcome its answer gives (NETWORK_EXCEPTION when it broke). */
  private async remote(
    nodeId: number,
    address: string,
    keys: readonly string[],
    out: Outcomes,
    send: (conn: BrokerConnection) => Promise<Array<{ topicId: string; partitions: Array<{ partition: number; errorCode: number }> }>>,
  ): Promise<void> {
    for (const k of keys) out.set(k, ErrorCode.UNKNOWN_SERVER_ERROR)
    const groupId = parseShareCoordinatorKey(keys[0]!).groupId
    try {
      const results = await send(await this.connection(nodeId, address))
      for (const t of results) for (const p of t.partitions) out.set(shareCoordinatorKey(groupId, t.topicId, p.partition), p.errorCode)
    } catch (err) {
      this.dropConnection(nodeId)
      this.opts.logger.debug({ err, nodeId }, 'share coordinator request failed')
      const code = toKafkaError(err).code
      for (const k of keys) out.set(k, code === ErrorCode.UNKNOWN_SERVER_ERROR ? ErrorCode.NETWORK_EXCEPTION : code)
    }
  }

  private connection(nodeId: number, address: string): Promise<BrokerConnection> {
    let c = this.connections.get(nodeId)
    if (c === undefined || c.address !== address) {
      this.dropConnection(nodeId)
      c = {
        address,
        connection: BrokerConnection.connect(address, {
          clientId: `samsa-share-persister-${this.cluster?.nodeId ?? 0}`,
          connectTimeoutMs: 5000,
          requestTimeoutMs: 30_000,
          security: this.cluster?.security,
        }),
      }
      this.connections.set(nodeId, c)
    }
    return c.connection
  }

  private dropConnection(nodeId: number): void {
    const c = this.connections.get(nodeId)
    if (c === undefined) return
    this.connections.delete(nodeId)
    void c.connection.then((conn) => conn.close(), () => {})
  }
}

/** A newer leader of these share partitions wrote their state: this broker no longer leads them. */
class FencedWrite extends KafkaError {
  constructor(readonly keys: string[]) {
    super(ErrorCode.FENCED_LEADER_EPOCH, `a newer leader wrote the share-partition state of ${keys.join(', ')}`)
  }
}

/** The coordinator key ("group:topicId:partition") of a share-state store key. */
function toCoordinatorKey(storeKey: string): string {
  const k = parseShareStateKey(storeKey)
  return shareCoordinatorKey(k.group, k.topicId, k.partition)
}

function byGroup(keys: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const k of keys) {
    const { groupId } = parseShareCoordinatorKey(k)
    let list = out.get(groupId)
    if (list === undefined) out.set(groupId, (list = []))
    list.push(k)
  }
  return out
}

/** The request's topics, each with its partitions as `partition` builds them. */
function topicsOf<P>(keys: readonly string[], partition: (key: string, partition: number) => P): Array<{ topicId: string; partitions: P[] }> {
  const out = new Map<string, P[]>()
  for (const k of keys) {
    const { topicId, partition: p } = parseShareCoordinatorKey(k)
    let list = out.get(topicId)
    if (list === undefined) out.set(topicId, (list = []))
    list.push(partition(k, p))
  }
  return [...out].map(([topicId, partitions]) => ({ topicId, partitions }))
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
