import { describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { CliError, describeError, ExitCode } from '../../cli/lib/errors.js'

describe('describeError', () => {
  it('names the unreachable broker', () => {
    const conn = new kafkajs.KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:1', { broker: '127.0.0.1:1', code: 'ECONNREFUSED' })
    const wrapped = new kafkajs.KafkaJSNumberOfRetriesExceeded(conn, { retryCount: 3, retryTime: 100 })
    expect(describeError(wrapped, 'localhost:9092')).toEqual({ message: 'cannot reach broker at 127.0.0.1:1: connection refused', exitCode: ExitCode.Unavailable })
  })

  it('explains protocol errors by their Kafka name', () => {
    const err = new kafkajs.KafkaJSProtocolError({ message: 'This server does not host this topic-partition', type: 'UNKNOWN_TOPIC_OR_PARTITION', code: 3 } as unknown as Error)
    expect(describeError(err).message).toBe('unknown topic or partition (UNKNOWN_TOPIC_OR_PARTITION)')
  })

  it('passes CLI errors through with their exit code', () => {
    expect(describeError(new CliError("unknown topic 'x'", ExitCode.Failure))).toEqual({ message: "unknown topic 'x'", exitCode: 1 })
  })

  it('keeps other messages to one line', () => {
    expect(describeError(new Error('first\n  second')).message).toBe('first second')
  })
})
