// Record-level checks that need the records themselves, not just batch headers. Only topics whose
// settings require them pay for decoding (and decompressing) a batch.
import { iterateRecords, RecordDecodeError } from '../protocol/record-batch.js'

export interface RecordError {
  batchIndex: number
  batchIndexErrorMessage: string | null
}

/**
 * A compacted topic keeps the latest record per key, so a record without a key is refused, and
 * with it the whole batch (Kafka's LogValidator). Returns one error per keyless record, with its
 * index in the batch; an empty list when every record has a key.
 */
export function keylessRecords(records: Uint8Array, batchPositions: readonly number[], partitionName: string): RecordError[] {
  const errors: RecordError[] = []
  for (const pos of batchPositions) {
    let index = 0
    try {
      for (const r of iterateRecords(records, pos)) {
        if (r.key === null) {
          errors.push({ batchIndex: index, batchIndexErrorMessage: `Compacted topic cannot accept message without key in topic partition ${partitionName}.` })
        }
        index++
      }
    } catch (err) {
      if (!(err instanceof RecordDecodeError)) throw err
      errors.push({ batchIndex: index, batchIndexErrorMessage: `Record is corrupt: ${err.message}` })
    }
  }
  return errors
}

/** Kafka's summary line for a partition whose batch was refused for record errors. */
export function recordErrorsMessage(errors: readonly RecordError[]): string {
  const shown = errors
    .slice(0, 3)
    .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.batchIndexErrorMessage}')`)
    .join(', ')
  return `One or more records have been rejected due to ${errors.length} record errors in total, and only showing the first three errors at most: [${shown}]`
}
