// One broker's membership in a cluster kept in etcd: it adopts (or, first, creates) the cluster
// id, loads the metadata and watches it, registers itself under a lease, stands for controller,
// applies partition roles, and answers the replication side's ISR changes. stop() moves its
// leadership away first (controlled shutdown), then gives up its lease.
//
// Losing etcd, as a Kafka broker loses its controller quorum: the broker keeps the roles it has
// (leader or follower of each partition, with the leader epochs and ISRs last seen in etcd) for as
// long as it cannot reach etcd, however long that is. Leaders serve Fetch up to the high watermark
// and Produce with acks=0 and acks=1, and acks=all once every member of the ISR as last committed
// has the batch. Whatever needs a metadata write fails with a retriable error: topic creation,
// deletion and growth, configs, reassignments and ElectLeaders (REQUEST_TIMED_OUT or
// NOT_CONTROLLER), a new producer-id block (COORDINATOR_LOAD_IN_PROGRESS), and ISR changes, so a
// follower that dies meanwhile stays in the ISR and acks=all waits for it and times out. The
// lease (lease-keeper.ts) is given up only when etcd says it is gone: etcd extends every lease when
// it restarts, so after a total outage the broker finds its registration as it left it and nothing
// changes. If etcd did end the lease, the broker registers again and its roles follow etcd, as
// they always do: a partition that moved to another leader is followed, truncated first with
// OffsetForLeaderEpoch; one left without a leader (its ISR was this broker alone) is led again once
// the controller sees the broker back.
//
// Why that loses nothing acknowledged with acks=all when only this broker lost etcd and the others
// did not (a partition): once its lease expires the controller elects another leader, but only
// from the ISR in etcd (elections.ts; outside it only with unclean.leader.election.enable, which
// gives up that promise as Kafka's does), and the ISR in etcd only ever shrinks through a write
// the leader made while it could reach etcd, so it never lacks a member this broker counts.
//   - The new leader stops fetching from the old one, and every follower that sees etcd follows
//     the new leader. A fetch that still reached the old leader with the newer leader epoch would
//     be answered UNKNOWN_LEADER_EPOCH and not counted (ReplicaManager.followerFetch). The old
//     leader's high watermark thus stops below what the new leader has, its acks=all writes time
//     out, and consumers never read past what the new leader holds. Its acks=1 writes are cut when
//     it follows again (OffsetForLeaderEpoch), exactly as in Kafka.
//   - An ISR of the old leader alone: the controller finds no one else to elect, the partition
//     stays without a leader in etcd, and what the old leader acknowledges stays the only copy;
//     it leads again, with its log whole, when it is back.
//   - An ISR change whose answer the outage swallowed may have been committed: the leader keeps
//     counting the larger of the two ISRs until it knows (leader-partition.ts), so an expansion
//     committed in etcd but unseen here never leaves an elected member without an acknowledged
//     batch.
//   - The coordinators (groups, transactions, share groups) write their state topics with acks=all
//     (state-topic.ts) and transaction markers count once the ISR has them, so a coordinator on a
//     replaced leader stalls instead of diverging, and its successor loads what was committed.
// And when the rest of the cluster lost etcd too, nobody elects anything: every broker keeps its
// roles and the cluster serves on as it was.
import { randomBytes } from 'node:crypto'
import type { Watcher } from 'etcd3'
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import type { LogManager } from '../../storage/log-manager.js'
import { KafkaError } from '../errors.js'
import { ClusterImage, type ImageChange } from './cluster-image.js'
import { Controller } from './controller.js'
import type { ProducerIdBlockSource } from '../txn/producer-ids.js'
import { EtcdStore } from './etcd-store.js'
import type { LeaseKeeper } from './lease-keeper.js'
import { brokerKey, CLUSTER_ID_KEY, partitionKey, shutdownKey, type BrokerRegistration } from './keys.js'
import type { IsrChanges, PartitionState, ReplicaRoles } from './partition-state.js'
import { EtcdProducerIdBlocks } from './producer-id-blocks.js'
import { RoleApplier } from './role-applier.js'
import { InconsistentClusterIdError, localOnlyTopics } from './data-dir-membership.js'
import { TopicAdmin, unreachable } from './topic-admin.js'

