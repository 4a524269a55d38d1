// How the transaction coordinator answers a state change that was not stored, as Kafka's
// TransactionCoordinator maps a failed append to the transaction log.
import { ErrorCode } from '../../protocol/errors.js'
import { KafkaStorageError } from '../../storage/errors.js'
import { KafkaError } from '../errors.js'
import { ProducerIdsUnavailableError } from './producer-ids.js'

/** The state log refused a write (a full disk, too few replicas, a lost leadership): the request fails, the broker does not. */
export function isStoreFailure(err: unknown): boolean {
  return err instanceof KafkaStorageError || err instanceof ProducerIdsUnavailableError || err instanceof KafkaError
}

/** What a request answers when its state change was not stored, as Kafka maps a failed transaction log append. */
export function appendFailureCode(err: unknown): number {
  if (err instanceof ProducerIdsUnavailableError) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
  if (err instanceof KafkaError) {
    switch (err.code) {
      case ErrorCode.COORDINATOR_LOAD_IN_PROGRESS:
        return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      case ErrorCode.NOT_ENOUGH_REPLICAS:
      case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
      case ErrorCode.REQUEST_TIMED_OUT:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
  }
  return ErrorCode.NOT_COORDINATOR
}
