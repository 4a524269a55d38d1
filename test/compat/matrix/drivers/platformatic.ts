// @platformatic/kafka 1.x with its default Buffer serialisers: Admin, a Producer with acks=all
// and Consumer streams. Like kafkajs it has no assign-only consumer: reading from a position
// joins a throwaway group and starts the stream in MANUAL mode at the wanted offsets.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Admin, Consumer, Producer, compressionsAlgorithms, type Message, type MessagesStream } from '@platformatic/kafka'
import { hex, type ClientDriver, type ClientOps, type GroupProtocol, type SeenRecord } from '../client-ops.js'
import { Collector } from './collect.js'

function packageVersion(): string {
  const main = createRequire(import.meta.url).resolve('@platformatic/kafka')
  const pkg = JSON.parse(readFileSync(path.join(path.dirname(main), '..', 'package.json'), 'utf8')) as { version: string }
  return pkg.version
}

function seen(m: Message<Buffer, Buffer, Buffer, Buffer>): SeenRecord {
  return {
    partition: m.partition,
    offset: Number(m.offset),
    timestamp: Number(m.timestamp),
    key: hex(m.key),
    value: hex(m.value),
    headers: [...m.headers].map(([k, v]) => [k.toString('utf8'), hex(v)]),
  }
}

async function quietly(fn: () => unknown): Promise<void> {
  try {
    await fn()
  } catch {
    // closing a client that already failed; the cell reports the first error
  }
}

export const platformaticDriver: ClientDriver = {
  name: '@platformatic/kafka',

  async probe() {
    const notApplicable: Record<string, string> = {}
    if (!compressionsAlgorithms.zstd.available) {
      notApplicable['codec-zstd'] = `@platformatic/kafka compresses zstd with node:zlib, which has zstd only from Node 22.15; this run used Node ${process.versions.node.split('.')[0]}`
    }
    return { ok: true, version: packageVersion(), notApplicable }
  },

  async open(address) {
    const base = { clientId: 'samsa-matrix', bootstrapBrokers: [address], retries: 2, retryDelay: 100, timeout: 10_000 }
    const admin = new Admin(base)
    const producer = new Producer({ ...base, acks: -1, autocreateTopics: false })
    const consumers = new Set<Consumer>()

    async function readWith(
      groupId: string,
      topic: string,
      count: number,
      start: (c: Consumer) => Promise<Parameters<Consumer['consume']>[0]>,
      beforeLeaving: (messages: Message<Buffer, Buffer, Buffer, Buffer>[]) => Promise<void> = async () => {},
      protocol: GroupProtocol = 'classic',
    ): Promise<SeenRecord[]> {
      // under the consumer protocol the broker sets session timeout and heartbeat interval
      const timing = protocol === 'consumer' ? { groupProtocol: 'consumer' as const } : { sessionTimeout: 10_000, heartbeatInterval: 500 }
      const consumer = new Consumer({ ...base, groupId, maxWaitTime: 200, ...timing })
      consumers.add(consumer)
      const got = new Collector()
      const messages: Message<Buffer, Buffer, Buffer, Buffer>[] = []
      let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
      try {
        stream = await consumer.consume(await start(consumer))
        stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
          messages.push(m)
          got.push(seen(m))
        })
        stream.on('error', (e: unknown) => got.fail(e))
        const records = await got.until(count, `@platformatic/kafka consumer of ${topic}`)
        await beforeLeaving(messages)
        return [...records]
      } finally {
        await quietly(() => stream?.close())
        await quietly(() => consumer.close(true))
        consumers.delete(consumer)
      }
    }

    const ops: ClientOps & { close(): Promise<void> } = {
      async metadata(topics) {
        const md = await admin.metadata({ topics, forceUpdate: true })
        return {
          brokers: [...md.brokers].map(([nodeId, b]) => ({ nodeId, host: b.host, port: b.port })),
          topics: [...md.topics].map(([name, t]) => ({ name, partitions: t.partitions.map((p, partition) => ({ partition, leader: p.leader })) })),
        }
      },

      async createTopic(topic, partitions) {
        await admin.createTopics({ topics: [topic], partitions, replicas: 1 })
      },

      async produce({ topic, partition, codec, records }) {
        const result = await producer.send({
          compression: codec,
          messages: records.map((r) => ({ topic, partition, key: r.key, value: r.value, headers: new Map(r.headers.map(([k, v]) => [Buffer.from(k), v])) })),
        })
        const base = result.offsets?.find((o) => o.topic === topic && o.partition === partition)
        if (!base) return null
        return records.map((_, i) => Number(base.offset) + i)
      },

      async consume({ topic, partition, from, count }) {
        return readWith(`mx-platformatic-read-${randomUUID()}`, topic, count, async (consumer) => {
          if ('beginning' in from) return { topics: [topic], mode: 'earliest', autocommit: false }
          let offset: bigint
          if ('offset' in from) offset = BigInt(from.offset)
          else {
            const offsets = await consumer.listOffsets({ topics: [topic], timestamp: BigInt(from.timestamp) })
            const found = offsets.get(topic)?.[partition]
            if (found === undefined) throw new Error(`listOffsets by timestamp returned nothing for ${topic}/${partition}`)
            offset = found
          }
          return { topics: [topic], mode: 'manual', offsets: [{ topic, partition, offset }], autocommit: false }
        })
      },

      async groupConsume({ topic, groupId, count, protocol }) {
        return readWith(
          groupId,
          topic,
          count,
          async () => ({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false }),
          async (messages) => {
            // committing a message commits its offset + 1, so the last one of each partition is enough
            const last = new Map<number, Message<Buffer, Buffer, Buffer, Buffer>>()
            for (const m of messages) last.set(m.partition, m)
            for (const m of last.values()) await m.commit()
          },
          protocol,
        )
      },

      async close() {
        for (const c of consumers) await quietly(() => c.close(true))
        await producer.close().catch(() => {})
        await admin.close().catch(() => {})
      },
    }
    return ops
  },
}
