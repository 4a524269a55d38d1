// A handler turns one decoded request into one response. The registry of handlers drives the
// ApiVersions response, so what the broker advertises and what it implements cannot disagree.
import type { ApiDescriptor } from '../protocol/types.js'
import type { Lease } from '../storage/buffer-pool.js'
import type { BrokerContext } from './context.js'
import type { SecurityProtocol } from './security/listeners.js'
import type { ConnectionSession } from './security/session.js'

export interface RequestContext {
  apiVersion: number
  correlationId: number
  clientId: string | null
  /** Remote address of the client, as DescribeGroups reports it. */
  clientHost: string
  /**
   * Who sent the request, as KafkaPrincipal's string form ("User:alice"); "User:ANONYMOUS" until
   * the connection authenticates. ACLs are checked against it and clientHost.
   */
  principal: string
  /** The listener the request came in on (`PLAINTEXT`, `CLIENT`, ...) and its security protocol. */
  listenerName: string
  securityProtocol: SecurityProtocol
  /** The connection's security state: its listener's advertised address, SASL progress. */
  session: ConnectionSession
  broker: BrokerContext
}

/**
 * A response whose encoded bytes view pooled memory (Fetch returns stored batches without copying
 * them): the connection releases `leases` once the socket has taken the response, or drops them
 * when the response is never written.
 */
export class LeasedResponse<Res> {
  constructor(
    readonly response: Res,
    readonly leases: readonly Lease[],
  ) {}

  release(): void {
    for (const l of this.leases) l.release()
  }
}

export interface HandlerDef<Req, Res, Out extends HandlerResult<Res> = HandlerResult<Res>> {
  api: ApiDescriptor<Req, Res>
  /** The served version range, inclusive; always within the descriptor's range. */
  versions: [number, number]
  /**
   * False when the handler is done with the request's bytes once its response is ready, so the
   * connection may reuse the memory they lie in (Produce writes the batches to the log before it
   * answers). The default, true, is for handlers that may keep views of the request (group
   * metadata, assignments) after answering it.
   */
  keepsRequestBytes?: boolean
  /**
   * The response may be large (Fetch: up to fetch.max.bytes). A connection starts such a request
   * only once the response to its previous one has been handed to the socket, so a client that
   * pipelines them without reading cannot make the broker hold many responses at once.
   */
  largeResponse?: boolean
  /**
   * Returns the response, or null when the request gets none (Produce with acks=0), or the response
   * with the pooled memory it views.
   */
  handle(req: Req, ctx: RequestContext): Out | Promise<Out>
}

export type HandlerResult<Res> = Res | LeasedResponse<Res> | null

export function defineHandler<Req, Res, Out extends HandlerResult<Res>>(def: HandlerDef<Req, Res, Out>): HandlerDef<Req, Res, Out> {
  const [min, max] = def.versions
  if (min < def.api.minVersion || max > def.api.maxVersion || min > max) {
    throw new Error(`${def.api.name}: served versions ${min}-${max} outside ${def.api.minVersion}-${def.api.maxVersion}`)
  }
  return def
}
