// Where `samsa consume` starts and stops in each partition. The plan is computed the same way
// with or without --group, so both paths agree on --from-beginning, --offset, --from-time and
// --exit-at-end.

import { KafkaProtocolError } from '../../broker/client/errors.js'
import type { CommittedOffsets, OffsetSpec, TopicPartitions } from '../../broker/client/consumer.js'
import { CliError } from './errors.js'
import { parseTimestamp } from './time.js'

export interface ConsumeOptions {
  fromBeginning: boolean
  offset?: string
  partition: string[]
  fromTime?: string
  group?: string
  groupProtocol?: 'consumer' | 'classic'
  maxMessages?: number
  follow?: boolean
  exitAtEnd: boolean
  format?: string
  commit: boolean
}

export interface ConsumePlan {
  partitions: number[]
  /** Explicit seeks; a partition absent here starts at the group's committed position. */
  seek: Map<number, number>
  /** Where each partition will start, explicit or committed, for --exit-at-end. */
  position: Map<number, number>
  /** Log end offsets captured before consuming, for --exit-at-end. */
  end: Map<number, number>
}

/** What planning needs to know about a topic's offsets, from whichever client is at hand. */
export interface OffsetSource {
  /** Partition ids in order; throws CliError for an unknown topic. */
  partitions(topic: string): Promise<number[]>
  /** Log start and log end offset of every partition. */
  watermarks(topic: string, partitions: readonly number[]): Promise<{ low: Map<number, number>; high: Map<number, number> }>
  /** First offset at or after `timestamp`, or the log end when there is none. */
  offsetsForTime(topic: string, partitions: readonly number[], timestamp: number): Promise<Map<number, number>>
  /** The group's committed offsets; -1 or absent where it has none. */
  committed(group: string, topic: string): Promise<Map<number, number>>
}

/** The calls planning makes of a client (the consumer, or a group admin). */
export interface OffsetClient {
  partitions(topic: string): Promise<number[]>
  listOffsets(topic: string, partitions: readonly number[], spec: OffsetSpec): Promise<Map<number, number>>
  /** Committed offsets of the consumer's group. */
  committed(partitions: TopicPartitions): Promise<CommittedOffsets>
}

export function clientOffsets(client: OffsetClient): OffsetSource {
  return {
    async partitions(topic) {
      try {
        return await client.partitions(topic)
      } catch (err) {
        if (err instanceof KafkaProtocolError && err.type === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
        throw err
      }
    },
    async watermarks(topic, partitions) {
      const [low, high] = await Promise.all([client.listOffsets(topic, partitions, 'earliest'), client.listOffsets(topic, partitions, 'latest')])
      return { low, high }
    },
    offsetsForTime: (topic, partitions, timestamp) => client.listOffsets(topic, partitions, { timestamp }),
    async committed(_group, topic) {
      const partitions = await client.partitions(topic)
      return (await client.committed(new Map([[topic, partitions]]))).get(topic) ?? new Map()
    },
  }
}

export async function planConsumption(source: OffsetSource, topic: string, opts: ConsumeOptions): Promise<ConsumePlan> {
  const all = await source.partitions(topic)
  const partitions = opts.partition.length === 0 ? all : opts.partition.map(Number)
  for (const p of partitions) {
    if (!all.includes(p)) throw new CliError(`topic '${topic}' has no partition ${p} (partitions: 0-${all.length - 1})`)
  }
  const { low, high } = await source.watermarks(topic, partitions)
  const seek = new Map<number, number>()
  if (opts.offset !== undefined) {
    for (const p of partitions) {
      if (opts.offset === 'earliest') seek.set(p, low.get(p) ?? 0)
      else if (opts.offset === 'latest') seek.set(p, high.get(p) ?? 0)
      else seek.set(p, Number(opts.offset))
    }
  } else if (opts.fromTime !== undefined) {
    const found = await source.offsetsForTime(topic, partitions, parseTimestamp(opts.fromTime))
    for (const p of partitions) {
      const o = found.get(p)
      if (o !== undefined) seek.set(p, o)
    }
  } else if (opts.group === undefined) {
    for (const p of partitions) seek.set(p, (opts.fromBeginning ? low.get(p) : high.get(p)) ?? 0)
  }
  const position = new Map(seek)
  if (seek.size === 0 && opts.group !== undefined) {
    // Mirror what the consumer will do: committed offset, else the reset policy.
    const committed = await source.committed(opts.group, topic)
    for (const p of partitions) {
      const c = committed.get(p) ?? -1
      position.set(p, c >= 0 ? c : ((opts.fromBeginning ? low.get(p) : high.get(p)) ?? 0))
    }
  }
  return { partitions, seek, position, end: new Map(partitions.map((p) => [p, high.get(p) ?? 0])) }
}
