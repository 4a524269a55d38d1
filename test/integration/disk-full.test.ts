// A full data directory: a broker in a child process on a small tmpfs the test mounts (root only;
// skipped with the reason otherwise), filled to the last byte with a filler file. Every request
// whose metadata write the disk refuses is answered with Kafka's error code and the process stays
// up; a broker restarted on the full disk starts (read-only until space returns); once the filler
// is gone, a partition the full disk took offline takes writes again without a restart, and every
// record acknowledged before the disk filled is still readable by a real client.
import { rmSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { CreateTopicsResponse } from '../../protocol/generated/create-topics.js'
import type { DeleteTopicsResponse } from '../../protocol/generated/delete-topics.js'
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import type { OffsetCommitResponse } from '../../protocol/generated/offset-commit.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { kafkaClient } from '../helpers/broker.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { fillDisk, mountTmpfs, tmpfsUnavailable, unmountTmpfs } from '../helpers/tmpfs.js'
import { waitFor } from '../helpers/wait.js'
import { createTopics, WireClient } from '../helpers/wire.js'

const skipReason = tmpfsUnavailable()

async function produce(c: WireClient, topic: string, values: string[]): Promise<{ errorCode: number; baseOffset: number }> {
  const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: encodeBatch(values.map((v) => ({ value: v }))) }] }],
  })
  const p = body.responses[0]!.partitionResponses[0]!
  return { errorCode: p.errorCode, baseOffset: p.baseOffset }
}

async function metadata(c: WireClient, topics: string[], allowAutoTopicCreation: boolean): Promise<MetadataResponse> {
  const { body } = await c.request<MetadataResponse>(ApiKey.Metadata, 9, {
    topics: topics.map((name) => ({ topicId: '00000000-0000-0000-0000-000000000000', name })),
    allowAutoTopicCreation,
    includeClusterAuthorizedOperations: false,
    includeTopicAuthorizedOperations: false,
  })
  return body
}

