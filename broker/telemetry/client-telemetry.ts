// Client telemetry (KIP-714): what clients push with PushTelemetry, kept per client instance for
// the metrics endpoint to show labelled by client id. One subscription for every client: all
// metrics (the "" prefix), cumulative, every pushIntervalMs. Kafka configures subscriptions with
// client-metrics resources (IncrementalAlterConfigs); Samsa has the one.
//
// The latest value of each series is kept; a client that stops pushing is forgotten after three
// intervals, one that says it is terminating at once. Instance ids are the broker's to hand out:
// a GetTelemetrySubscriptions with the zero id gets a new one.
import { randomUUID } from 'node:crypto'
import { ErrorCode } from '../../protocol/errors.js'
import { Codec, decompress } from '../../protocol/compression.js'
import { decodeMetricsData, type OtlpPoint } from './otlp-metrics.js'

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

/** Kafka's order of preference: zstd, lz4, gzip, snappy (uncompressed is always accepted). */
export const ACCEPTED_COMPRESSION = [Codec.Zstd, Codec.Lz4, Codec.Gzip, Codec.Snappy]

export interface ClientTelemetryOptions {
  pushIntervalMs: number
  /** The largest payload accepted, compressed (Kafka's telemetry.max.bytes). */
  maxBytes: number
}

export interface ClientSeries {
  name: string
  kind: OtlpPoint['kind']
  description: string
  labels: Record<string, string>
  value: number
}

interface Instance {
  clientId: string
  lastPush: number
  series: Map<string, ClientSeries>
}

export class ClientTelemetry {
  /** Changes with the settings, so clients holding an older subscription fetch the new one. */
  readonly subscriptionId: number
  private readonly instances = new Map<string, Instance>()

  constructor(readonly opts: ClientTelemetryOptions) {
    this.subscriptionId = (Math.imul(opts.pushIntervalMs, 2654435761) ^ opts.maxBytes) | 0 || 1
  }

  /** The instance id a client is to use: its own, or a new one for the zero id. */
  subscribe(clientInstanceId: string): string {
    return clientInstanceId === ZERO_UUID ? randomUUID() : clientInstanceId
  }

  /** Stores one push; the error code the PushTelemetry response carries. */
  push(p: { clientInstanceId: string; subscriptionId: number; clientId: string; terminating: boolean; compressionType: number; metrics: Uint8Array }, now = Date.now()): number {
    if (p.clientInstanceId === ZERO_UUID) return ErrorCode.INVALID_REQUEST
    if (p.subscriptionId !== this.subscriptionId) return ErrorCode.UNKNOWN_SUBSCRIPTION_ID
    if (p.metrics.length > this.opts.maxBytes) return ErrorCode.TELEMETRY_TOO_LARGE
    if (p.compressionType !== Codec.None && !ACCEPTED_COMPRESSION.includes(p.compressionType as never)) return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE
    if (p.terminating) {
      this.instances.delete(p.clientInstanceId)
      return ErrorCode.NONE
    }
    let points: OtlpPoint[]
    try {
      const raw = p.compressionType === Codec.None ? p.metrics : decompress(p.compressionType, p.metrics, this.opts.maxBytes * 64)
      points = decodeMetricsData(raw)
    } catch {
      // Not a codec's output or not MetricsData (OtlpDecodeError): Kafka answers INVALID_RECORD.
      return ErrorCode.INVALID_RECORD
    }
    let inst = this.instances.get(p.clientInstanceId)
    if (inst === undefined) {
      inst = { clientId: p.clientId, lastPush: now, series: new Map() }
      this.instances.set(p.clientInstanceId, inst)
    }
    inst.clientId = p.clientId
    inst.lastPush = now
    for (const point of points) {
      const labels = { ...point.attributes, client_id: p.clientId, client_instance_id: p.clientInstanceId }
      const key = `${point.name}\u0000${JSON.stringify(point.attributes)}`
      const prev = inst.series.get(key)
      const value = point.delta && prev !== undefined ? prev.value + point.value : point.value
      inst.series.set(key, { name: point.name, kind: point.kind, description: point.description, labels, value })
    }
    return ErrorCode.NONE
  }

  /** Every stored series of the clients still pushing. */
  series(now = Date.now()): ClientSeries[] {
    const out: ClientSeries[] = []
    for (const [id, inst] of this.instances) {
      if (now - inst.lastPush > 3 * this.opts.pushIntervalMs) {
        this.instances.delete(id)
        continue
      }
      out.push(...inst.series.values())
    }
    return out
  }

  get clientCount(): number {
    return this.instances.size
  }
}
