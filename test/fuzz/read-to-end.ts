// The end-of-run check that no stored batch is unreadable: every partition of every topic is read
// from its start to its high watermark by two real consumers, librdkafka (confluent-kafka, via
// read-to-end.py) and kafkajs, which must agree on what they delivered.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { Codec, compress, decompress } from '../../protocol/compression.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ListOffsetsResponse } from '../../protocol/generated/list-offsets.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import { PYTHON } from '../helpers/external-clients.js'
import { run } from '../helpers/run.js'
import { WireClient } from '../helpers/wire.js'

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs

// kafkajs ships gzip only; snappy, lz4 and zstd are plug-ins keyed by CompressionTypes.
for (const [type, codec] of [
  [CompressionTypes.Snappy, Codec.Snappy],
  [CompressionTypes.LZ4, Codec.Lz4],
  [CompressionTypes.ZSTD, Codec.Zstd],
] as const) {
  CompressionCodecs[type] = () => ({
    compress: async (encoder: { buffer: Buffer }) => compress(codec, encoder.buffer),
    decompress: async (buffer: Buffer) => decompress(codec, buffer),
  })
}
const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'read-to-end.py')

export interface PartitionEnd {
  topic: string
  partition: number
  /** Log end offset (high watermark) according to ListOffsets. */
  end: number
}

export interface PartitionRead {
  topic: string
  partition: number
  eof: number | null
  count: number
  last: number | null
  errors: string[]
}

/** Every partition the broker knows, with its log end offset. */
export async function listPartitions(address: string): Promise<PartitionEnd[]> {
  const c = await WireClient.connect(address)
  try {
    const { body: meta } = await c.request<MetadataResponse>(ApiKey.Metadata, 9, {
      topics: null,
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    })
    // Internal topics (__consumer_offsets, ...) hold the broker's own coordinator records, and the
    // readers below change them with their own offset commits while they read: left out.
    const topics = meta.topics.filter((t) => t.errorCode === 0 && t.name !== null && !t.isInternal)
    if (topics.length === 0) return []
    const { body } = await c.request<ListOffsetsResponse>(ApiKey.ListOffsets, 1, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 0,
      topics: topics.map((t) => ({
        name: t.name!,
        partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 })),
      })),
    })
    const out: PartitionEnd[] = []
    for (const t of body.topics) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new Error(`ListOffsets ${t.name}/${p.partitionIndex}: error ${p.errorCode}`)
        out.push({ topic: t.name, partition: p.partitionIndex, end: p.offset })
      }
    }
    return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  } finally {
    c.close()
  }
}

/** Reads everything with librdkafka; throws if the script fails. */
export async function readWithLibrdkafka(address: string, timeoutS: number): Promise<{ partitions: PartitionRead[]; logs: string[] }> {
  const r = await run(PYTHON, [script, address, String(timeoutS)], { timeoutMs: (timeoutS + 30) * 1000 })
  const last = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(last)
  } catch {
    throw new Error(`read-to-end.py printed no result (exit ${r.code ?? r.signal})\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-4000)}`)
  }
}

/**
 * Reads the given topics with a kafkajs consumer group until each partition has delivered up to
 * `last` (from `expected`), or `timeoutMs` passes. Resolves with what it delivered per partition
 * and any crash of the consumer.
 */
export async function readWithKafkajs(
  address: string,
  expected: PartitionRead[],
  timeoutMs: number,
): Promise<{ delivered: Map<string, { count: number; last: number | null }>; errors: string[] }> {
  const kafka = new Kafka({ clientId: 'samsa-fuzz-check', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 2 } })
  // read_uncommitted, as read-to-end.py reads: records of aborted transactions count too
  const consumer = kafka.consumer({ groupId: 'samsa-fuzz-check', readUncommitted: true, maxWaitTimeInMs: 100, retry: { retries: 0 } })
  const delivered = new Map<string, { count: number; last: number | null }>()
  const errors: string[] = []
  const key = (t: string, p: number) => `${t}/${p}`
  for (const e of expected) delivered.set(key(e.topic, e.partition), { count: 0, last: null })
  consumer.on(consumer.events.CRASH, (e) => errors.push(`kafkajs consumer crashed: ${e.payload.error?.message}`))
  const topics = [...new Set(expected.map((e) => e.topic))]
  const complete = () => expected.every((e) => e.last === null || (delivered.get(key(e.topic, e.partition))?.last ?? -1) >= e.last)
  try {
    await consumer.connect()
    await consumer.subscribe({ topics, fromBeginning: true })
    await consumer.run({
      partitionsConsumedConcurrently: 4,
      eachMessage: async ({ topic, partition, message }) => {
        const d = delivered.get(key(topic, partition)) ?? { count: 0, last: null }
        d.count++
        d.last = Number(message.offset)
        delivered.set(key(topic, partition), d)
      },
    })
    const deadline = Date.now() + timeoutMs
    while (!complete() && errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  } catch (err) {
    errors.push(`kafkajs consumer: ${(err as Error).message}`)
  } finally {
    await consumer.disconnect().catch(() => {})
  }
  return { delivered, errors }
}
