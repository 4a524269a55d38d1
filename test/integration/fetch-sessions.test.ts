// Incremental fetch sessions (KIP-227) and topic-id fetches (v13+), driven over a raw socket so
// every session field is under the test's control.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { FetchRequest, FetchResponse } from '../../protocol/generated/fetch.js'
import type { ProduceResponse } from '../../protocol/generated/produce.js'
import type { DeleteTopicsResponse } from '../../protocol/generated/delete-topics.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, WireClient } from '../helpers/wire.js'
import { forceLoopBusy } from '../../broker/loop-load.js'

const ZERO = '00000000-0000-0000-0000-000000000000'
let tb: TestBroker
let wire: WireClient
let topicId: string

function fetchRequest(over: Partial<FetchRequest>, partitions: Array<{ partition: number; fetchOffset: number }>, topic = 'sessions', id = ZERO): FetchRequest {
  return {
    clusterId: null,
    replicaId: -1,
    replicaState: { replicaId: -1, replicaEpoch: -1 },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    rackId: '',
    forgottenTopicsData: [],
    topics: partitions.length === 0 ? [] : [{
      topic,
      topicId: id,
      partitions: partitions.map((p) => ({
        partition: p.partition,
        currentLeaderEpoch: -1,
        fetchOffset: p.fetchOffset,
        lastFetchedEpoch: -1,
        logStartOffset: -1,
        partitionMaxBytes: 1 << 20,
        replicaDirectoryId: ZERO,
      })),
    }],
    ...over,
  }
}

async function fetch(version: number, req: FetchRequest): Promise<FetchResponse> {
  return (await wire.request<FetchResponse>(ApiKey.Fetch, version, req)).body
}

async function createTopic(name: string, partitions: number): Promise<void> {
  await createTopics(wire, [{ name, partitions }])
}

async function produce(partition: number, values: string[], topic = 'sessions'): Promise<void> {
  const res = await wire.request<ProduceResponse>(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: 1,
    timeoutMs: 5000,
    topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeBatch(values.map((value) => ({ value }))) }] }],
  })
  expect(res.body.responses[0]!.partitionResponses[0]!.errorCode).toBe(ErrorCode.NONE)
}

beforeAll(async () => {
  tb = await startTestBroker({ 'auto.create.topics.enable': 'false' })
  wire = await WireClient.connect(tb.address)
  topicId = (await createTopics(wire, [{ name: 'sessions', partitions: 2 }])).get('sessions')!
  expect(topicId).not.toBe(ZERO)
})

afterAll(async () => {
  wire?.close()
  await tb?.stop()
})

