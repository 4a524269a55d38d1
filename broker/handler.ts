// A handler turns one decoded request into one response. The registry of handlers drives the
// ApiVersions response, so what the broker advertises and what it implements cannot disagree.
import type { ApiDescriptor } from '../protocol/types.js'
import type { BrokerContext } from './context.js'

export interface RequestContext {
  apiVersion: number
  correlationId: number
  clientId: string | null
  /** Remote address of the client, as DescribeGroups reports it. */
  clientHost: string
  broker: BrokerContext
}

export interface HandlerDef<Req, Res> {
  api: ApiDescriptor<Req, Res>
  /** The served version range, inclusive; always within the descriptor's range. */
  versions: [number, number]
  /** Returns the response, or null when the request gets none (Produce with acks=0). */
  handle(req: Req, ctx: RequestContext): Res | null | Promise<Res | null>
}

export function defineHandler<Req, Res>(def: HandlerDef<Req, Res>): HandlerDef<Req, Res> {
  const [min, max] = def.versions
  if (min < def.api.minVersion || max > def.api.maxVersion || min > max) {
    throw new Error(`${def.api.name}: served versions ${min}-${max} outside ${def.api.minVersion}-${def.api.maxVersion}`)
  }
  return def
}
