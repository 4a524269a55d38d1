// Leader discovery in error answers (KIP-951): a Produce (v10+) partition answered
// NOT_LEADER_OR_FOLLOWER, or a Fetch (v16+) partition answered NOT_LEADER_OR_FOLLOWER or
// FENCED_LEADER_EPOCH, carries the partition's current leader and leader epoch (CurrentLeader), and
// the response lists each leader so named with its address on the listener the request came in on
// (NodeEndpoints), so the client can go there at once instead of refreshing its metadata first.
//
// The leader is the cluster metadata's (what Metadata would answer); without a cluster (roles
// given directly) the replica manager's view, with no endpoint. A leader that is not live gets no endpoint, as Kafka lists only live brokers.
import { ErrorCode } from '../protocol/errors.js'
import type { BrokerContext } from './context.js'

export interface CurrentLeader {
  leaderId: number
  leaderEpoch: number
}

export interface NodeEndpoint {
  nodeId: number
  host: string
  port: number
  rack: string | null
}

export const NO_LEADER: CurrentLeader = { leaderId: -1, leaderEpoch: -1 }

/** The errors whose Fetch answers name the current leader (Produce: NOT_LEADER_OR_FOLLOWER only). */
export function fetchNamesLeader(errorCode: number): boolean {
  return errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || errorCode === ErrorCode.FENCED_LEADER_EPOCH
}

/** Collects the leaders named in one response, for its NodeEndpoints. */
export class LeaderHints {
  private readonly nodes = new Map<number, NodeEndpoint>()

  constructor(
    private readonly b: BrokerContext,
    private readonly listener: string,
  ) {}

  /** The partition's current leader as this broker knows it; its endpoint joins the response's list. */
  leaderOf(topic: string, partition: number): CurrentLeader {
    const cluster = this.b.cluster
    if (cluster === undefined) return this.b.replicas?.currentLeader(topic, partition) ?? NO_LEADER
    const state = cluster.image.partition(topic, partition)?.value
    if (state === undefined) return this.b.replicas?.currentLeader(topic, partition) ?? NO_LEADER
    const leaderId = state.leader
    if (leaderId >= 0 && !this.nodes.has(leaderId)) {
      const node = cluster.brokersFor(this.listener).find((n) => n.nodeId === leaderId)
      if (node !== undefined) this.nodes.set(leaderId, node)
    }
    return { leaderId, leaderEpoch: state.leaderEpoch }
  }

  /** Every leader named so far, with its address on the request's listener. */
  get endpoints(): NodeEndpoint[] {
    return [...this.nodes.values()]
  }
}
