// Storage errors carry the Kafka error name so the broker can map them to wire codes without
// knowing storage internals. The names are a closed union owned here (storage does not import the
// protocol's error table); broker/errors.ts indexes ErrorCode with them, so a name Kafka does not
// have fails to compile there instead of becoming UNKNOWN_SERVER_ERROR at run time.

/** Every Kafka error name the storage layer raises, spelled as Kafka's Errors enum spells it. */
export type StorageErrorName =
  | 'OFFSET_OUT_OF_RANGE'
  | 'CORRUPT_MESSAGE'
  | 'UNKNOWN_TOPIC_OR_PARTITION'
  | 'MESSAGE_TOO_LARGE'
  | 'INVALID_TOPIC_EXCEPTION'
  | 'TOPIC_ALREADY_EXISTS'
  | 'INVALID_PARTITIONS'
  | 'INVALID_CONFIG'
  | 'POLICY_VIOLATION'
  | 'KAFKA_STORAGE_ERROR'
  | 'OUT_OF_ORDER_SEQUENCE_NUMBER'
  | 'INVALID_PRODUCER_EPOCH'
  | 'INVALID_TXN_STATE'
  | 'TRANSACTION_COORDINATOR_FENCED'
  | 'INVALID_RECORD'
  | 'INVALID_TIMESTAMP'
  | 'NOT_LEADER_OR_FOLLOWER'

export class StorageError extends Error {
  readonly kafkaError: StorageErrorName
  constructor(kafkaError: StorageErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.kafkaError = kafkaError
    this.name = new.target.name
  }
}

export class OffsetOutOfRangeError extends StorageError {
  constructor(message: string) {
    super('OFFSET_OUT_OF_RANGE', message)
  }
}

/** A write to a log that follows another broker's: only its replica fetcher appends to it. */
export class NotLeaderError extends StorageError {
  constructor(message: string) {
    super('NOT_LEADER_OR_FOLLOWER', message)
  }
}

export class KafkaStorageError extends StorageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KAFKA_STORAGE_ERROR', message, options)
  }
}

export class InvalidTopicError extends StorageError {
  constructor(message: string) {
    super('INVALID_TOPIC_EXCEPTION', message)
  }
}

export class TopicExistsError extends StorageError {
  constructor(message: string) {
    super('TOPIC_ALREADY_EXISTS', message)
  }
}

export class UnknownTopicError extends StorageError {
  constructor(message: string) {
    super('UNKNOWN_TOPIC_OR_PARTITION', message)
  }
}

export class InvalidConfigError extends StorageError {
  constructor(message: string) {
    super('INVALID_CONFIG', message)
  }
}

export class InvalidPartitionsError extends StorageError {
  constructor(message: string) {
    super('INVALID_PARTITIONS', message)
  }
}

export class PolicyViolationError extends StorageError {
  constructor(message: string) {
    super('POLICY_VIOLATION', message)
  }
}

/** A batch handed to append() that is not a whole, well-formed magic-2 batch. */
export class CorruptRecordError extends StorageError {
  constructor(message: string) {
    super('CORRUPT_MESSAGE', message)
  }
}

/** Another broker process already owns the data directory. */
export class DataDirLockedError extends StorageError {
  constructor(message: string) {
    super('KAFKA_STORAGE_ERROR', message)
  }
}

/** An I/O error from a disk out of space (or quota): what is stored is intact, more cannot be. */
export function isOutOfSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}
