// The partition reader against a fake two-broker cluster that speaks through the generated
// codecs and serves an in-memory log per partition: routing to leaders, version choice,
// batch decoding (offsets inside a batch, compression, control and aborted batches), resets on
// OFFSET_OUT_OF_RANGE and recovery from a leader move.
import { afterEach, describe, expect, it } from 'vitest'
import type { ConsumedRecord } from '../../../broker/client/completed-fetch.js'
import { PartitionReader, IsolationLevel, type OffsetReset, type PartitionReaderOptions } from '../../../broker/client/partition-reader.js'
import { KafkaProtocolError } from '../../../broker/client/errors.js'
import { ErrorCode } from '../../../protocol/errors.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import { startFakeBroker, type FakeBroker } from '../../helpers/fake-broker.js'
import { defaultMetadataResponse, type MetadataRequest } from '../../../protocol/generated/metadata.js'
import type { ListOffsetsRequest } from '../../../protocol/generated/list-offsets.js'
import { defaultFetchResponsePartitionData, type FetchRequest, type FetchResponse } from '../../../protocol/generated/fetch.js'
import { Compression, readLastOffset } from '../../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../../protocol/record-batch-builder.js'
import { ControlType, encodeControlBatch } from '../../../protocol/control-records.js'

interface Batch {
  bytes: Buffer
  baseOffset: number
  lastOffset: number
}

interface PartitionLog {
  leader: number
  logStartOffset: number
  batches: Batch[]
  /** Aborted transactions reported with every fetch of this partition. */
  aborted: { producerId: number; firstOffset: number }[]
  /** Timestamp -> offset answers for ListOffsets by time. */
  byTime: Map<number, number>
}

interface Cluster {
  topic: string
  partitions: Map<number, PartitionLog>
  nodes: Map<number, { port: number }>
  fetches: { node: number; version: number; body: FetchRequest }[]
  metadataCalls: number
  /** Fetch version range the brokers advertise. */
  fetchVersions: [number, number]
  /** Partition error a broker answers instead of data, while set. */
  fetchError: Map<number, number>
}

function logEnd(log: PartitionLog): number {
  const last = log.batches.at(-1)
  return last === undefined ? log.logStartOffset : last.lastOffset + 1
}

function append(log: PartitionLog, records: RecordInput[], opts: Parameters<typeof encodeBatch>[1] = {}): void {
  const bytes = encodeBatch(records, { baseOffset: logEnd(log), ...opts })
  log.batches.push({ bytes, baseOffset: logEnd(log), lastOffset: readLastOffset(bytes) })
}

function appendMarker(log: PartitionLog, type: 0 | 1, producerId: number): void {
  const bytes = encodeControlBatch({ type, producerId, producerEpoch: 0, coordinatorEpoch: 0, baseOffset: logEnd(log) })
  log.batches.push({ bytes, baseOffset: logEnd(log), lastOffset: readLastOffset(bytes) })
}

