// kafkajs 2.x: its admin client, a producer with acks=all, and group consumers (kafkajs has no
// assign-only consumer, so reading from a position joins a throwaway group and seeks).
// kafkajs ships only gzip; snappy, lz4 and zstd are plugged in through its CompressionCodecs
// table with Samsa's own codecs, which is how kafkajs users add them.
import { randomUUID } from 'node:crypto'
import { createRequire } from 'node:module'
import kafkajs from 'kafkajs'
import type { IHeaders, KafkaMessage } from 'kafkajs'
import { Codec, compress, decompress } from '../../../../protocol/compression.js'
import { hex, type ClientDriver, type ClientOps, type SeenRecord } from '../client-ops.js'
import type { CodecName } from '../features.js'
import { Collector } from './collect.js'

const { Kafka, logLevel, CompressionTypes, CompressionCodecs, Partitioners } = kafkajs

const KAFKAJS_CODEC: Record<CodecName, number> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
}

const PLUGGED = { snappy: Codec.Snappy, lz4: Codec.Lz4, zstd: Codec.Zstd } as const

function registerCodecPlugins(): void {
  const table = CompressionCodecs as Record<number, () => unknown>
  for (const [name, codec] of Object.entries(PLUGGED)) {
    table[KAFKAJS_CODEC[name as CodecName]] = () => ({
      compress: async (encoder: { buffer: Buffer }) => compress(codec, encoder.buffer),
      decompress: async (buffer: Buffer) => decompress(codec, buffer),
    })
  }
}

const PLUGIN_NOTE =
  "kafkajs has no built-in snappy, lz4 or zstd codec; tested with codec plugins registered in kafkajs's CompressionCodecs and built on Samsa's protocol/compression.ts"

/** kafkajs gathers duplicate header keys into an array; flatten back to Kafka's list. */
function headerList(h: IHeaders | undefined): Array<[string, string | null]> {
  const out: Array<[string, string | null]> = []
  for (const [k, v] of Object.entries(h ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([k, one === undefined ? null : hex(Buffer.from(one))])
  }
  return out
}

function headerObject(list: Array<[string, Buffer]>): IHeaders {
  const out: Record<string, Buffer | Buffer[]> = {}
  for (const [k, v] of list) {
    const prev = out[k]
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

function seen(partition: number, m: KafkaMessage): SeenRecord {
  return { partition, offset: Number(m.offset), timestamp: Number(m.timestamp), key: hex(m.key), value: hex(m.value), headers: headerList(m.headers) }
}

export const kafkajsDriver: ClientDriver = {
  name: 'kafkajs',
  notes: { 'codec-snappy': PLUGIN_NOTE, 'codec-lz4': PLUGIN_NOTE, 'codec-zstd': PLUGIN_NOTE },

  async probe() {
    const version = (createRequire(import.meta.url)('kafkajs/package.json') as { version: string }).version
    return { ok: true, version, notApplicable: { groupKip848: 'kafkajs speaks only the classic group protocol (JoinGroup, SyncGroup, Heartbeat)' } }
  },

  async open(address) {
    registerCodecPlugins()
    const kafka = new Kafka({
      clientId: 'samsa-matrix',
      brokers: [address],
      logLevel: logLevel.NOTHING,
      retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
      connectionTimeout: 3000,
    })
    const admin = kafka.admin()
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
    await admin.connect()
    await producer.connect()

    /** Runs a group consumer on `topic` until `count` records arrived; `position` runs once it has started. */
    async function consumeWith(groupId: string, topic: string, count: number, position: (c: kafkajs.Consumer) => Promise<void>, commit: boolean) {
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 200, retry: { retries: 2 } })
      const got = new Collector()
      consumer.on(consumer.events.CRASH, (e) => got.fail(e.payload.error))
      try {
        await consumer.connect()
        await consumer.subscribe({ topics: [topic], fromBeginning: true })
        await consumer.run({ autoCommit: false, eachMessage: async ({ partition, message }) => got.push(seen(partition, message)) })
        await position(consumer)
        const records = await got.until(count, `kafkajs consumer of ${topic}`)
        if (commit) {
          const next = new Map<number, number>()
          for (const r of records) next.set(r.partition, Math.max(next.get(r.partition) ?? 0, r.offset + 1))
          await consumer.commitOffsets([...next].map(([partition, offset]) => ({ topic, partition, offset: String(offset) })))
        }
        return [...records]
      } finally {
        await consumer.disconnect().catch(() => {})
      }
    }

    const ops: ClientOps & { close(): Promise<void> } = {
      async metadata(topics) {
        const cluster = await admin.describeCluster()
        const md = await admin.fetchTopicMetadata({ topics })
        return {
          brokers: cluster.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
          topics: md.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partition: p.partitionId, leader: p.leader })) })),
        }
      },

      async createTopic(topic, partitions) {
        const created = await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })
        if (!created) throw new Error(`createTopics answered false: ${topic} already existed`)
      },

      async produce({ topic, partition, codec, records }) {
        const meta = await producer.send({
          topic,
          acks: -1,
          compression: KAFKAJS_CODEC[codec],
          messages: records.map((r) => ({ key: r.key, value: r.value, partition, headers: headerObject(r.headers) })),
        })
        const base = Number(meta[0]?.baseOffset ?? NaN)
        return records.map((_, i) => base + i)
      },

      async consume({ topic, partition, from, count }) {
        // Resolve the start offset before the consumer runs: a seek that waits on another request
        // races the consumer's first fetch from the beginning.
        let offset: string | undefined
        if ('offset' in from) offset = String(from.offset)
        else if ('timestamp' in from) {
          const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, from.timestamp)
          const p = offsets.find((o) => o.partition === partition)
          if (!p) throw new Error(`fetchTopicOffsetsByTimestamp returned no offset for partition ${partition}`)
          offset = p.offset
        }
        return consumeWith(`mx-kafkajs-read-${randomUUID()}`, topic, count, async (consumer) => {
          if (offset !== undefined) consumer.seek({ topic, partition, offset })
        }, false)
      },

      groupConsume({ topic, groupId, count }) {
        return consumeWith(groupId, topic, count, async () => {}, true)
      },

      async close() {
        await producer.disconnect().catch(() => {})
        await admin.disconnect().catch(() => {})
      },
    }
    return ops
  },
}

