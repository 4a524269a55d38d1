// Deleting a topic while acks=all producers write to it. The durable appends still waiting for
// their group fsync when the partition closes must be answered as Kafka answers a produce to a
// deleted partition (UNKNOWN_TOPIC_OR_PARTITION), never KAFKA_STORAGE_ERROR, and the broker must
// not log the partition as offline: the fsync queued before the close finishes on the descriptor
// it was issued for, because closing waits for it.
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { DeleteTopicsResponse } from '../../protocol/generated/delete-topics.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { WireClient, createTopics } from '../helpers/wire.js'

const PARTITIONS = 4
const PRODUCERS = 12
const ROUNDS = 4

let broker: RunningBroker
let dataDir: string
const logLines: string[] = []

beforeAll(async () => {
  dataDir = await makeTempDir('samsa-delete-load-')
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString())
      done()
    },
  })
  broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logger: pino({ level: 'warn' }, sink) })
})

afterAll(async () => {
  await broker?.stop()
  await removeDir(dataDir)
})

/** Produces acks=all to every partition until each one answers an error; returns the codes seen. */
async function produceUntilGone(c: WireClient, topic: string, value: Buffer, codes: Map<number, number>): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: Array.from({ length: PARTITIONS }, (_, index) => ({ index, records: encodeBatch([{ value }]) })) }],
    })
    let failed = 0
    for (const p of body.responses[0]!.partitionResponses) {
      codes.set(p.errorCode, (codes.get(p.errorCode) ?? 0) + 1)
      if (p.errorCode !== ErrorCode.NONE) failed++
    }
    if (failed === PARTITIONS) return
  }
  throw new Error('the topic never went away')
}

describe('deleting a topic under acks=all load', () => {
  it('answers pending durable appends UNKNOWN_TOPIC_OR_PARTITION and keeps every partition online', async () => {
    const admin = await WireClient.connect(broker.address)
    const producers = await Promise.all(Array.from({ length: PRODUCERS }, () => WireClient.connect(broker.address)))
    const value = Buffer.alloc(4096, 7)
    const codes = new Map<number, number>()
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const topic = `doomed-${round}`
        await createTopics(admin, [{ name: topic, partitions: PARTITIONS }])
        const running = producers.map((c) => produceUntilGone(c, topic, value, codes))
        await new Promise((r) => setTimeout(r, 150))
        const { body } = await admin.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 4, { topicNames: [topic], timeoutMs: 10_000 })
        expect(body.responses[0]!.errorCode).toBe(ErrorCode.NONE)
        await Promise.all(running)
      }
    } finally {
      admin.close()
      for (const c of producers) c.close()
    }
    expect(codes.get(ErrorCode.NONE) ?? 0).toBeGreaterThan(0)
    const unexpected = [...codes.keys()].filter((c) => c !== ErrorCode.NONE && c !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect(unexpected.map((c) => `${c} x${codes.get(c)}`)).toEqual([])
    expect(logLines.filter((l) => l.includes('offline'))).toEqual([])

    // The broker still takes durable writes on a new topic.
    const c = await WireClient.connect(broker.address)
    try {
      await createTopics(c, [{ name: 'after', partitions: 1 }])
      const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 10_000,
        topicData: [{ name: 'after', partitionData: [{ index: 0, records: encodeBatch([{ value }]) }] }],
      })
      expect(body.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE)
    } finally {
      c.close()
    }
  }, 60_000)
})
