// Maps failures from the storage layer and coordinators to Kafka error codes. Storage errors carry
// the Kafka error name; anything else is a bug and becomes UNKNOWN_SERVER_ERROR.
import { ErrorCode } from '../protocol/errors.js'

export interface KafkaFailure {
  code: number
  message: string
}

export function toKafkaError(err: unknown): KafkaFailure {
  const name = (err as { kafkaError?: unknown } | null)?.kafkaError
  if (typeof name === 'string' && name in ErrorCode) {
    return { code: ErrorCode[name as keyof typeof ErrorCode], message: (err as Error).message }
  }
  return { code: ErrorCode.UNKNOWN_SERVER_ERROR, message: err instanceof Error ? err.message : String(err) }
}

export function isUnexpected(f: KafkaFailure): boolean {
  return f.code === ErrorCode.UNKNOWN_SERVER_ERROR
}