export interface ClusterNodeOptions {
  endpoints: string[]
  prefix: string
  registration: BrokerRegistration
  /** The inter-broker listener's name: other brokers are reached on their listener of that name. */
  interBrokerListener?: string
  /** broker.session.timeout.ms: the lease's time to live. */
  sessionTimeoutMs: number
  controlledShutdown: { enabled: boolean; timeoutMs: number }
  rebalance: { enabled: boolean; intervalMs: number }
  uncleanElection(topic: string, configs: Record<string, string>): boolean
  /**
   * The cluster id this data directory has, if any: the cluster must have it (else the start fails
   * with InconsistentClusterIdError), or take it when this broker is the cluster's first.
   */
  localClusterId: string | undefined
  logs: LogManager
  roles: ReplicaRoles
  logger: Logger
}

const RETRY_MS = 500

export class ClusterNode implements IsrChanges {
  readonly image = new ClusterImage()
  readonly admin: TopicAdmin
  readonly controller: Controller
  clusterId = ''
  private readonly store: EtcdStore
  private readonly applier: RoleApplier
  private readonly nodeId: number
  private lease: LeaseKeeper | undefined
  private leaseId: string | undefined
  private watcher: Watcher | undefined
  private closed = false
  /** When a keep-alive of the current lease last succeeded (or it was granted). */
  private lastKeepAlive = 0

  private constructor(private readonly opts: ClusterNodeOptions) {
    this.nodeId = opts.registration.nodeId
    this.store = new EtcdStore(opts.endpoints, opts.prefix, opts.logger)
    this.admin = new TopicAdmin(this.store, this.image)
    this.applier = new RoleApplier(this.nodeId, this.image, opts.logs, opts.roles, opts.logger, opts.interBrokerListener)
    this.controller = new Controller({
      store: this.store,
      image: this.image,
      nodeId: this.nodeId,
      logger: opts.logger,
      rebalance: opts.rebalance,
      uncleanElection: (topic) => opts.uncleanElection(topic, this.image.topics.get(topic)?.value.configs ?? {}),
    })
  }

  static async start(opts: ClusterNodeOptions): Promise<ClusterNode> {
    const node = new ClusterNode(opts)
    try {
      await node.join()
    } catch (err) {
      await node.stop(false)
      throw err
    }
    return node
  }

  get nodeIdValue(): number {
    return this.nodeId
  }

  /** Producer id blocks reserved in etcd, unique across the cluster's brokers. */
  producerIdBlocks(): ProducerIdBlockSource {
    return new EtcdProducerIdBlocks(this.store)
  }

  /** Brokers as clients see them on `listener` (the one they connected to), node id order. */
  brokersFor(listener: string): Array<{ nodeId: number; host: string; port: number; rack: string | null }> {
    return this.image.liveBrokers().map((b) => {
      const l = b.listeners.find((x) => x.name === listener) ?? b.listeners[0] ?? { host: b.host, port: b.port }
      return { nodeId: b.nodeId, host: l.host, port: l.port, rack: b.rack }
    })
  }