function respond(cluster: Cluster, node: number, apiKey: number, version: number, body: unknown): unknown {
  if (apiKey === ApiKey.Metadata) {
    cluster.metadataCalls++
    const req = body as MetadataRequest
    const res = defaultMetadataResponse()
    res.brokers = [...cluster.nodes].map(([nodeId, n]) => ({ nodeId, host: '127.0.0.1', port: n.port, rack: null }))
    res.topics = (req.topics ?? []).map((t) => ({
      errorCode: t.name === cluster.topic ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
      name: t.name,
      topicId: '00000000-0000-0000-0000-000000000000',
      isInternal: false,
      topicAuthorizedOperations: -2147483648,
      partitions:
        t.name !== cluster.topic
          ? []
          : [...cluster.partitions].map(([partitionIndex, log]) => ({
              errorCode: 0,
              partitionIndex,
              leaderId: log.leader,
              leaderEpoch: 0,
              replicaNodes: [log.leader],
              isrNodes: [log.leader],
              offlineReplicas: [],
            })),
    }))
    return res
  }
  if (apiKey === ApiKey.ListOffsets) {
    const req = body as ListOffsetsRequest
    return {
      throttleTimeMs: 0,
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          const log = cluster.partitions.get(p.partitionIndex)!
          const offset = p.timestamp === -2 ? log.logStartOffset : p.timestamp === -1 ? logEnd(log) : (log.byTime.get(p.timestamp) ?? -1)
          const errorCode = log.leader === node ? ErrorCode.NONE : ErrorCode.NOT_LEADER_OR_FOLLOWER
          return { partitionIndex: p.partitionIndex, errorCode, oldStyleOffsets: [offset], timestamp: -1, offset, leaderEpoch: 0 }
        }),
      })),
    }
  }
  if (apiKey === ApiKey.Fetch) {
    const req = body as FetchRequest
    cluster.fetches.push({ node, version, body: req })
    const res: FetchResponse = { throttleTimeMs: 0, errorCode: 0, sessionId: 0, nodeEndpoints: [], responses: [] }
    for (const t of req.topics) {
      res.responses.push({
        topic: t.topic,
        topicId: t.topicId,
        partitions: t.partitions.map((p) => {
          const log = cluster.partitions.get(p.partition)!
          const data = { ...defaultFetchResponsePartitionData(), partitionIndex: p.partition, highWatermark: logEnd(log), lastStableOffset: logEnd(log), logStartOffset: log.logStartOffset }
          const forced = cluster.fetchError.get(p.partition)
          if (forced !== undefined) return { ...data, errorCode: forced }
          if (log.leader !== node) return { ...data, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }
          if (p.fetchOffset < log.logStartOffset || p.fetchOffset > logEnd(log)) return { ...data, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE }
          const chosen: Buffer[] = []
          let size = 0
          for (const b of log.batches) {
            if (b.lastOffset < p.fetchOffset) continue
            // Like Kafka: always the first batch, then whole batches within the limit.
            if (chosen.length > 0 && size + b.bytes.length > p.partitionMaxBytes) break
            chosen.push(b.bytes)
            size += b.bytes.length
          }
          return { ...data, records: Buffer.concat(chosen), abortedTransactions: req.isolationLevel === 1 ? log.aborted : null }
        }),
      })
    }
    return res
  }
  throw new Error(`unexpected API ${apiKey}`)
}

const brokers: FakeBroker[] = []
const readers: PartitionReader[] = []
afterEach(async () => {
  for (const r of readers.splice(0)) await r.close()
  await Promise.all(brokers.splice(0).map((b) => b.close()))
})

async function fakeCluster(partitions: Record<number, number>, fetchVersions: [number, number] = [0, 17]): Promise<Cluster> {
  const cluster: Cluster = {
    topic: 'orders',
    partitions: new Map(Object.entries(partitions).map(([p, leader]) => [Number(p), { leader, logStartOffset: 0, batches: [], aborted: [], byTime: new Map() }])),
    nodes: new Map(),
    fetches: [],
    metadataCalls: 0,
    fetchVersions,
    fetchError: new Map(),
  }
  for (const node of [1, 2]) {
    const broker = await startFakeBroker({
      versions: () => [
        [ApiKey.ApiVersions, [0, 4]],
        [ApiKey.Metadata, [0, 12]],
        [ApiKey.ListOffsets, [0, 10]],
        [ApiKey.Fetch, cluster.fetchVersions],
      ],
      answer: (req) => respond(cluster, node, req.apiKey, req.version, req.body),
    })
    brokers.push(broker)
    cluster.nodes.set(node, { port: broker.port })
  }
  return cluster
}

async function reader(cluster: Cluster, opts: Partial<PartitionReaderOptions> = {}): Promise<PartitionReader> {
  const r = new PartitionReader({ bootstrap: [`127.0.0.1:${cluster.nodes.get(1)!.port}`], maxWaitMs: 20, timeoutMs: 5000, ...opts })
  readers.push(r)
  await r.connect()
  return r
}

/** Polls until `n` records arrived or `polls` polls passed. */
async function collect(r: PartitionReader, n: number, polls = 50): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = []
  for (let i = 0; i < polls && out.length < n; i++) out.push(...(await r.poll()))
  return out
}

const values = (records: ConsumedRecord[]) => records.map((r) => `${r.partition}:${r.offset}:${r.value?.toString()}`)

