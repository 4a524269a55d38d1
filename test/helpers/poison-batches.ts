// Batches whose header and CRC are valid but whose records are not: what a buggy or hostile
// client can send, and what the log's validator must refuse before anything is stored.
import { BATCH_HEADER_SIZE, Compression, LOG_OVERHEAD, computeBatchCrc } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'

/** `batch` with its records section replaced by `section`; length and CRC fixed up to match. */
export function withRecordsSection(batch: Uint8Array, section: Uint8Array): Buffer {
  const out = Buffer.concat([batch.subarray(0, BATCH_HEADER_SIZE), section])
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8)
  out.writeUInt32BE(computeBatchCrc(out), 17)
  return out
}

/** Two records declared, and the bytes 200..223 where they should be. */
export function garbageRecordsBatch(): Buffer {
  const header = encodeBatch([{ value: 'a' }, { value: 'b' }])
  return withRecordsSection(header, Uint8Array.from({ length: 24 }, (_, i) => 200 + i))
}

/** An lz4 batch whose payload is not lz4. */
export function notLz4Batch(): Buffer {
  const header = encodeBatch([{ value: 'a' }, { value: 'b' }], { compression: Compression.Lz4 })
  return withRecordsSection(header, Buffer.from('this payload is not an lz4 frame at all'))
}