  async alterIsr(topic: string, partition: number, leaderEpoch: number, partitionEpoch: number, isr: number[]): Promise<PartitionState> {
    // A broker whose lease may have lapsed must not shrink an ISR to itself: after a long pause its
    // lag timers can fire before its keep-alive does, and etcd would then hold an ISR naming only
    // a broker about to be declared dead, leaving the partition without an eligible leader.
    if (this.leaseStale()) {
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `Broker ${this.nodeId} has not renewed its etcd lease; ISR changes wait until it has.`)
    }
    for (;;) {
      const stored = await this.store.get(partitionKey(topic, partition)).catch((err: unknown) => Promise.reject(unreachable(err)))
      if (stored === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${topic}-${partition} does not exist.`)
      const current = JSON.parse(stored.value) as PartitionState
      if (current.leaderEpoch !== leaderEpoch || current.leader !== this.nodeId) {
        throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH, `${topic}-${partition} is at leader epoch ${current.leaderEpoch} led by ${current.leader}, not ${leaderEpoch} led by ${this.nodeId}.`)
      }
      if (current.partitionEpoch !== partitionEpoch) {
        throw new KafkaError(ErrorCode.INVALID_UPDATE_VERSION, `${topic}-${partition} is at partition epoch ${current.partitionEpoch}, not ${partitionEpoch}.`)
      }
      if (!isr.includes(this.nodeId) || isr.some((id) => !current.replicas.includes(id)) || new Set(isr).size !== isr.length) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, `ISR ${JSON.stringify(isr)} must hold the leader and only replicas of ${topic}-${partition}.`)
      }
      const added = isr.find((id) => !current.isr.includes(id) && (!this.image.isLive(id) || this.image.shuttingDown.has(id)))
      if (added !== undefined) throw new KafkaError(ErrorCode.INELIGIBLE_REPLICA, `Broker ${added} is not live and cannot join the ISR.`)
      const next: PartitionState = { ...current, isr, partitionEpoch: current.partitionEpoch + 1 }
      const written = await this.store.writeIf([{ key: partitionKey(topic, partition), expect: stored.modRevision, value: JSON.stringify(next) }]).catch((err: unknown) => Promise.reject(unreachable(err)))
      if (written) return next
    }
  }

  /** Moves this broker's leadership to other in-sync replicas, waiting at most timeoutMs. */
  async controlledShutdown(timeoutMs: number): Promise<void> {
    if (this.leaseId === undefined) return
    await this.store.writeIf([{ key: shutdownKey(this.nodeId), expect: 'absent', value: String(Date.now()), lease: this.leaseId }])
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline && this.leadsMovablePartitions()) await sleep(100)
    await this.applier.settled()
  }

  /** Controlled shutdown (when asked and enabled), then leaves: lease revoked, watch closed. */
  async stop(controlled = true): Promise<void> {
    if (controlled && this.opts.controlledShutdown.enabled && !this.closed) {
      await this.controlledShutdown(this.opts.controlledShutdown.timeoutMs).catch((err: unknown) => this.opts.logger.warn({ err }, 'controlled shutdown did not finish'))
    }
    this.closed = true
    this.controller.close()
    await this.watcher?.cancel().catch(() => {})
    await this.lease?.revoke().catch(() => {})
    this.store.close()
  }

  private async join(): Promise<void> {
    const stored = this.opts.localClusterId
    this.clusterId = await this.store.getOrCreate(CLUSTER_ID_KEY, stored ?? randomBytes(16).toString('base64url'))
    if (stored !== undefined && this.clusterId !== stored) {
      throw new InconsistentClusterIdError(this.clusterId, stored, { dataDir: this.opts.logs.dataDir, endpoints: this.opts.endpoints, prefix: this.opts.prefix })
    }
    const loaded = await this.store.loadAll()
    for (const kv of loaded.kvs) this.image.apply(kv.key, kv.value, kv.modRevision)
    const localOnly = localOnlyTopics(this.opts.logs, this.image)
    if (localOnly.length > 0) {
      this.opts.logger.warn(
        { topics: localOnly },
        'topics in this data directory are not in the cluster: no broker serves them in cluster mode, and their data stays on disk until a cluster topic of the same name replaces it',
      )
    }
    await this.watchFrom(loaded.revision)
    await this.register(true)
    await this.applier.start()
  }

  /** No lease, or none renewed for three quarters of the session timeout: etcd may expire it any moment. */
  private leaseStale(): boolean {
    return this.lease === undefined || Date.now() - this.lastKeepAlive > (this.opts.sessionTimeoutMs * 3) / 4
  }

  private async watchFrom(revision: string): Promise<void> {
    this.watcher = await this.store.watch(
      revision,
      (key, value, modRevision) => this.onChange(this.image.apply(key, value, modRevision)),
      (err) => {
        if (this.closed) return
        this.opts.logger.warn({ err: err.message }, 'etcd ended the metadata watch; loading the metadata again')
        void this.resync()
      },
    )
  }

  /** Loads everything again and applies the difference, then watches on (after a watch was lost). */
  private async resync(): Promise<void> {
    while (!this.closed) {
      try {
        const loaded = await this.store.loadAll()
        const present = new Set(loaded.kvs.map((kv) => kv.key))
        for (const key of this.image.keys()) if (!present.has(key)) this.onChange(this.image.apply(key, null, loaded.revision))
        for (const kv of loaded.kvs) this.onChange(this.image.apply(kv.key, kv.value, kv.modRevision))
        await this.watchFrom(loaded.revision)
        return
      } catch (err) {
        this.opts.logger.debug({ err: (err as Error).message }, 'loading the metadata again failed; retrying')
        await sleep(RETRY_MS)
      }
    }
  }

  private onChange(change: ImageChange): void {
    if (change.kind === 'topic') void this.applier.topicChanged(change.name, change.spec)
    else if (change.kind === 'partition' && change.state !== undefined) void this.applier.partitionChanged(change.state)
    else if (change.kind === 'broker' && change.registration !== undefined) void this.applier.applyAll()
    if (change.kind === 'broker' && change.nodeId === this.nodeId && change.registration === undefined && !this.closed) {
      this.opts.logger.warn({ nodeId: this.nodeId }, 'this broker\'s registration is gone from etcd')
    }
    this.controller.onChange(change, this.leaseId)
  }

  /**
   * Registers under a new lease, fenced; stands for controller; waits until no partition names
   * this broker as its leader any more (the controller moves or offlines what an earlier process
   * of this node id led), at most twice the session timeout; then unfences. At start a
   * registration still held by an earlier process (killed before its lease ran out) is waited out
   * for up to twice the session timeout; after that the id belongs to another live broker.
   */
  private async register(starting: boolean): Promise<void> {
    const ttl = Math.max(1, Math.ceil(this.opts.sessionTimeoutMs / 1000))
    const deadline = Date.now() + 2 * this.opts.sessionTimeoutMs + 2000
    let lease: LeaseKeeper | undefined
    lease = await this.store.lease(ttl, {
      renewed: () => {
        if (lease === this.lease) this.lastKeepAlive = Date.now()
      },
      lost: () => this.onLeaseLost(lease!),
    })
    this.lastKeepAlive = Date.now()
    try {
      await this.registerUnder(lease, starting, deadline)
    } catch (err) {
      if (this.lease === lease) {
        this.lease = undefined
        this.leaseId = undefined
        this.controller.resign()
      }
      await lease.revoke().catch(() => {})
      throw err
    }
  }

  private async registerUnder(lease: LeaseKeeper, starting: boolean, deadline: number): Promise<void> {
    const key = brokerKey(this.nodeId)
    const id = lease.id
    let revision: string | undefined
    for (;;) {
      revision = await this.store.createLeased(key, JSON.stringify({ ...this.opts.registration, fenced: true }), id)
      if (revision !== undefined) break
      if (!starting || Date.now() > deadline || this.closed) {
        throw new Error(`node id ${this.nodeId} is registered in etcd by another live broker`)
      }
      await sleep(200)
    }
    this.lease = lease
    this.leaseId = id
    await this.controller.campaign(id)
    const fenceDeadline = Date.now() + 2 * this.opts.sessionTimeoutMs
    while (this.leadsAnything() && Date.now() < fenceDeadline && !this.closed) await sleep(50)
    if (this.leadsAnything()) this.opts.logger.warn({ nodeId: this.nodeId }, 'unfencing while etcd still names this broker a leader: no controller moved it')
    const unfenced = await this.store.writeIf([{ key, expect: revision, value: JSON.stringify({ ...this.opts.registration, fenced: false }), lease: id }])
    if (!unfenced) throw new Error(`the registration of node ${this.nodeId} changed while it was fenced`)
    this.opts.logger.info({ nodeId: this.nodeId, lease: id, clusterId: this.clusterId }, 'registered in the cluster')
  }

  /**
   * etcd ended the lease (it expired while the broker could not reach etcd): the registration and
   * any controller key went with it. The broker registers anew; its roles meanwhile follow etcd as
   * always, so what the controller moved away while it was gone is followed, not led.
   */
  private onLeaseLost(lease: LeaseKeeper): void {
    if (this.closed || lease !== this.lease) return
    this.opts.logger.warn({ nodeId: this.nodeId, lease: lease.id }, 'etcd ended this broker\'s lease; registering again')
    this.lease = undefined
    this.leaseId = undefined
    this.controller.resign()
    const retry = (): void => {
      if (this.closed || this.lease !== undefined) return
      this.register(false).catch((e: unknown) => {
        this.opts.logger.debug({ err: (e as Error).message }, 'registering again failed; retrying')
        setTimeout(retry, RETRY_MS).unref()
      })
    }
    retry()
  }

  private leadsAnything(): boolean {
    for (const { value: s } of this.image.allPartitions()) if (s.leader === this.nodeId) return true
    return false
  }

  private leadsMovablePartitions(): boolean {
    for (const { value: s } of this.image.allPartitions()) {
      if (s.leader !== this.nodeId) continue
      if (s.isr.some((id) => id !== this.nodeId && this.image.isLive(id) && !this.image.shuttingDown.has(id))) return true
    }
    return false
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