describe.skipIf(skipReason !== undefined)(`a full disk${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let root = ''
  let dataDir = ''
  let filler = ''
  const config = { 'num.partitions': '1', 'auto.create.topics.enable': 'true', 'log.flush.scheduler.interval.ms': '200' }
  let broker: ChildBroker | undefined
  let c: WireClient | undefined
  /** Every record acknowledged before the disk filled, in offset order. */
  const acknowledged: string[] = []

  async function connect(): Promise<WireClient> {
    c?.close()
    c = await WireClient.connect(broker!.address)
    return c
  }

  async function expectAlive(): Promise<void> {
    expect(broker!.proc.exitCode, broker!.output()).toBeNull()
    const m = await metadata(await connect(), ['kept'], false)
    expect(m.topics[0]!.errorCode).toBe(ErrorCode.NONE)
  }

  beforeAll(async () => {
    const mount = mountTmpfs('16m')
    if (typeof mount === 'string') throw new Error(mount)
    root = mount.dir
    dataDir = path.join(root, 'data')
    filler = path.join(root, 'filler')
    await ensureBuilt()
    broker = await startChildBroker(dataDir, config)
    const w = await connect()
    await createTopics(w, [
      { name: 'kept', partitions: 1 },
      { name: 'doomed', partitions: 1 },
    ])
    for (let i = 0; i < 10; i++) {
      const values = Array.from({ length: 5 }, (_, k) => `before-${i}-${k}`)
      expect((await produce(w, 'kept', values)).errorCode).toBe(ErrorCode.NONE)
      acknowledged.push(...values)
    }
    fillDisk(filler)
  }, 120_000)

  afterAll(async () => {
    c?.close()
    await broker?.kill().catch(() => {})
    if (root !== '') {
      rmSync(filler, { force: true })
      unmountTmpfs(root)
    }
  })

  it('answers InitProducerId with COORDINATOR_LOAD_IN_PROGRESS when no producer id block can be stored', async () => {
    const w = await connect()
    for (const transactionalId of [null, 'txn-on-a-full-disk']) {
      const { body } = await w.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
        transactionalId,
        transactionTimeoutMs: 60_000,
        producerId: -1,
        producerEpoch: -1,
      })
      expect(body.errorCode, String(transactionalId)).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS)
    }
    await expectAlive()
  })

  it('answers OffsetCommit with NOT_COORDINATOR', async () => {
    const w = await connect()
    const { body } = await w.request<OffsetCommitResponse>(ApiKey.OffsetCommit, 8, {
      groupId: 'group-on-a-full-disk',
      generationIdOrMemberEpoch: -1,
      memberId: '',
      groupInstanceId: null,
      retentionTimeMs: -1,
      topics: [{ name: 'kept', partitions: [{ partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: 'm'.repeat(4000) }] }],
    })
    expect(body.topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NOT_COORDINATOR)
    await expectAlive()
  })

  // lmdb must never see the full disk here: a failed page write damages its heap (see
  // storage/metadata-reserve.ts) and, often enough, a later malloc aborts the broker.
  it('answers CreateTopics and auto-creation with KAFKA_STORAGE_ERROR', async () => {
    const w = await connect()
    const { body } = await w.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'created-on-a-full-disk', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    })
    expect(body.topics[0]!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    await expectAlive()
    const m = await metadata(await connect(), ['auto-created-on-a-full-disk'], true)
    expect(m.topics[0]!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    await expectAlive()
    const again = await metadata(await connect(), ['created-on-a-full-disk', 'auto-created-on-a-full-disk'], false)
    expect(again.topics.map((t) => t.errorCode)).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
  })

  it('answers DeleteTopics with KAFKA_STORAGE_ERROR and keeps the topic', async () => {
    const w = await connect()
    const { body } = await w.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 6, {
      topics: [{ name: 'doomed', topicId: '00000000-0000-0000-0000-000000000000' }],
      topicNames: [],
      timeoutMs: 5000,
    })
    expect(body.responses[0]!.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    await expectAlive()
    expect((await metadata(await connect(), ['doomed'], false)).topics[0]!.errorCode).toBe(ErrorCode.NONE)
  })

  it('starts again while the disk is still full, after a stop and after kill -9', async () => {
    for (const end of ['stop', 'kill'] as const) {
      if (end === 'stop') await broker!.stop()
      else await broker!.kill()
      broker = await startChildBroker(dataDir, config)
      await expectAlive()
      const m = await metadata(await connect(), ['doomed', 'created-on-a-full-disk'], false)
      expect(m.topics.map((t) => t.errorCode), end).toEqual([ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION])
    }
  }, 60_000)

  it('answers Produce acks=all with KAFKA_STORAGE_ERROR, then takes writes again once there is room, without a restart', async () => {
    let w = await connect()
    // Larger than what the last page of the segment file may still hold: the partition goes offline.
    expect((await produce(w, 'kept', ['x'.repeat(64 * 1024)])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    await expectAlive()
    expect((await produce(await connect(), 'kept', ['small'])).errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR)

    rmSync(filler)
    w = await connect()
    const after = await waitFor(async () => {
      const r = await produce(w, 'kept', ['after-0', 'after-1'])
      return r.errorCode === ErrorCode.NONE ? r : undefined
    }, { timeoutMs: 15_000, intervalMs: 200 })
    expect(after.baseOffset).toBe(acknowledged.length)
    acknowledged.push('after-0', 'after-1')
    const { body } = await w.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    })
    expect(body.errorCode).toBe(ErrorCode.NONE)

    // A real client reads the partition back: every acknowledged record, in order, nothing else.
    const kafka = kafkaClient(broker!.address)
    const consumer = kafka.consumer({ groupId: 'disk-full-reader' })
    await consumer.connect()
    const seen: string[] = []
    try {
      await consumer.subscribe({ topic: 'kept', fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
      await waitFor(() => (seen.length >= acknowledged.length ? true : undefined), { timeoutMs: 20_000 })
    } finally {
      await consumer.disconnect()
    }
    expect(seen).toEqual(acknowledged)
  }, 60_000)
})
