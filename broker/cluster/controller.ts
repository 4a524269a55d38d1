// The controller: one broker at a time, elected by creating the `controller` key under its lease
// (whoever creates it first; when the lease ends the key goes and the others try again). While it
// holds the key it decides leaders and ISRs: on every change of the broker set (a lease expired,
// a broker came back, one asked to shut down) and of any partition, it writes what elections.ts
// decides. Every write compares the controller key's revision too, so a controller that lost its
// lease (etcd unreachable, a long pause) cannot change anything after another took over.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { KafkaError } from '../errors.js'
import type { ClusterImage, ImageChange, Versioned } from './cluster-image.js'
import { preferredLeader, reconcile, type BrokerLiveness } from './elections.js'
import type { EtcdStore } from './etcd-store.js'
import { CONTROLLER_KEY, partitionKey } from './keys.js'
import type { PartitionState } from './partition-state.js'
import { cancelReassignment, completeReassignment, reassigning, startReassignment } from './reassignment.js'
import { unreachable, type Guard } from './topic-admin.js'

export interface ControllerOptions {
  store: EtcdStore
  image: ClusterImage
  nodeId: number
  logger: Logger
  /** unclean.leader.election.enable for the topic (its config, else the broker's). */
  uncleanElection(topic: string): boolean
  /** auto.leader.rebalance.enable: move leadership back to preferred replicas every intervalMs. */
  rebalance: { enabled: boolean; intervalMs: number }
}

export class Controller {
  private held: string | undefined
  private queue: Promise<void> = Promise.resolve()
  private rebalanceTimer: NodeJS.Timeout | undefined
  private closed = false

  constructor(private readonly opts: ControllerOptions) {}

  get isActive(): boolean {
    return this.held !== undefined
  }

  /** The compare every controller write carries; NOT_CONTROLLER when this broker is not it. */
  guard(): Guard {
    if (this.held === undefined) throw new KafkaError(ErrorCode.NOT_CONTROLLER, `Broker ${this.opts.nodeId} is not the controller.`)
    return [{ key: CONTROLLER_KEY, expect: this.held }]
  }

  /** Tries to become the controller under `lease`; a no-op while another broker is. */
  async campaign(lease: string): Promise<void> {
    if (this.closed || this.held !== undefined || this.opts.image.controllerId !== -1) return
    const revision = await this.opts.store.createLeased(CONTROLLER_KEY, String(this.opts.nodeId), lease)
    if (revision === undefined || this.closed) return
    this.held = revision
    this.opts.logger.info({ nodeId: this.opts.nodeId }, 'became the controller')
    if (this.opts.rebalance.enabled) {
      this.rebalanceTimer = setInterval(() => this.enqueue(() => this.rebalanceLeaders()), this.opts.rebalance.intervalMs)
      this.rebalanceTimer.unref()
    }
    this.enqueue(() => this.reconcileAll())
  }

  /** Stops acting as controller (the lease is gone or the broker stops). */
  resign(): void {
    if (this.held === undefined) return
    this.held = undefined
    clearInterval(this.rebalanceTimer)
    this.opts.logger.info({ nodeId: this.opts.nodeId }, 'no longer the controller')
  }

  /** Reacts to one change seen by the watch; `lease` is this broker's, for a new campaign. */
  onChange(change: ImageChange, lease: string | undefined): void {
    if (change.kind === 'controller') {
      if (change.nodeId !== this.opts.nodeId) this.resign()
      if (change.nodeId === -1 && lease !== undefined) this.campaign(lease).catch((err: unknown) => this.opts.logger.warn({ err }, 'controller campaign failed'))
      return
    }
    if (this.held === undefined) return
    if (change.kind === 'broker' || change.kind === 'shutdown') this.enqueue(() => this.reconcileAll())
    else if (change.kind === 'partition' && change.state !== undefined) {
      const current = this.opts.image.partition(change.topic, change.partition)
      if (current !== undefined) this.enqueue(() => this.reconcileOne(current))
    }
  }

