// Failures of the admin client, shaped so a caller can tell "cannot connect" from "the broker
// said no" without parsing messages. Network failures carry the Node error code (`code`) and
// the broker address (`broker`); broker refusals carry Kafka's error name (`type`) and number.

import { errorName } from '../../protocol/errors.js'

/** Node's network error codes in words, for messages. */
export const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
}

/** No TCP connection could be made (refused, unresolvable, or not within the connect timeout). */
export class BrokerUnreachableError extends Error {
  readonly broker: string
  readonly code: string | undefined
  constructor(broker: string, code: string | undefined, options?: { cause?: unknown }) {
    super(`broker unreachable at ${broker}${code !== undefined ? `: ${NETWORK_REASONS[code] ?? code}` : ''}`, options)
    this.name = 'BrokerUnreachableError'
    this.broker = broker
    this.code = code
  }
}

/** The connection dropped, or a request got no answer in time. */
export class BrokerConnectionError extends Error {
  readonly broker: string
  constructor(broker: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BrokerConnectionError'
    this.broker = broker
  }
}

/** The broker refused this client's SASL login (wrong credentials, or a mechanism it does not offer). */
export class SaslAuthenticationError extends BrokerConnectionError {
  constructor(broker: string, message: string, options?: { cause?: unknown }) {
    super(broker, message, options)
    this.name = 'SaslAuthenticationError'
  }
}

/** The broker does not serve an API, or no version both sides speak. */
export class UnsupportedApiError extends Error {
  readonly broker: string
  readonly apiKey: number
  constructor(broker: string, apiKey: number, message: string) {
    super(message)
    this.name = 'UnsupportedApiError'
    this.broker = broker
    this.apiKey = apiKey
  }
}

/** A response that does not decode under the version it was requested with. */
export class MalformedResponseError extends Error {
  readonly broker: string
  constructor(broker: string, message: string) {
    super(message)
    this.name = 'MalformedResponseError'
    this.broker = broker
  }
}

/** A non-zero Kafka error code in a response. */
export class KafkaProtocolError extends Error {
  readonly code: number
  readonly type: string
  /** The broker's own words, when it sent any. */
  readonly serverMessage: string | null
  constructor(code: number, context: string, serverMessage?: string | null) {
    const type = errorName(code)
    super(`${context}: ${type}${serverMessage ? ` (${serverMessage})` : ''}`)
    this.name = 'KafkaProtocolError'
    this.code = code
    this.type = type
    this.serverMessage = serverMessage ?? null
  }
}