describe('fetch sessions', () => {
  it('creates a session, then answers incremental fetches with only the partitions that changed', async () => {
    await produce(0, ['a', 'b'])
    const full = await fetch(12, fetchRequest({ sessionId: 0, sessionEpoch: 0 }, [{ partition: 0, fetchOffset: 0 }, { partition: 1, fetchOffset: 0 }]))
    expect(full.errorCode).toBe(ErrorCode.NONE)
    expect(full.sessionId).toBeGreaterThan(0)
    const parts = full.responses.flatMap((t) => t.partitions)
    expect(parts.map((p) => p.partitionIndex).sort()).toEqual([0, 1])
    expect(parts.find((p) => p.partitionIndex === 0)!.highWatermark).toBe(2)

    // The client has read partition 0 up to offset 2 and says so; nothing is new, so the
    // incremental response carries no partitions at all.
    const quiet = await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: 1 }, [{ partition: 0, fetchOffset: 2 }]))
    expect(quiet.errorCode).toBe(ErrorCode.NONE)
    expect(quiet.sessionId).toBe(full.sessionId)
    expect(quiet.responses).toEqual([])

    // New data on partition 1 only: the next incremental fetch reports partition 1 alone.
    await produce(1, ['c'])
    const news = await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: 2 }, []))
    const changed = news.responses.flatMap((t) => t.partitions)
    expect(changed.map((p) => p.partitionIndex)).toEqual([1])
    expect(changed[0]!.highWatermark).toBe(1)
    expect(changed[0]!.records!.length).toBeGreaterThan(0)

    // A stale epoch is refused; an unknown session id too.
    const stale = await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: 2 }, []))
    expect(stale.errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH)
    const unknown = await fetch(12, fetchRequest({ sessionId: full.sessionId + 1, sessionEpoch: 1 }, []))
    expect(unknown.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  })

  it('forgets partitions listed in forgottenTopicsData', async () => {
    const full = await fetch(12, fetchRequest({ sessionId: 0, sessionEpoch: 0 }, [{ partition: 0, fetchOffset: 0 }, { partition: 1, fetchOffset: 0 }]))
    const forget = await fetch(
      12,
      fetchRequest({ sessionId: full.sessionId, sessionEpoch: 1, forgottenTopicsData: [{ topic: 'sessions', topicId: ZERO, partitions: [0] }] }, []),
    )
    expect(forget.errorCode).toBe(ErrorCode.NONE)
    await produce(0, ['d'])
    const after = await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: 2 }, []))
    expect(after.responses.flatMap((t) => t.partitions).map((p) => p.partitionIndex)).not.toContain(0)
  })

  it('closes a session with epoch -1 and serves that request in full', async () => {
    const full = await fetch(12, fetchRequest({ sessionId: 0, sessionEpoch: 0 }, [{ partition: 0, fetchOffset: 0 }]))
    const closing = await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: -1 }, [{ partition: 0, fetchOffset: 0 }]))
    expect(closing.errorCode).toBe(ErrorCode.NONE)
    expect(closing.sessionId).toBe(0)
    expect(closing.responses.flatMap((t) => t.partitions)).toHaveLength(1)
    const gone = await fetch(12, fetchRequest({ sessionId: full.sessionId, sessionEpoch: 1 }, []))
    expect(gone.errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND)
  })
})