  /**
   * ElectLeaders: the preferred replica (`unclean` false) when it is up and in sync, or any live
   * replica of a partition without a leader (`unclean` true). An error code per partition.
   */
  async elect(partitions: Array<{ topic: string; partition: number }>, unclean: boolean): Promise<number[]> {
    this.guard()
    const out: number[] = []
    for (const { topic, partition } of partitions) {
      const current = this.opts.image.partition(topic, partition)
      if (current === undefined) {
        out.push(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        continue
      }
      const s = current.value
      if (unclean ? s.leader !== -1 : s.leader === s.replicas[0]) {
        out.push(ErrorCode.ELECTION_NOT_NEEDED)
        continue
      }
      const next = unclean ? reconcile(s, this.liveness(), true) : preferredLeader(s, this.liveness())
      if (next === undefined || next.leader === -1) out.push(unclean ? ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE : ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE)
      else out.push((await this.write(current, next)) ? ErrorCode.NONE : ErrorCode.REQUEST_TIMED_OUT)
    }
    return out
  }

  /**
   * AlterPartitionReassignments: starts moving each partition to its target replicas (null:
   * cancels its reassignment). An error code and message per partition; the move itself completes
   * later, when every target replica is in sync (reassignment.ts).
   */
  async reassign(requests: Array<{ topic: string; partition: number; replicas: number[] | null }>): Promise<Array<{ errorCode: number; errorMessage: string | null }>> {
    this.guard()
    const out: Array<{ errorCode: number; errorMessage: string | null }> = []
    for (const r of requests) {
      const fail = (errorCode: number, errorMessage: string) => out.push({ errorCode, errorMessage })
      const current = this.opts.image.partition(r.topic, r.partition)
      if (current === undefined) {
        fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Unable to find partition ${r.topic}:${r.partition}.`)
        continue
      }
      let next: PartitionState
      if (r.replicas === null) {
        if (!reassigning(current.value)) {
          fail(ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No partition reassignment is in progress.')
          continue
        }
        next = cancelReassignment(current.value, this.liveness())
      } else {
        const problem = this.replicasProblem(r.replicas)
        if (problem !== undefined) {
          fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, problem)
          continue
        }
        next = startReassignment(current.value, r.replicas)
        // Every target replica already in sync (or no change at all): it completes at once.
        next = completeReassignment(next, this.liveness()) ?? next
      }
      if (await this.write(current, next)) out.push({ errorCode: ErrorCode.NONE, errorMessage: null })
      else fail(ErrorCode.REQUEST_TIMED_OUT, `${r.topic}-${r.partition} changed while it was being reassigned; try again.`)
    }
    return out
  }

  close(): void {
    this.closed = true
    this.resign()
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: unknown) => this.opts.logger.warn({ err }, 'controller step failed; the next change retries it'))
  }

  private liveness(): BrokerLiveness {
    const image = this.opts.image
    return { live: (id) => image.isLive(id), shuttingDown: (id) => image.shuttingDown.has(id) }
  }

  private async reconcileAll(): Promise<void> {
    for (const current of [...this.opts.image.allPartitions()]) await this.reconcileOne(current)
  }

  private async reconcileOne(current: Versioned<PartitionState>): Promise<void> {
    if (this.held === undefined) return
    const next = reconcile(current.value, this.liveness(), this.opts.uncleanElection(current.value.topic)) ?? completeReassignment(current.value, this.liveness())
    if (next !== undefined) await this.write(current, next)
  }

  /** Kafka's validateManualPartitionAssignment: a non-empty list of distinct, registered brokers. */
  private replicasProblem(replicas: readonly number[]): string | undefined {
    if (replicas.length === 0) return 'The manual partition assignment includes an empty replica list.'
    if (new Set(replicas).size !== replicas.length) return `The manual partition assignment includes the broker ${replicas.find((id, i) => replicas.indexOf(id) !== i)} more than once.`
    const unknown = replicas.find((id) => !this.opts.image.brokers.has(id))
    if (unknown !== undefined) return `The manual partition assignment includes broker ${unknown}, but no such broker is registered.`
    return undefined
  }

  private async rebalanceLeaders(): Promise<void> {
    for (const current of [...this.opts.image.allPartitions()]) {
      if (this.held === undefined) return
      const next = preferredLeader(current.value, this.liveness())
      if (next !== undefined) await this.write(current, next)
    }
  }

  /** Compare-and-set of one partition; false when it changed meanwhile (the watch brings the new state, and with it another look). */
  private async write(current: Versioned<PartitionState>, next: PartitionState): Promise<boolean> {
    const { topic, partition } = next
    // etcd out of reach: the retriable error Kafka's controller gives when it cannot commit.
    const ok = await this.opts.store
      .writeIf([{ key: partitionKey(topic, partition), expect: current.modRevision, value: JSON.stringify(next) }], this.guard())
      .catch((err: unknown) => Promise.reject(unreachable(err)))
    const log = this.opts.logger
    if (ok) {
      const moving = { replicas: next.replicas, adding: next.addingReplicas, removing: next.removingReplicas }
      log.info({ topic, partition, leader: next.leader, isr: next.isr, leaderEpoch: next.leaderEpoch, ...moving, from: { leader: current.value.leader, isr: current.value.isr, replicas: current.value.replicas } }, 'partition state changed')
    }
    else log.debug({ topic, partition }, 'partition changed before the controller wrote it')
    return ok
  }
}
