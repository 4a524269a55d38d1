// Topic administration: create, delete, grow, list offsets and delete records. Creating,
// deleting and growing go to the controller (a broker that is not answers NOT_CONTROLLER, so
// ask metadata again and retry, as Kafka's admin client does); offsets and DeleteRecords go to
// each partition's leader.

import { setTimeout as sleep } from 'node:timers/promises'
import { ErrorCode } from '../../protocol/errors.js'
import { CreateTopicsApi } from '../../protocol/generated/create-topics.js'
import { DeleteTopicsApi } from '../../protocol/generated/delete-topics.js'
import { CreatePartitionsApi } from '../../protocol/generated/create-partitions.js'
import { ListOffsetsApi } from '../../protocol/generated/list-offsets.js'
import { DeleteRecordsApi } from '../../protocol/generated/delete-records.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { groupBy, type Cluster } from './cluster.js'
import type { NodeSession } from './node-session.js'
import { KafkaProtocolError } from './errors.js'

export interface NewTopic {
  name: string
  /** Default: the broker's num.partitions. */
  numPartitions?: number
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number
  configs?: readonly (readonly [string, string])[]
}

export interface CreatedTopic {
  name: string
  /** False when the topic already existed. */
  created: boolean
  numPartitions: number
}

/** ListOffsets timestamps with a meaning. */
export const OffsetTimestamp = { Latest: -1, Earliest: -2 } as const

export const IsolationLevel = { ReadUncommitted: 0, ReadCommitted: 1 } as const

export interface PartitionOffsets {
  partition: number
  /** Log start offset. */
  low: number
  /** Log end offset (read_uncommitted) or last stable offset (read_committed). */
  high: number
}

export interface DeletedRecords {
  partition: number
  lowWatermark: number
}

const RETRIES = 5

/** Partition errors after which the leader is looked up again (Metadata) and the request retried. */
const STALE_LEADER = new Set<number>([ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.FENCED_LEADER_EPOCH])

/** Runs `attempt` (which routes by fresh metadata) again while a leader has moved. */
async function atLeaders<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await attempt()
    } catch (err) {
      if (!(err instanceof KafkaProtocolError && STALE_LEADER.has(err.code)) || i === RETRIES) throw err
      await sleep(100 * (i + 1))
    }
  }
}

async function controller(cluster: Cluster): Promise<NodeSession> {
  const meta = await cluster.fetchMetadata([])
  return meta.controllerId >= 0 ? cluster.node(meta.controllerId) : cluster.bootstrap()
}

/** Runs `attempt` against the controller, looking it up again while it answers NOT_CONTROLLER. */
export async function atController<T>(cluster: Cluster, attempt: (session: NodeSession) => Promise<T | typeof NOT_CONTROLLER>): Promise<T> {
  for (let i = 0; ; i++) {
    const out = await attempt(await controller(cluster))
    if (out !== NOT_CONTROLLER) return out
    if (i === RETRIES) throw new KafkaProtocolError(ErrorCode.NOT_CONTROLLER, 'finding the controller')
    await sleep(100 * (i + 1))
  }
}
export const NOT_CONTROLLER = Symbol('NOT_CONTROLLER')

/**
 * Creates topics; one that already exists comes back with `created: false`, any other refusal
 * throws. With `waitForLeaders`, resolves once metadata shows a leader for every new partition.
 */
export async function createTopics(cluster: Cluster, topics: readonly NewTopic[], opts: { timeoutMs?: number; validateOnly?: boolean; waitForLeaders?: boolean } = {}): Promise<CreatedTopic[]> {
  const timeoutMs = opts.timeoutMs ?? cluster.timeoutMs
  const results = await atController(cluster, async (session) => {
    const res = await session.send(CreateTopicsApi, {
      topics: topics.map((t) => ({
        name: t.name,
        numPartitions: t.numPartitions ?? -1,
        replicationFactor: t.replicationFactor ?? -1,
        assignments: [],
        configs: (t.configs ?? []).map(([name, value]) => ({ name, value })),
      })),
      timeoutMs,
      validateOnly: opts.validateOnly ?? false,
    })
    if (res.topics.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) return NOT_CONTROLLER
    return res.topics
  })
  const out: CreatedTopic[] = []
  for (const t of results) {
    if (t.errorCode !== ErrorCode.NONE && t.errorCode !== ErrorCode.TOPIC_ALREADY_EXISTS) {
      throw new KafkaProtocolError(t.errorCode, `creating topic '${t.name}'`, t.errorMessage)
    }
    out.push({ name: t.name, created: t.errorCode === ErrorCode.NONE, numPartitions: t.numPartitions })
  }
  if (opts.waitForLeaders !== false && !opts.validateOnly) await waitForLeaders(cluster, out.filter((t) => t.created).map((t) => t.name), timeoutMs)
  return out
}

async function waitForLeaders(cluster: Cluster, names: readonly string[], timeoutMs: number): Promise<void> {
  if (names.length === 0) return
  const deadline = Date.now() + timeoutMs
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const meta = await cluster.fetchMetadata(names)
    const ready = meta.topics.every((t) => t.errorCode === ErrorCode.NONE && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))
    if (ready) return
    if (Date.now() + delay > deadline) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `waiting for leaders of ${names.join(', ')}`)
    await sleep(delay)
  }
}

