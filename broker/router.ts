// Decodes a request frame, finds its handler, runs it, and encodes the response. Everything about
// the request and response headers lives here; handlers only see typed bodies.
import type { Logger } from 'pino'
import { Reader } from '../protocol/reader.js'
import type { Writer } from '../protocol/writer.js'
import type { ApiDescriptor } from '../protocol/types.js'
import { ErrorCode } from '../protocol/errors.js'
import { decodeRequestHeader } from '../protocol/generated/request-header.js'
import { ApiKey, requestHeaderVersion, responseHeaderVersion } from '../protocol/generated/index.js'
import { ApiVersionsApi, type ApiVersionsResponse } from '../protocol/generated/api-versions.js'
import type { HandlerDef, RequestContext } from './handler.js'
import type { BrokerContext } from './context.js'
import { type ConnectionSession, plaintextSession } from './security/session.js'
import { authenticate } from './security/sasl/authenticator.js'

/** The principal of a connection that has not authenticated (Kafka's KafkaPrincipal.ANONYMOUS). */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS'

/** What a SASL listener serves before authentication completes; anything else closes the connection. */
const BEFORE_AUTHENTICATION = new Set<number>([ApiKey.ApiVersions, ApiKey.SaslHandshake, ApiKey.SaslAuthenticate])

export type Pending =
  | {
      kind: 'ok'
      api: ApiDescriptor<unknown, unknown>
      apiName: string
      apiVersion: number
      correlationId: number
      result: unknown
      /** The handler may keep views of the request's bytes after answering it (HandlerDef). */
      keepsRequestBytes: boolean
      /** The response may be large (HandlerDef). */
      largeResponse: boolean
    }
  | {
      /** A bare SASL token after a v0 SaslHandshake, answered by a bare token (null: close). */
      kind: 'sasl-token'
      apiName: string
      result: Promise<Buffer | null>
      keepsRequestBytes: false
      largeResponse: false
    }
  | { kind: 'close'; reason: string; apiName?: string }

export interface ServedApi {
  apiKey: number
  minVersion: number
  maxVersion: number
}

export class Router {
  private readonly byKey = new Map<number, HandlerDef<unknown, unknown>>()
  readonly served: ServedApi[]

  constructor(
    handlers: ReadonlyArray<HandlerDef<any, any>>,
    private readonly broker: () => BrokerContext,
    private readonly logger: Logger,
  ) {
    for (const h of handlers) {
      if (this.byKey.has(h.api.apiKey)) throw new Error(`two handlers for ${h.api.name}`)
      this.byKey.set(h.api.apiKey, h)
    }
    this.served = [...this.byKey.values()]
      .map((h) => ({ apiKey: h.api.apiKey, minVersion: h.versions[0], maxVersion: h.versions[1] }))
      .sort((a, b) => a.apiKey - b.apiKey)
  }

  route(frame: Buffer, clientHost: string, principal: string = ANONYMOUS_PRINCIPAL, session?: ConnectionSession): Pending {
    if (frame.length < 8) return { kind: 'close', reason: `frame of ${frame.length} bytes is shorter than a request header` }
    const apiKey = frame.readInt16BE(0)
    const apiVersion = frame.readInt16BE(2)
    const correlationId = frame.readInt32BE(4)
    const handler = this.byKey.get(apiKey)
    if (!handler) return { kind: 'close', reason: `unsupported API key ${apiKey}` }
    const name = handler.api.name
    if (session !== undefined && !session.authenticated && !BEFORE_AUTHENTICATION.has(apiKey)) {
      return { kind: 'close', reason: `${name} before SASL authentication completed`, apiName: name }
    }
    if (apiVersion < handler.versions[0] || apiVersion > handler.versions[1]) {
      if (apiKey === ApiKey.ApiVersions) return this.unsupportedApiVersions(correlationId)
      return { kind: 'close', reason: `unsupported ${name} version ${apiVersion}`, apiName: name }
    }
    const r = new Reader(frame)
    const header = decodeRequestHeader(r, requestHeaderVersion(apiKey, apiVersion))
    const body = handler.api.decodeRequest(r, apiVersion)
    if (r.bad) return { kind: 'close', reason: `malformed ${name} v${apiVersion} request: ${r.error}`, apiName: name }
    const ctx: RequestContext = {
      apiVersion,
      correlationId,
      clientId: header.clientId,
      clientHost,
      principal,
      listenerName: session?.listenerName ?? 'PLAINTEXT',
      securityProtocol: session?.securityProtocol ?? 'PLAINTEXT',
      session: session ?? plaintextSession(clientHost),
      broker: this.broker(),
    }
    let result: unknown
    try {
      result = handler.handle(body, ctx)
    } catch (err) {
      this.logger.error({ err, api: name }, 'request handler failed')
      return { kind: 'close', reason: `${name} handler failed`, apiName: name }
    }
    return { kind: 'ok', api: handler.api, apiName: name, apiVersion, correlationId, result, keepsRequestBytes: handler.keepsRequestBytes !== false, largeResponse: handler.largeResponse === true }
  }

  /** Runs a bare SASL token (the frames after a v0 SaslHandshake) through the session's mechanism. */
  saslToken(token: Buffer, session: ConnectionSession): Pending {
    const b = this.broker()
    const deps = { config: b.config, credentials: b.scramCredentials, failedLogins: b.failedLogins, logger: this.logger, metrics: b.metrics }
    // With bare tokens there is no error response: a failed login just closes the connection.
    const result = authenticate(session, token, deps).then((o) => (o.ok ? o.token : null))
    return { kind: 'sasl-token', apiName: 'SaslAuthenticate', result, keepsRequestBytes: false, largeResponse: false }
  }

  /** True when requests with this API key may get large responses (HandlerDef largeResponse). */
  largeResponse(apiKey: number): boolean {
    return this.byKey.get(apiKey)?.largeResponse === true
  }

  /** Writes one response frame (size, header, body) and returns its chunks. */
  encode(w: Writer, p: Pending, response: unknown): Uint8Array[] {
    if (p.kind === 'sasl-token') {
      w.writeBytes(response as Buffer)
      return w.finish()
    }
    if (p.kind !== 'ok') throw new Error('no response for a closed request')
    const size = w.reserveInt32()
    const start = w.length
    w.writeInt32(p.correlationId)
    if (responseHeaderVersion(p.api.apiKey, p.apiVersion) >= 1) w.writeUnsignedVarInt(0)
    p.api.encodeResponse(w, p.apiVersion, response)
    w.patchInt32(size, w.length - start)
    return w.finish()
  }

  /**
   * A client that opens with an ApiVersions version we do not know gets UNSUPPORTED_VERSION in a
   * v0 body listing our ranges, so it can retry with a version we serve (KIP-511).
   */
  private unsupportedApiVersions(correlationId: number): Pending {
    const response: ApiVersionsResponse = {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: this.served.map((s) => ({ ...s })),
      throttleTimeMs: 0,
    } as ApiVersionsResponse
    return {
      kind: 'ok',
      api: ApiVersionsApi as ApiDescriptor<unknown, unknown>,
      apiName: ApiVersionsApi.name,
      apiVersion: 0,
      correlationId,
      result: response,
      keepsRequestBytes: false,
      largeResponse: false,
    }
  }
}
