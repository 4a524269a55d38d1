// Throttling a reassignment, as kafka-reassign-partitions.sh --throttle and --verify do (KIP-73):
// before a move starts, the topic's leader.replication.throttled.replicas gains the partition's
// current replicas (any of them may lead it), its follower.replication.throttled.replicas the
// replicas being added, and every broker of the old and new replicas gets the rate as its
// leader.replication.throttled.rate and follower.replication.throttled.rate. Once the moves are done,
// the topic's two lists go (when none of its partitions is still moving) and so do the rates of
// every broker (when nothing moves anywhere).
import { AlterConfigOp, ConfigResourceType, type AdminClient, type OngoingReassignment } from '../../broker/client/admin-client.js'

const LEADER_REPLICAS = 'leader.replication.throttled.replicas'
const FOLLOWER_REPLICAS = 'follower.replication.throttled.replicas'
const RATES = ['leader.replication.throttled.rate', 'follower.replication.throttled.rate']

/** `current` plus `added` pairs, as a list value; `*` stays `*`. */
function merged(current: string | null | undefined, added: readonly string[]): string {
  const items = (current ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (items.includes('*')) return '*'
  for (const a of added) if (!items.includes(a)) items.push(a)
  return items.join(',')
}

/** Throttles the move of `topic`-`partition` to `target` at `rate` bytes/s; returns the brokers given the rate. */
export async function throttleMove(client: AdminClient, topic: string, partition: number, target: readonly number[], rate: number): Promise<number[]> {
  const meta = await client.metadata([topic])
  const current = meta.topics.find((t) => t.name === topic)?.partitions.find((p) => p.partition === partition)?.replicas
  // An unknown topic or partition: the reassignment itself reports it.
  if (current === undefined) return []
  const adding = target.filter((id) => !current.includes(id))
  const configs = await client.describeConfigs({ type: ConfigResourceType.Topic, name: topic }, [LEADER_REPLICAS, FOLLOWER_REPLICAS])
  const valueOf = (name: string) => configs.find((c) => c.name === name)?.value
  await client.incrementalAlterConfigs({ type: ConfigResourceType.Topic, name: topic }, [
    { name: LEADER_REPLICAS, op: AlterConfigOp.Set, value: merged(valueOf(LEADER_REPLICAS), current.map((id) => `${partition}:${id}`)) },
    { name: FOLLOWER_REPLICAS, op: AlterConfigOp.Set, value: merged(valueOf(FOLLOWER_REPLICAS), adding.map((id) => `${partition}:${id}`)) },
  ])
  const brokers = [...new Set([...current, ...target])].sort((a, b) => a - b)
  for (const id of brokers) {
    await client.incrementalAlterConfigs({ type: ConfigResourceType.Broker, name: String(id) }, RATES.map((name) => ({ name, op: AlterConfigOp.Set, value: String(rate) })))
  }
  return brokers
}

export interface VerifyResult {
  /** The moves of `topic` (of `partition`, when given) still in flight. */
  inFlight: OngoingReassignment[]
  /** Whether the topic's throttled-replica lists were removed. */
  topicCleared: boolean
  /** The brokers whose rates were removed (none while any move is in flight anywhere). */
  brokersCleared: number[]
}

/** Kafka's --verify: what of `topic` still moves, and the throttles removed once nothing needs them. */
export async function verifyMove(client: AdminClient, topic: string, partition: number | undefined): Promise<VerifyResult> {
  const all = await client.listPartitionReassignments(null)
  const ofTopic = all.filter((r) => r.topic === topic)
  const inFlight = ofTopic.filter((r) => partition === undefined || r.partition === partition)
  const result: VerifyResult = { inFlight, topicCleared: false, brokersCleared: [] }
  if (inFlight.length > 0) return result
  if (ofTopic.length === 0) {
    await client.incrementalAlterConfigs({ type: ConfigResourceType.Topic, name: topic }, [
      { name: LEADER_REPLICAS, op: AlterConfigOp.Delete },
      { name: FOLLOWER_REPLICAS, op: AlterConfigOp.Delete },
    ])
    result.topicCleared = true
  }
  if (all.length === 0) {
    const { brokers } = await client.metadata([])
    for (const b of brokers) {
      await client.incrementalAlterConfigs({ type: ConfigResourceType.Broker, name: String(b.nodeId) }, RATES.map((name) => ({ name, op: AlterConfigOp.Delete })))
      result.brokersCleared.push(b.nodeId)
    }
  }
  return result
}
