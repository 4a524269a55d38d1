// Maps failures from the storage layer and coordinators to Kafka error codes. Storage errors carry
// a typed Kafka error name; anything else is a bug and becomes UNKNOWN_SERVER_ERROR.
import { ErrorCode } from '../protocol/errors.js'
import { StorageError, type StorageErrorName } from '../storage/errors.js'

export interface KafkaFailure {
  code: number
  message: string
}

/** The wire code of a storage error name; a name ErrorCode lacks does not compile here. */
export function storageErrorCode(name: StorageErrorName): number {
  return ErrorCode[name]
}

/** A failure that already carries its Kafka error code (cluster metadata, replication). */
export class KafkaError extends Error implements KafkaFailure {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
    this.name = 'KafkaError'
  }
}

export function toKafkaError(err: unknown): KafkaFailure {
  if (err instanceof KafkaError) return { code: err.code, message: err.message }
  if (err instanceof StorageError) return { code: storageErrorCode(err.kafkaError), message: err.message }
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: err instanceof Error ? err.message : String(err) }
}

export function isUnexpected(f: KafkaFailure): boolean {
  return f.code === ErrorCode.UNKNOWN_SERVER_ERROR
}