describe('fetch by topic id (v13+)', () => {
  it('reads by topic id and reports UNKNOWN_TOPIC_ID for an id that does not exist', async () => {
    const res = await fetch(13, fetchRequest({}, [{ partition: 0, fetchOffset: 0 }], '', topicId))
    expect(res.responses[0]!.topicId).toBe(topicId)
    const p = res.responses[0]!.partitions[0]!
    expect(p.errorCode).toBe(ErrorCode.NONE)
    expect(p.records!.length).toBeGreaterThan(0)

    const missing = await fetch(13, fetchRequest({}, [{ partition: 0, fetchOffset: 0 }], '', '11111111-2222-3333-4444-555555555555'))
    expect(missing.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID)
  })

  it('reports OFFSET_OUT_OF_RANGE past the log end', async () => {
    const res = await fetch(12, fetchRequest({}, [{ partition: 0, fetchOffset: 1000 }]))
    expect(res.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE)
  })

  it('long-polls until data arrives when minBytes is not met', async () => {
    const before = await fetch(12, fetchRequest({}, [{ partition: 1, fetchOffset: 0 }]))
    const end = before.responses[0]!.partitions[0]!.highWatermark
    const other = await WireClient.connect(tb.address)
    try {
      const started = Date.now()
      const pending = other.request<FetchResponse>(ApiKey.Fetch, 12, fetchRequest({ maxWaitMs: 5000, minBytes: 1 }, [{ partition: 1, fetchOffset: end }]))
      await new Promise((r) => setTimeout(r, 200))
      await produce(1, ['late'])
      const res = (await pending).body
      expect(Date.now() - started).toBeLessThan(4000)
      expect(res.responses[0]!.partitions[0]!.records!.length).toBeGreaterThan(0)
    } finally {
      other.close()
    }
  })

  it('wakes a long poll on a topic that was deleted and created again under the same name', async () => {
    const create = () => createTopic('reborn', 1)
    const longPoll = async (fetchOffset: number) => {
      const other = await WireClient.connect(tb.address)
      try {
        const started = Date.now()
        // maxWaitMs far beyond the test's bound: only an append can answer this fetch in time.
        const pending = other.request<FetchResponse>(ApiKey.Fetch, 12, fetchRequest({ maxWaitMs: 30_000, minBytes: 1 }, [{ partition: 0, fetchOffset }], 'reborn'))
        await new Promise((r) => setTimeout(r, 200))
        await produce(0, ['wake'], 'reborn')
        const res = (await pending).body
        expect(Date.now() - started).toBeLessThan(10_000)
        expect(res.responses[0]!.partitions[0]!.records!.length).toBeGreaterThan(0)
      } finally {
        other.close()
      }
    }
    await create()
    await longPoll(0)
    const deleted = await wire.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 6, { topics: [{ name: 'reborn', topicId: ZERO }], topicNames: [], timeoutMs: 5000 })
    expect(deleted.body.responses[0]!.errorCode).toBe(ErrorCode.NONE)
    await create()
    await longPoll(0)
  }, 25_000)

  it('parks a fetch that names no partitions for maxWaitMs without holding up other requests', async () => {
    const other = await WireClient.connect(tb.address)
    try {
      const started = Date.now()
      let fetchDoneAt = 0
      const pending = other.request<FetchResponse>(ApiKey.Fetch, 12, fetchRequest({ maxWaitMs: 1500, minBytes: 1 }, [])).then((r) => {
        fetchDoneAt = Date.now()
        return r
      })
      await new Promise((r) => setTimeout(r, 100))
      // Another connection is served while the empty fetch waits (a busy wait would starve it).
      const versions = await wire.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })
      const versionsAt = Date.now()
      expect(versions.body).toBeDefined()
      const res = (await pending).body
      expect(res.errorCode).toBe(ErrorCode.NONE)
      expect(res.responses).toEqual([])
      expect(versionsAt).toBeLessThan(fetchDoneAt)
      expect(fetchDoneAt - started).toBeGreaterThanOrEqual(1400)
    } finally {
      other.close()
    }
  })

  it('returns an oversized first batch only for the first partition with records (KIP-74), read concurrently or in order', async () => {
    await createTopic('kip74', 3)
    // partition 0 stays empty; 1 and 2 hold one batch each, larger than the per-partition limit
    await produce(1, ['x'.repeat(3000)], 'kip74')
    await produce(2, ['y'.repeat(3000)], 'kip74')
    const ask = (maxBytes: number) => {
      const req = fetchRequest({ maxBytes }, [0, 1, 2].map((partition) => ({ partition, fetchOffset: 0 })), 'kip74')
      for (const p of req.topics[0]!.partitions) p.partitionMaxBytes = 1000
      return fetch(12, req)
    }
    // On a busy loop, 1 MiB covers every partition's 1000 bytes and the partitions are read
    // concurrently; 1500 does not, and they are read in order against the budget, as they always
    // are on an idle loop.
    try {
      for (const [busy, maxBytes] of [[true, 1 << 20], [true, 1500], [false, 1 << 20]] as const) {
        forceLoopBusy(busy)
        const res = await ask(maxBytes)
        const sizes = res.responses[0]!.partitions.map((p) => [p.partitionIndex, p.records!.length])
        expect(sizes[0]).toEqual([0, 0])
        expect(sizes[1]![1]).toBeGreaterThan(3000)
        expect(sizes[2]).toEqual([2, 0])
      }
    } finally {
      forceLoopBusy(undefined)
    }
  })

  it('answers a large fetch identically whether its reads run on the loop or on the pool', async () => {
    await createTopic('pooled', 2)
    for (let i = 0; i < 8; i++) for (const p of [0, 1]) await produce(p, Array.from({ length: 50 }, (_, j) => `${p}:${i}:${j}:`.padEnd(2000, 'z')), 'pooled')
    const records = async (busy: boolean) => {
      forceLoopBusy(busy)
      try {
        const res = await fetch(12, fetchRequest({ maxBytes: 8 << 20 }, [{ partition: 0, fetchOffset: 0 }, { partition: 1, fetchOffset: 0 }], 'pooled'))
        return res.responses[0]!.partitions.map((p) => Buffer.from(p.records!))
      } finally {
        forceLoopBusy(undefined)
      }
    }
    const onLoop = await records(false)
    const onPool = await records(true)
    // 8 batches of ~100 KB per partition: more than the 256 KiB a read needs to go to the pool
    for (const b of onLoop) expect(b.length).toBeGreaterThan(700_000)
    expect(onPool.map((b) => b.equals(onLoop[onPool.indexOf(b)]!))).toEqual([true, true])
  })
})