describe('PartitionReader', () => {
  it('lists partitions and resolves earliest, latest and timestamp offsets at each leader', async () => {
    const c = await fakeCluster({ 0: 1, 1: 2 })
    const p0 = c.partitions.get(0)!
    p0.logStartOffset = 3
    append(p0, [{ value: 'a' }, { value: 'b' }])
    p0.byTime.set(1000, 4)
    const r = await reader(c)
    expect(await r.partitions('orders')).toEqual([0, 1])
    expect([...(await r.listOffsets('orders', [0, 1], 'earliest'))].sort()).toEqual([
      [0, 3],
      [1, 0],
    ])
    expect([...(await r.listOffsets('orders', [0, 1], 'latest'))].sort()).toEqual([
      [0, 5],
      [1, 0],
    ])
    // No record at or after the timestamp in partition 1: its end.
    expect([...(await r.listOffsets('orders', [0, 1], { timestamp: 1000 }))].sort()).toEqual([
      [0, 4],
      [1, 0],
    ])
    const err = await r.partitions('missing').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KafkaProtocolError)
    expect((err as KafkaProtocolError).type).toBe('UNKNOWN_TOPIC_OR_PARTITION')
  })

  it('fetches each partition from its leader at v12, sessionless, starting inside a batch', async () => {
    const c = await fakeCluster({ 0: 1, 1: 2 })
    append(c.partitions.get(0)!, [
      { value: 'a0', key: 'k', timestamp: 1111, headers: [{ key: 'h', value: 'x' }] },
      { value: 'a1', timestamp: 1112 },
      { value: 'a2', timestamp: 1113 },
    ])
    append(c.partitions.get(1)!, [{ value: 'b0' }, { value: 'b1' }], { compression: Compression.Gzip })
    const r = await reader(c, { isolationLevel: IsolationLevel.ReadUncommitted })
    r.assign('orders', new Map([[0, 0], [1, 1]]))
    const got = await collect(r, 4)
    expect(values(got).sort()).toEqual(['0:0:a0', '0:1:a1', '0:2:a2', '1:1:b1'])
    const first = got.find((x) => x.offset === 0)!
    expect(first.key?.toString()).toBe('k')
    expect(first.timestamp).toBe(1111)
    expect(first.headers.map((h) => [h.key, h.value?.toString()])).toEqual([['h', 'x']])
    expect(r.position('orders', 0)).toBe(3)
    expect(r.position('orders', 1)).toBe(2)
    const byNode = new Map(c.fetches.map((f) => [f.node, f]))
    expect([...byNode.keys()].sort()).toEqual([1, 2])
    for (const f of c.fetches) {
      expect(f.version).toBe(12)
      expect(f.body.sessionId).toBe(0)
      expect(f.body.sessionEpoch).toBe(-1)
      expect(f.body.isolationLevel).toBe(0)
      expect(f.body.topics.map((t) => t.topic)).toEqual(['orders'])
      expect(f.body.topics[0].partitions.every((p) => p.partitionMaxBytes === 1 << 20)).toBe(true)
    }
    expect(byNode.get(1)!.body.topics[0].partitions.map((p) => p.partition)).toEqual([0])
    expect(byNode.get(2)!.body.topics[0].partitions.map((p) => p.partition)).toEqual([1])
  })

  it('speaks an older Fetch when the broker tops out below v12', async () => {
    const c = await fakeCluster({ 0: 1 }, [0, 11])
    append(c.partitions.get(0)!, [{ value: 'x' }])
    const r = await reader(c)
    r.assign('orders', new Map([[0, 0]]))
    expect(values(await collect(r, 1))).toEqual(['0:0:x'])
    expect(c.fetches[0].version).toBe(11)
  })

  it('keeps fetching whole batches past a size-limited response', async () => {
    const c = await fakeCluster({ 0: 1 })
    const log = c.partitions.get(0)!
    for (let b = 0; b < 5; b++) append(log, Array.from({ length: 10 }, (_, i) => ({ value: `v${b * 10 + i}-${'x'.repeat(200)}` })))
    const r = await reader(c, { partitionMaxBytes: 3000 })
    r.assign('orders', new Map([[0, 0]]))
    const got = await collect(r, 50)
    expect(got.map((x) => x.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(c.fetches.length).toBeGreaterThan(1)
  })

  it('skips control batches and, under read_committed, aborted transactions', async () => {
    const c = await fakeCluster({ 0: 1 })
    const log = c.partitions.get(0)!
    append(log, [{ value: 'plain' }]) // 0
    append(log, [{ value: 'committed' }], { producerId: 7, producerEpoch: 0, baseSequence: 0, transactional: true }) // 1
    appendMarker(log, ControlType.Commit, 7) // 2
    append(log, [{ value: 'aborted' }], { producerId: 8, producerEpoch: 0, baseSequence: 0, transactional: true }) // 3
    appendMarker(log, ControlType.Abort, 8) // 4
    append(log, [{ value: 'after' }], { producerId: 8, producerEpoch: 0, baseSequence: 1, transactional: true }) // 5
    appendMarker(log, ControlType.Commit, 8) // 6
    log.aborted = [{ producerId: 8, firstOffset: 3 }]

    const committed = await reader(c)
    committed.assign('orders', new Map([[0, 0]]))
    expect(values(await collect(committed, 3))).toEqual(['0:0:plain', '0:1:committed', '0:5:after'])
    expect(committed.position('orders', 0)).toBe(7)

    const uncommitted = await reader(c, { isolationLevel: IsolationLevel.ReadUncommitted })
    uncommitted.assign('orders', new Map([[0, 0]]))
    expect(values(await collect(uncommitted, 4))).toEqual(['0:0:plain', '0:1:committed', '0:3:aborted', '0:5:after'])
  })

  it('resets an out-of-range position and reports it', async () => {
    const c = await fakeCluster({ 0: 1 })
    const log = c.partitions.get(0)!
    append(log, [{ value: 'a' }, { value: 'b' }])
    const resets: OffsetReset[] = []
    const latest = await reader(c, { onReset: (x) => resets.push(x) })
    latest.assign('orders', new Map([[0, 99]]))
    expect(await latest.poll()).toEqual([])
    expect(resets).toEqual([{ topic: 'orders', partition: 0, from: 99, to: 2 }])
    append(log, [{ value: 'c' }])
    expect(values(await collect(latest, 1))).toEqual(['0:2:c'])

    const earliest = await reader(c, { offsetReset: 'earliest', onReset: (x) => resets.push(x) })
    earliest.assign('orders', new Map([[0, 99]]))
    expect(values(await collect(earliest, 3))).toEqual(['0:0:a', '0:1:b', '0:2:c'])
    expect(resets[1]).toEqual({ topic: 'orders', partition: 0, from: 99, to: 0 })
  })

  it('follows a leader that moved after NOT_LEADER_OR_FOLLOWER', async () => {
    const c = await fakeCluster({ 0: 1 })
    const log = c.partitions.get(0)!
    append(log, [{ value: 'a' }])
    const r = await reader(c)
    r.assign('orders', new Map([[0, 0]]))
    expect(values(await collect(r, 1))).toEqual(['0:0:a'])
    log.leader = 2
    append(log, [{ value: 'b' }])
    const metadataBefore = c.metadataCalls
    expect(values(await collect(r, 1))).toEqual(['0:1:b'])
    expect(c.metadataCalls).toBeGreaterThan(metadataBefore)
    expect(c.fetches.at(-1)!.node).toBe(2)
  })

  it('gives up after a bounded number of leader errors', async () => {
    const c = await fakeCluster({ 0: 1 })
    c.fetchError.set(0, ErrorCode.NOT_LEADER_OR_FOLLOWER)
    const r = await reader(c, { retries: 2 })
    r.assign('orders', new Map([[0, 0]]))
    const started = Date.now()
    const err = await (async () => {
      for (let i = 0; i < 20; i++) await r.poll()
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KafkaProtocolError)
    expect((err as KafkaProtocolError).type).toBe('NOT_LEADER_OR_FOLLOWER')
    // Three attempts with 100 ms and 200 ms backoff between them.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(c.fetches.length).toBe(3)
  })

  it('stops fetching an unassigned partition and returns nothing when idle', async () => {
    const c = await fakeCluster({ 0: 1, 1: 1 })
    append(c.partitions.get(0)!, [{ value: 'a' }])
    append(c.partitions.get(1)!, [{ value: 'b' }])
    const r = await reader(c)
    r.assign('orders', new Map([[0, 0], [1, 0]]))
    r.unassign('orders', 1)
    expect(values(await collect(r, 1))).toEqual(['0:0:a'])
    expect(c.fetches.every((f) => f.body.topics[0].partitions.every((p) => p.partition === 0))).toBe(true)
    r.unassign('orders', 0)
    expect(await r.poll()).toEqual([])
  })
})
