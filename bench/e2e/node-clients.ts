// What a Node application gets: kafkajs and @platformatic/kafka producing at max rate (a few sends
// of a few hundred records in flight, as a batching application would) and consuming a backlog
// as a group member. These run in the harness process and share its 2-core budget with the broker.
import { Consumer as PltConsumer, Producer as PltProducer } from '@platformatic/kafka'
import { Kafka, logLevel } from 'kafkajs'

export interface ClientProduceResult {
  records: number
  seconds: number
}

export interface ClientConsumeResult {
  records: number
  seconds: number
}

const IN_FLIGHT = 4
const PER_SEND = 500

export async function kafkajsProduce(bootstrap: string, topic: string, partitions: number, recordBytes: number, acks: number, seconds: number): Promise<ClientProduceResult> {
  const kafka = new Kafka({ clientId: 'samsa-bench', brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const value = Buffer.alloc(recordBytes, 98)
  const messages = Array.from({ length: PER_SEND }, (_, i) => ({ value, partition: i % partitions }))
  let records = 0
  const started = performance.now()
  const end = started + seconds * 1000
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < end) {
          await producer.send({ topic, acks, messages })
          records += messages.length
        }
      }),
    )
  } finally {
    await producer.disconnect()
  }
  return { records, seconds: (performance.now() - started) / 1000 }
}

export async function platformaticProduce(bootstrap: string, topic: string, partitions: number, recordBytes: number, acks: number, seconds: number): Promise<ClientProduceResult> {
  const producer = new PltProducer({ clientId: 'samsa-bench', bootstrapBrokers: [bootstrap], acks, idempotent: false, autocreateTopics: false })
  const value = Buffer.alloc(recordBytes, 98)
  const messages = Array.from({ length: PER_SEND }, (_, i) => ({ topic, value, partition: i % partitions }))
  let records = 0
  const started = performance.now()
  const end = started + seconds * 1000
  try {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (performance.now() < end) {
          await producer.send({ messages })
          records += messages.length
        }
      }),
    )
  } finally {
    await producer.close()
  }
  return { records, seconds: (performance.now() - started) / 1000 }
}

/** Consumes up to `count` records from the beginning; the clock starts at the first batch. */
export async function kafkajsConsume(bootstrap: string, topic: string, group: string, count: number, timeoutSeconds: number): Promise<ClientConsumeResult> {
  const kafka = new Kafka({ clientId: 'samsa-bench', brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const consumer = kafka.consumer({ groupId: group, maxBytes: 16 * 1024 * 1024, maxBytesPerPartition: 2 * 1024 * 1024, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let records = 0
  let first = 0
  let last = 0
  const deadline = performance.now() + timeoutSeconds * 1000
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      if (first === 0) first = performance.now()
      records += batch.messages.length
      last = performance.now()
    },
  })
  while (records < count && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  await consumer.disconnect()
  return { records, seconds: first === 0 ? 0 : (last - first) / 1000 }
}

export async function platformaticConsume(bootstrap: string, topic: string, group: string, count: number, timeoutSeconds: number): Promise<ClientConsumeResult> {
  const consumer = new PltConsumer({ clientId: 'samsa-bench', groupId: group, bootstrapBrokers: [bootstrap], maxBytes: 16 * 1024 * 1024, maxWaitTime: 100 })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  let records = 0
  let first = 0
  let last = 0
  const deadline = performance.now() + timeoutSeconds * 1000
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, deadline - performance.now()))
    stream.on('data', () => {
      if (first === 0) first = performance.now()
      records++
      last = performance.now()
      if (records >= count) {
        clearTimeout(timer)
        resolve()
      }
    })
    stream.on('error', () => {
      clearTimeout(timer)
      resolve()
    })
  })
  await stream.close()
  await consumer.close(true)
  return { records, seconds: first === 0 ? 0 : (last - first) / 1000 }
}
