// The matrix's own view of the broker, through Samsa's protocol codecs over a bare socket:
// creating and seeding topics, and reading back exactly what was stored. It shares no code with
// any client under test, so a client cannot vouch for itself.
import { ApiKey } from '../../../protocol/generated/index.js'
import type { ConsumerGroupDescribeResponse } from '../../../protocol/generated/consumer-group-describe.js'
import type { CreateTopicsResponse } from '../../../protocol/generated/create-topics.js'
import type { FetchResponse } from '../../../protocol/generated/fetch.js'
import type { MetadataResponse } from '../../../protocol/generated/metadata.js'
import type { OffsetFetchResponse } from '../../../protocol/generated/offset-fetch.js'
import type { ProduceResponse } from '../../../protocol/generated/produce.js'
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, compressionOf, readBatchHeader } from '../../../protocol/record-batch.js'
import { encodeBatch, type RecordInput } from '../../../protocol/record-batch-builder.js'
import { decodeBatchRecords } from '../../../protocol/record-reader.js'
import { WireClient } from '../../helpers/wire.js'
import { hex, type SeenRecord } from './client-ops.js'

async function withClient<T>(address: string, fn: (c: WireClient) => Promise<T>): Promise<T> {
  const c = await WireClient.connect(address)
  try {
    return await fn(c)
  } finally {
    c.close()
  }
}

export function createTopics(address: string, topics: Array<{ name: string; partitions: number }>): Promise<void> {
  return withClient(address, async (c) => {
    const { body } = await c.request<CreateTopicsResponse>(ApiKey.CreateTopics, 2, {
      topics: topics.map((t) => ({ name: t.name, numPartitions: t.partitions, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 10_000,
      validateOnly: false,
    })
    const failed = body.topics.filter((t) => t.errorCode !== 0)
    if (failed.length) throw new Error(`CreateTopics failed: ${failed.map((t) => `${t.name}: ${t.errorCode} ${t.errorMessage ?? ''}`).join('; ')}`)
  })
}

/** Appends `records` as one uncompressed batch with acks=all; resolves its base offset. */
export function appendBatch(address: string, topic: string, partition: number, records: RecordInput[]): Promise<number> {
  return withClient(address, async (c) => {
    const { body } = await c.request<ProduceResponse>(ApiKey.Produce, 3, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: encodeBatch(records) }] }],
    })
    const p = body.responses[0]?.partitionResponses[0]
    if (!p || p.errorCode !== 0) throw new Error(`Produce ${topic}/${partition} failed: error ${p?.errorCode}`)
    return p.baseOffset
  })
}

export interface StoredPartition {
  /** The compression codec number of each stored batch, in offset order. */
  codecs: number[]
  records: SeenRecord[]
}

/** Everything stored in one partition, decoded by Samsa's own record-batch reader. */
export function readStored(address: string, topic: string, partition: number): Promise<StoredPartition> {
  return withClient(address, async (c) => {
    const out: StoredPartition = { codecs: [], records: [] }
    let next = 0
    for (;;) {
      const { body } = await c.request<FetchResponse>(ApiKey.Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 << 20,
        isolationLevel: 0,
        topics: [{ topic, partitions: [{ partition, fetchOffset: next, partitionMaxBytes: 4 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
      })
      const p = body.responses[0]?.partitions[0]
      if (!p || p.errorCode !== 0) throw new Error(`Fetch ${topic}/${partition} failed: error ${p?.errorCode}`)
      const bytes = p.records ?? new Uint8Array(0)
      const before = next
      let pos = 0
      while (pos + BATCH_HEADER_SIZE <= bytes.length) {
        const h = readBatchHeader(bytes, pos)
        const size = LOG_OVERHEAD + h.batchLength
        if (pos + size > bytes.length) break
        if (h.baseOffset + h.lastOffsetDelta >= next) {
          out.codecs.push(compressionOf(h.attributes))
          for (const r of decodeBatchRecords(bytes, pos)) {
            if (r.offset < next) continue
            out.records.push({
              partition,
              offset: r.offset,
              timestamp: r.timestamp,
              key: hex(r.key),
              value: hex(r.value),
              headers: r.headers.map((hd) => [hd.key, hex(hd.value)]),
            })
          }
          next = h.baseOffset + h.lastOffsetDelta + 1
        }
        pos += size
      }
      if (next >= p.highWatermark || next === before) return out
    }
  })
}

export function metadata(address: string, topics: string[]): Promise<MetadataResponse> {
  return withClient(address, async (c) => (await c.request<MetadataResponse>(ApiKey.Metadata, 1, { topics: topics.map((name) => ({ name })) })).body)
}

/** Committed offset per partition of `topic` for `groupId` (-1 when none). */
export function committedOffsets(address: string, groupId: string, topic: string, partitions: number): Promise<number[]> {
  return withClient(address, async (c) => {
    const { body } = await c.request<OffsetFetchResponse>(ApiKey.OffsetFetch, 1, {
      groupId,
      topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, i) => i) }],
    })
    const t = body.topics.find((x) => x.name === topic)
    return Array.from({ length: partitions }, (_, i) => {
      const p = t?.partitions.find((x) => x.partitionIndex === i)
      if (p && p.errorCode !== 0) throw new Error(`OffsetFetch ${groupId} ${topic}/${i}: error ${p.errorCode}`)
      return p?.committedOffset ?? -1
    })
  })
}

/** ConsumerGroupDescribe of one group: error 0 and an epoch above 0 only for a KIP-848 group. */
export function describeConsumerGroup(address: string, groupId: string): Promise<{ errorCode: number; groupEpoch: number }> {
  return withClient(address, async (c) => {
    const { body } = await c.request<ConsumerGroupDescribeResponse>(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [groupId], includeAuthorizedOperations: false })
    const g = body.groups.find((x) => x.groupId === groupId)
    return { errorCode: g?.errorCode ?? -1, groupEpoch: g?.groupEpoch ?? -1 }
  })
}
