// In-process brokers on 127.0.0.1 port 0 with replication on, whose partition roles the test
// decides (becomeLeader / becomeFollower, as the metadata side does in cluster mode), and an
// in-memory IsrChanges that compare-and-sets partition states as the metadata store does. Each
// broker keeps its data directory across restart() so a stopped broker comes back with its log.
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ProduceApi, type ProduceResponse } from '../../protocol/generated/produce.js'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { KafkaError } from '../../broker/errors.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import type { BrokerEndpoint, IsrChanges, PartitionState } from '../../broker/cluster/partition-state.js'
import { makeTempDir, removeDir } from './temp-dir.js'

/** The partition states as the metadata store holds them; alterIsr is a compare-and-set. */
export class MemoryIsrChanges implements IsrChanges {
  readonly states = new Map<string, PartitionState>()
  /** Every committed ISR change, in order. */
  readonly history: PartitionState[] = []

  set(state: PartitionState): void {
    this.states.set(`${state.topic}-${state.partition}`, state)
  }

  get(topic: string, partition: number): PartitionState {
    const s = this.states.get(`${topic}-${partition}`)
    if (s === undefined) throw new Error(`no state for ${topic}-${partition}`)
    return s
  }

  async alterIsr(topic: string, partition: number, leaderEpoch: number, partitionEpoch: number, isr: number[]): Promise<PartitionState> {
    const s = this.get(topic, partition)
    if (s.leaderEpoch !== leaderEpoch) throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH, `leader epoch ${leaderEpoch} is not ${s.leaderEpoch}`)
    if (s.partitionEpoch !== partitionEpoch) throw new KafkaError(ErrorCode.INVALID_UPDATE_VERSION, `partition epoch ${partitionEpoch} is not ${s.partitionEpoch}`)
    const next: PartitionState = { ...s, isr: [...isr], partitionEpoch: s.partitionEpoch + 1 }
    this.set(next)
    this.history.push(next)
    return next
  }
}

export class ReplicatedNode {
  broker!: RunningBroker
  private constructor(
    readonly nodeId: number,
    readonly dataDir: string,
    private readonly isr: IsrChanges,
    private readonly config: Record<string, string>,
  ) {}

  static async start(nodeId: number, isr: IsrChanges, config: Record<string, string> = {}): Promise<ReplicatedNode> {
    const node = new ReplicatedNode(nodeId, await makeTempDir(`samsa-repl-${nodeId}-`), isr, config)
    await node.restart()
    return node
  }

  get address(): string {
    return this.broker.address
  }

  get endpoint(): BrokerEndpoint {
    return { nodeId: this.nodeId, host: '127.0.0.1', port: this.broker.port, rack: null }
  }

  get replicas() {
    return this.broker.replicas!
  }

  /** Starts the broker (again) on its data directory, on a new port. */
  async restart(): Promise<void> {
    this.broker = await startBroker({
      dataDir: this.dataDir,
      host: '127.0.0.1',
      port: 0,
      nodeId: this.nodeId,
      logLevel: 'silent',
      config: {
        'group.initial.rebalance.delay.ms': '0',
        'replica.fetch.wait.max.ms': '100',
        'replica.fetch.backoff.ms': '100',
        ...this.config,
      },
      replication: { isrChanges: this.isr },
    })
  }

  stop(): Promise<void> {
    return this.broker.stop()
  }

  async destroy(): Promise<void> {
    await this.broker?.stop()
    await removeDir(this.dataDir)
  }
}

/** Gives every node its role for `state`: the leader leads, the others follow it. */
export async function assignRoles(nodes: readonly ReplicatedNode[], state: PartitionState): Promise<void> {
  const leader = nodes.find((n) => n.nodeId === state.leader)!
  for (const n of nodes) {
    if (n === leader) await n.replicas.becomeLeader(state)
    else if (state.replicas.includes(n.nodeId)) await n.replicas.becomeFollower(state, leader.endpoint)
  }
}

export function partitionState(topic: string, s: { leader: number; isr: number[]; replicas: number[]; leaderEpoch: number; partitionEpoch?: number }): PartitionState {
  return {
    topic,
    topicId: '00000000-0000-0000-0000-000000000000',
    partition: 0,
    replicas: s.replicas,
    isr: s.isr,
    leader: s.leader,
    leaderEpoch: s.leaderEpoch,
    partitionEpoch: s.partitionEpoch ?? 0,
  }
}

/** One Produce (v11) of `values` to partition 0 with the project's own client; the partition's answer. */
export async function produceRaw(
  address: string,
  topic: string,
  values: string[],
  acks: number,
  timeoutMs = 30_000,
): Promise<ProduceResponse['responses'][number]['partitionResponses'][number]> {
  const conn = await BrokerConnection.connect(address, { clientId: 'replication-test', connectTimeoutMs: 5000, requestTimeoutMs: timeoutMs + 10_000 })
  try {
    const now = Date.now()
    const records = encodeBatch(values.map((v, i) => ({ key: null, value: v, headers: [], timestamp: now + i })))
    const res = await conn.request(ProduceApi, 11, { transactionalId: null, acks, timeoutMs, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] })
    return res.responses[0]!.partitionResponses[0]!
  } finally {
    conn.close()
  }
}

/** Resolves once `cond` holds, checking every 50 ms; fails after `limitMs` with `what`. */
export async function until(what: string, cond: () => boolean | Promise<boolean>, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
