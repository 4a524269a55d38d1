// Partition reassignments (KIP-455) through the controller: AlterPartitionReassignments (key 45)
// starts moving partitions to new replicas or, with null replicas, cancels a move in flight;
// ListPartitionReassignments (key 46) lists the moves in flight with the replicas being added and
// removed. Both go to the controller, asked again while a broker answers NOT_CONTROLLER.

import { ErrorCode, errorName } from '../../protocol/errors.js'
import { AlterPartitionReassignmentsApi } from '../../protocol/generated/alter-partition-reassignments.js'
import { ListPartitionReassignmentsApi } from '../../protocol/generated/list-partition-reassignments.js'
import { atController, NOT_CONTROLLER } from './admin-topics.js'
import type { Cluster } from './cluster.js'
import { KafkaProtocolError } from './errors.js'

export interface PartitionReassignment {
  topic: string
  partition: number
  /** The target replicas, preferred leader first; null cancels the partition's reassignment. */
  replicas: readonly number[] | null
}

export interface ReassignmentResult {
  topic: string
  partition: number
  /** Kafka's error name, or null when the reassignment started (or was cancelled). */
  error: string | null
  errorMessage: string | null
}

export interface OngoingReassignment {
  topic: string
  partition: number
  replicas: number[]
  addingReplicas: number[]
  removingReplicas: number[]
}

export async function alterPartitionReassignments(cluster: Cluster, list: readonly PartitionReassignment[], opts: { timeoutMs?: number } = {}): Promise<ReassignmentResult[]> {
  const byTopic = new Map<string, PartitionReassignment[]>()
  for (const r of list) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r])
  const res = await atController(cluster, async (session) => {
    const out = await session.send(AlterPartitionReassignmentsApi, {
      timeoutMs: opts.timeoutMs ?? cluster.timeoutMs,
      topics: [...byTopic].map(([name, parts]) => ({ name, partitions: parts.map((p) => ({ partitionIndex: p.partition, replicas: p.replicas === null ? null : [...p.replicas] })) })),
    }, session.version(AlterPartitionReassignmentsApi))
    if (out.errorCode === ErrorCode.NOT_CONTROLLER) return NOT_CONTROLLER
    if (out.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(out.errorCode, `AlterPartitionReassignments at ${session.address}${out.errorMessage ? `: ${out.errorMessage}` : ''}`)
    return out
  })
  return res.responses.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, error: p.errorCode === ErrorCode.NONE ? null : errorName(p.errorCode), errorMessage: p.errorMessage })),
  )
}

/** Reassignments in flight: of these topics' partitions, or of every topic with null. */
export async function listPartitionReassignments(cluster: Cluster, topics: readonly { topic: string; partitions: readonly number[] }[] | null, opts: { timeoutMs?: number } = {}): Promise<OngoingReassignment[]> {
  const res = await atController(cluster, async (session) => {
    const out = await session.send(ListPartitionReassignmentsApi, {
      timeoutMs: opts.timeoutMs ?? cluster.timeoutMs,
      topics: topics === null ? null : topics.map((t) => ({ name: t.topic, partitionIndexes: [...t.partitions] })),
    }, session.version(ListPartitionReassignmentsApi))
    if (out.errorCode === ErrorCode.NOT_CONTROLLER) return NOT_CONTROLLER
    if (out.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(out.errorCode, `ListPartitionReassignments at ${session.address}`)
    return out
  })
  return res.topics.flatMap((t) =>
    t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas })),
  )
}