/** Deletes topics by name; any refusal (UNKNOWN_TOPIC_OR_PARTITION included) throws. */
export async function deleteTopics(cluster: Cluster, names: readonly string[], opts: { timeoutMs?: number } = {}): Promise<void> {
  if (names.length === 0) return
  const results = await atController(cluster, async (session) => {
    const res = await session.send(DeleteTopicsApi, {
      // v6 names topics in `topics`, earlier versions in `topicNames`.
      topics: names.map((name) => ({ name, topicId: ZERO_UUID })),
      topicNames: [...names],
      timeoutMs: opts.timeoutMs ?? cluster.timeoutMs,
    })
    if (res.responses.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) return NOT_CONTROLLER
    return res.responses
  })
  for (const t of results) {
    if (t.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(t.errorCode, `deleting topic '${t.name ?? ''}'`, t.errorMessage)
  }
  for (const name of names) cluster.invalidate(name)
}

/** Grows each topic to `count` partitions in total. */
export async function createPartitions(cluster: Cluster, topics: readonly { topic: string; count: number }[], opts: { timeoutMs?: number; validateOnly?: boolean } = {}): Promise<void> {
  const results = await atController(cluster, async (session) => {
    const res = await session.send(CreatePartitionsApi, {
      topics: topics.map((t) => ({ name: t.topic, count: t.count, assignments: null })),
      timeoutMs: opts.timeoutMs ?? cluster.timeoutMs,
      validateOnly: opts.validateOnly ?? false,
    })
    if (res.results.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) return NOT_CONTROLLER
    return res.results
  })
  for (const t of results) {
    if (t.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(t.errorCode, `adding partitions to '${t.name}'`, t.errorMessage)
  }
  for (const t of topics) cluster.invalidate(t.topic)
}

/**
 * The offset for `timestamp` (OffsetTimestamp.Earliest, .Latest, or ms since epoch) of each
 * partition of `topic` (all when `partitions` is omitted), asked of each leader. A partition with
 * no record at or after a timestamp reports -1.
 */
export function listOffsets(
  cluster: Cluster,
  topic: string,
  timestamp: number,
  opts: { partitions?: readonly number[]; isolationLevel?: number } = {},
): Promise<Map<number, number>> {
  return atLeaders(() => listOffsetsOnce(cluster, topic, timestamp, opts))
}

async function listOffsetsOnce(cluster: Cluster, topic: string, timestamp: number, opts: { partitions?: readonly number[]; isolationLevel?: number }): Promise<Map<number, number>> {
  const meta = (await cluster.metadata([topic])).topics[0]!
  const wanted = opts.partitions ?? meta.partitions.map((p) => p.partition)
  const leaders = new Map(meta.partitions.map((p) => [p.partition, p.leader]))
  const out = new Map<number, number>()
  await Promise.all(
    [...groupBy(wanted, (p) => leaders.get(p) ?? -1)].map(async ([leader, partitions]) => {
      if (leader < 0) throw new KafkaProtocolError(ErrorCode.LEADER_NOT_AVAILABLE, `offsets of '${topic}' partition ${partitions[0]}`)
      const session = await cluster.node(leader)
      const res = await session.send(ListOffsetsApi, {
        replicaId: -1,
        isolationLevel: opts.isolationLevel ?? IsolationLevel.ReadCommitted,
        timeoutMs: cluster.timeoutMs,
        topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
      })
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `offsets of '${topic}' partition ${p.partitionIndex}`)
          // ListOffsets v0 answers with a list of offsets instead of one.
          out.set(p.partitionIndex, session.version(ListOffsetsApi) === 0 ? (p.oldStyleOffsets[0] ?? -1) : p.offset)
        }
      }
    }),
  )
  return out
}

/** Earliest and latest offsets of every partition of `topic`, sorted by partition. */
export async function topicOffsets(cluster: Cluster, topic: string, isolationLevel: number = IsolationLevel.ReadCommitted): Promise<PartitionOffsets[]> {
  const [low, high] = await Promise.all([
    listOffsets(cluster, topic, OffsetTimestamp.Earliest, { isolationLevel }),
    listOffsets(cluster, topic, OffsetTimestamp.Latest, { isolationLevel }),
  ])
  return [...high.keys()].sort((a, b) => a - b).map((partition) => ({ partition, low: low.get(partition) ?? 0, high: high.get(partition)! }))
}

/** Moves each partition's log start offset up to `offset` (-1: the high watermark), at its leader. */
export function deleteRecords(cluster: Cluster, topic: string, offsets: readonly { partition: number; offset: number }[], opts: { timeoutMs?: number } = {}): Promise<DeletedRecords[]> {
  return atLeaders(() => deleteRecordsOnce(cluster, topic, offsets, opts.timeoutMs ?? cluster.timeoutMs))
}

async function deleteRecordsOnce(cluster: Cluster, topic: string, offsets: readonly { partition: number; offset: number }[], timeoutMs: number): Promise<DeletedRecords[]> {
  const meta = (await cluster.metadata([topic])).topics[0]!
  const leaders = new Map(meta.partitions.map((p) => [p.partition, p.leader]))
  const out = new Map<number, number>()
  await Promise.all(
    [...groupBy(offsets, (o) => leaders.get(o.partition) ?? -1)].map(async ([leader, list]) => {
      if (leader < 0) throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `deleting records of '${topic}' partition ${list[0]!.partition}`)
      const session = await cluster.node(leader)
      const res = await session.send(DeleteRecordsApi, {
        topics: [{ name: topic, partitions: list.map((o) => ({ partitionIndex: o.partition, offset: o.offset })) }],
        timeoutMs,
      })
      for (const t of res.topics) {
        for (const p of t.partitions) {
          if (p.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(p.errorCode, `deleting records of '${topic}' partition ${p.partitionIndex}`)
          out.set(p.partitionIndex, p.lowWatermark)
        }
      }
    }),
  )
  return offsets.map((o) => ({ partition: o.partition, lowWatermark: out.get(o.partition) ?? -1 }))
}
