import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { isUnexpected, toKafkaError } from '../../broker/errors.js'
import { CorruptRecordError, KafkaStorageError, StorageError, UnknownTopicError } from '../../storage/errors.js'
import { InvalidProducerEpochError } from '../../storage/producer-state.js'

describe('toKafkaError', () => {
  it('maps storage errors to the code their name spells', () => {
    expect(toKafkaError(new UnknownTopicError('x'))).toEqual({ code: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: 'x' })
    expect(toKafkaError(new CorruptRecordError('c')).code).toBe(ErrorCode.CORRUPT_MESSAGE)
    expect(toKafkaError(new KafkaStorageError('d', { cause: new Error('EIO') })).code).toBe(ErrorCode.KAFKA_STORAGE_ERROR)
    expect(toKafkaError(new InvalidProducerEpochError('e')).code).toBe(ErrorCode.INVALID_PRODUCER_EPOCH)
  })

  it('turns anything else into UNKNOWN_SERVER_ERROR', () => {
    const f = toKafkaError(new TypeError('bug'))
    expect(f).toEqual({ code: ErrorCode.UNKNOWN_SERVER_ERROR, message: 'bug' })
    expect(isUnexpected(f)).toBe(true)
    expect(toKafkaError({ kafkaError: 'UNKNOWN_TOPIC_OR_PARTITION' }).code).toBe(ErrorCode.UNKNOWN_SERVER_ERROR)
  })

  it('does not compile a misspelt error name', () => {
    // @ts-expect-error 'UNKNOWN_TOPIC' is not a Kafka error name (typecheck fails if it compiles)
    const e = new StorageError('UNKNOWN_TOPIC', 'misspelt')
    expect(e.kafkaError).toBe('UNKNOWN_TOPIC')
  })
})
