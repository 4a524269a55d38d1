// Partition counts are bounded (max.broker.partitions) and a broker with many partitions starts
// under a small open-files limit. Before: create_partitions('p', 8000) from confluent-kafka and
// CreateTopics with 16,777,217 partitions were attempted, exhausted descriptors or the heap, left
// the store naming partitions that did not exist, and the broker could not start again ("EMFILE").
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { CreateTopicsResponse } from '../../protocol/generated/create-topics.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { startBroker } from '../../broker/index.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { assertAvailable, isCI, PYTHON, probePythonModule, skipNote } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { WireClient, createTopics, readPartition } from '../helpers/wire.js'

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python')
const confluent = probePythonModule('confluent_kafka')

async function partitionCounts(address: string, topics: string[]): Promise<Map<string, number>> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<MetadataResponse>(ApiKey.Metadata, 9, {
      topics: topics.map((name) => ({ name, topicId: '00000000-0000-0000-0000-000000000000' })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    return new Map(body.topics.filter((t) => t.errorCode === ErrorCode.NONE).map((t) => [t.name!, t.partitions.length]))
  } finally {
    c.close()
  }
}

/** acks=all produce of one record to each listed partition; returns the error codes. */
async function produce(address: string, topic: string, partitions: number[], value: string): Promise<number[]> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 30_000,
      topicData: [{ name: topic, partitionData: partitions.map((index) => ({ index, records: encodeBatch([{ value }]) })) }],
    }, 120_000)
    return body.responses[0]!.partitionResponses.map((p) => p.errorCode)
  } finally {
    c.close()
  }
}

describe(`partition limits${skipNote(confluent)}`, () => {
  let dataDir: string
  let broker: ChildBroker | undefined

  beforeAll(async () => {
    if (isCI) assertAvailable(confluent)
    await ensureBuilt()
    dataDir = await makeTempDir('samsa-limits-')
    broker = await startChildBroker(dataDir)
    const c = await WireClient.connect(broker.address)
    await createTopics(c, [{ name: 'p', partitions: 1 }])
    c.close()
  }, 60_000)

  afterAll(async () => {
    await broker?.stop()
    await removeDir(dataDir)
  })

  it('answers CreateTopics with 16,777,217 partitions INVALID_PARTITIONS at once and creates nothing', async () => {
    const c = await WireClient.connect(broker!.address)
    const started = Date.now()
    try {
      const { body } = await c.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'huge', numPartitions: 16_777_217, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 30_000,
        validateOnly: false,
      })
      expect(body.topics[0]!.errorCode).toBe(ErrorCode.INVALID_PARTITIONS)
      expect(body.topics[0]!.errorMessage).toMatch(/max\.broker\.partitions/)
    } finally {
      c.close()
    }
    expect(Date.now() - started).toBeLessThan(2_000)
    expect((await partitionCounts(broker!.address, ['huge'])).has('huge')).toBe(false)
  })

  it.skipIf(confluent.skip)('answers confluent-kafka create_partitions to 8000 with an error, keeps serving, and restarts', async () => {
    const r = expectSuccess('create-partitions', await run(PYTHON, [path.join(scripts, 'confluent-kafka-create-partitions.py'), broker!.address, 'p', '8000'], { timeoutMs: 120_000 }))
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { error: string | null; message?: string }
    expect(['INVALID_PARTITIONS', 'POLICY_VIOLATION']).toContain(result.error)
    expect(await partitionCounts(broker!.address, ['p'])).toEqual(new Map([['p', 1]]))
    expect(await produce(broker!.address, 'p', [0], 'still here')).toEqual([ErrorCode.NONE])

    await broker!.stop()
    broker = await startChildBroker(dataDir)
    expect(await partitionCounts(broker.address, ['p'])).toEqual(new Map([['p', 1]]))
    expect((await readPartition(broker.address, 'p', 0)).map((rec) => rec.value?.toString())).toEqual(['still here'])
  }, 180_000)

  it('refuses partitions beyond what is left under max.broker.partitions with POLICY_VIOLATION', async () => {
    const small = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', config: { 'max.broker.partitions': '10' } })
    const c = await WireClient.connect(small.address)
    try {
      await createTopics(c, [{ name: 'first', partitions: 8 }])
      const { body } = await c.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
        topics: [{ name: 'more', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 30_000,
        validateOnly: false,
      })
      expect(body.topics[0]!.errorCode).toBe(ErrorCode.POLICY_VIOLATION)
      expect((await partitionCounts(small.address, ['first', 'more']))).toEqual(new Map([['first', 8]]))
    } finally {
      c.close()
      await small.stop()
    }
  })
})

describe('a broker with many partitions', () => {
  // 1,500 partitions of 3 segments: some 7,500 segment files, far more than 256 descriptors.
  const PARTITIONS = 1500
  const SEGMENTS = 3

  it('starts with 256 open files allowed, after a clean stop and after kill -9', async () => {
    await ensureBuilt()
    const dataDir = await makeTempDir('samsa-many-')
    let child: ChildBroker | undefined
    try {
      // Several segments per partition: one batch per segment (segment.bytes below two batches).
      const tb = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
      try {
        const c = await WireClient.connect(tb.address)
        await createTopics(c, [{ name: 'many', partitions: PARTITIONS, configs: { 'segment.bytes': '100' } }], 120_000)
        c.close()
        const all = Array.from({ length: PARTITIONS }, (_, i) => i)
        for (let s = 0; s < SEGMENTS; s++) {
          expect(new Set(await produce(tb.address, 'many', all, `v${s}`))).toEqual(new Set([ErrorCode.NONE]))
        }
      } finally {
        await tb.stop()
      }

      // After the clean stop above, then after kill -9 (recovery from the recovery point).
      for (const after of ['clean stop', 'kill -9'] as const) {
        child = await startChildBroker(dataDir, {}, { maxOpenFiles: 256, startTimeoutMs: 120_000 })
        expect(await partitionCounts(child.address, ['many'])).toEqual(new Map([['many', PARTITIONS]]))
        const last = PARTITIONS - 1
        expect(await produce(child.address, 'many', [0, last], `after ${after}`)).toEqual([ErrorCode.NONE, ErrorCode.NONE])
        const values = (await readPartition(child.address, 'many', last)).map((rec) => rec.value?.toString())
        expect(values.slice(0, SEGMENTS)).toEqual(Array.from({ length: SEGMENTS }, (_, s) => `v${s}`))
        expect(values[values.length - 1]).toBe(`after ${after}`)
        expect(child.output()).not.toMatch(/EMFILE/)
        if (after === 'clean stop') {
          await child.kill()
          child = undefined
        }
      }
    } finally {
      await child?.stop()
      await removeDir(dataDir)
    }
  }, 300_000)
})
