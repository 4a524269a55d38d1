// Reading a partition back as a consumer would see it, by plain Fetch requests, for tests that
// compare what was acknowledged with what a broker serves or keeps.
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { FetchApi } from '../../protocol/generated/fetch.js'
import { batchSizeAt } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

/** Offset and value of every record in a run of whole batches. */
export function recordsOf(bytes: Uint8Array): Array<[number, string]> {
  const out: Array<[number, string]> = []
  for (let pos = 0; pos < bytes.length; pos += batchSizeAt(bytes, pos)) {
    for (const r of iterateRecords(bytes, pos)) out.push([Number(r.offset), Buffer.from(r.value!).toString()])
  }
  return out
}

/** Every record of one partition from offset 0 up to the high watermark, by plain Fetch from `address` (its leader). */
export async function readPartition(address: string, topic: string, partition: number): Promise<{ records: Array<[number, string]>; highWatermark: number }> {
  const conn = await BrokerConnection.connect(address, { clientId: 'partition-reader', connectTimeoutMs: 5000, requestTimeoutMs: 30_000 })
  const records: Array<[number, string]> = []
  let offset = 0
  let highWatermark = -1
  try {
    for (;;) {
      const res = await conn.request(FetchApi, 12, {
        clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 22,
        isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
        topics: [{ topic, topicId: ZERO_UUID, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 22, replicaDirectoryId: ZERO_UUID }] }],
      })
      const p = res.responses[0]!.partitions[0]!
      if (p.errorCode !== ErrorCode.NONE) throw new Error(`fetch of ${topic}-${partition} at ${offset} from ${address} answered error ${p.errorCode}`)
      highWatermark = Number(p.highWatermark)
      const bytes = p.records ?? new Uint8Array()
      for (const [o, v] of recordsOf(bytes)) {
        if (o < offset) continue
        records.push([o, v])
        offset = o + 1
      }
      if (offset >= highWatermark || bytes.length === 0) break
    }
  } finally {
    conn.close()
  }
  return { records, highWatermark }
}
