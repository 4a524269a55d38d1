// Storage errors carry the Kafka error name so the broker can map them to wire codes without
// knowing storage internals.

export class StorageError extends Error {
  readonly kafkaError: string
  constructor(kafkaError: string, message: string, options?: { cause?: unknown }) {
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

/** Appended batches exceed max.message.bytes. */
export class RecordTooLargeError extends StorageError {
  constructor(message: string) {
    super('MESSAGE_TOO_LARGE', message)
  }
}

/** Another broker process already owns the data directory. */
export class DataDirLockedError extends StorageError {
  constructor(message: string) {
    super('KAFKA_STORAGE_ERROR', message)
  }
}
