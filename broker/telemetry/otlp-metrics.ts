// Decodes the OpenTelemetry MetricsData protobuf that clients push with PushTelemetry (KIP-714)
// into flat data points. A small hand decoder over the few messages involved rather than a
// protobuf runtime and the OTLP schema: MetricsData > ResourceMetrics > ScopeMetrics > Metric >
// Gauge | Sum | Histogram > data points with attributes. Unknown fields are skipped, as protobuf
// requires; truncated or malformed input throws OtlpDecodeError (the handler answers
// INVALID_RECORD).
//
// Field numbers are opentelemetry/proto/metrics/v1/metrics.proto and common/v1/common.proto.

export class OtlpDecodeError extends Error {}

export type PointKind = 'gauge' | 'counter'

export interface OtlpPoint {
  /** The metric's name; a histogram gives two points, NAME_count and NAME_sum. */
  name: string
  kind: PointKind
  description: string
  attributes: Record<string, string>
  value: number
  /** A delta sum (AGGREGATION_TEMPORALITY_DELTA): to be added to the previous value. */
  delta: boolean
}

const WIRE_VARINT = 0
const WIRE_FIXED64 = 1
const WIRE_BYTES = 2
const WIRE_FIXED32 = 5
const TEMPORALITY_DELTA = 1

class Pb {
  pos: number
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start
  }

  get more(): boolean {
    return this.pos < this.end
  }

  varint(): number {
    let result = 0
    let mul = 1
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OtlpDecodeError('truncated varint')
      const b = this.buf[this.pos++]!
      result += (b & 0x7f) * mul
      if ((b & 0x80) === 0) return result
      mul *= 128
    }
    throw new OtlpDecodeError('varint longer than 10 bytes')
  }

  /** A length-delimited field's extent, as a reader over it. */
  sub(): Pb {
    const len = this.varint()
    if (len > this.end - this.pos) throw new OtlpDecodeError('length past the end of its message')
    const r = new Pb(this.buf, this.pos, this.pos + len)
    this.pos += len
    return r
  }

  string(): string {
    const r = this.sub()
    return Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, r.end - r.pos).toString('utf8')
  }

  private view(n: number): DataView {
    if (n > this.end - this.pos) throw new OtlpDecodeError('truncated fixed-width field')
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n)
    this.pos += n
    return v
  }

  double(): number {
    return this.view(8).getFloat64(0, true)
  }

  int64(): number {
    return Number(this.view(8).getBigInt64(0, true))
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint()
    else if (wire === WIRE_FIXED64) this.view(8)
    else if (wire === WIRE_BYTES) this.sub()
    else if (wire === WIRE_FIXED32) this.view(4)
    else throw new OtlpDecodeError(`unsupported wire type ${wire}`)
  }

  /** Calls `field` for every field of the message; it reads the field, or returns false to skip it. */
  each(field: (num: number, wire: number) => boolean): void {
    while (this.more) {
      const tag = this.varint()
      const num = Math.floor(tag / 8)
      const wire = tag & 7
      if (!field(num, wire)) this.skip(wire)
    }
  }
}

/** The data points of a MetricsData message. */
export function decodeMetricsData(bytes: Uint8Array): OtlpPoint[] {
  const out: OtlpPoint[] = []
  const r = new Pb(bytes)
  r.each((num, wire) => num === 1 && wire === WIRE_BYTES && (resourceMetrics(r.sub(), out), true))
  return out
}

function resourceMetrics(r: Pb, out: OtlpPoint[]): void {
  r.each((num, wire) => num === 2 && wire === WIRE_BYTES && (scopeMetrics(r.sub(), out), true))
}

function scopeMetrics(r: Pb, out: OtlpPoint[]): void {
  r.each((num, wire) => num === 2 && wire === WIRE_BYTES && (metric(r.sub(), out), true))
}

function metric(r: Pb, out: OtlpPoint[]): void {
  let name = ''
  let description = ''
  const bodies: Array<{ kind: 'gauge' | 'sum' | 'histogram'; body: Pb }> = []
  r.each((num, wire) => {
    if (wire !== WIRE_BYTES) return false
    if (num === 1) name = r.string()
    else if (num === 2) description = r.string()
    else if (num === 5) bodies.push({ kind: 'gauge', body: r.sub() })
    else if (num === 7) bodies.push({ kind: 'sum', body: r.sub() })
    else if (num === 9) bodies.push({ kind: 'histogram', body: r.sub() })
    else return false
    return true
  })
  if (name === '') throw new OtlpDecodeError('metric without a name')
  for (const { kind, body } of bodies) {
    const points: Pb[] = []
    let temporality = 0
    let monotonic = false
    body.each((num, wire) => {
      if (num === 1 && wire === WIRE_BYTES) points.push(body.sub())
      else if (num === 2 && wire === WIRE_VARINT && kind !== 'gauge') temporality = body.varint()
      else if (num === 3 && wire === WIRE_VARINT && kind === 'sum') monotonic = body.varint() !== 0
      else return false
      return true
    })
    const delta = temporality === TEMPORALITY_DELTA
    for (const p of points) {
      if (kind === 'histogram') {
        const h = histogramPoint(p)
        out.push({ name: `${name}_count`, kind: 'counter', description, attributes: h.attributes, value: h.count, delta })
        out.push({ name: `${name}_sum`, kind: 'counter', description, attributes: h.attributes, value: h.sum, delta })
      } else {
        const n = numberPoint(p)
        out.push({ name, kind: kind === 'sum' && monotonic ? 'counter' : 'gauge', description, attributes: n.attributes, value: n.value, delta: kind === 'sum' && delta })
      }
    }
  }
}

/** NumberDataPoint: attributes 7, as_double 4, as_int 6. */
function numberPoint(r: Pb): { attributes: Record<string, string>; value: number } {
  const attributes: Record<string, string> = {}
  let value = 0
  r.each((num, wire) => {
    if (num === 7 && wire === WIRE_BYTES) keyValue(r.sub(), attributes)
    else if (num === 4 && wire === WIRE_FIXED64) value = r.double()
    else if (num === 6 && wire === WIRE_FIXED64) value = r.int64()
    else return false
    return true
  })
  return { attributes, value }
}

/** HistogramDataPoint: attributes 9, count 4, sum 5. */
function histogramPoint(r: Pb): { attributes: Record<string, string>; count: number; sum: number } {
  const attributes: Record<string, string> = {}
  let count = 0
  let sum = 0
  r.each((num, wire) => {
    if (num === 9 && wire === WIRE_BYTES) keyValue(r.sub(), attributes)
    else if (num === 4 && wire === WIRE_FIXED64) count = r.int64()
    else if (num === 5 && wire === WIRE_FIXED64) sum = r.double()
    else return false
    return true
  })
  return { attributes, count, sum }
}

/** KeyValue {key 1, value 2: AnyValue {string 1, bool 2, int 3, double 4}}, scalar values only. */
function keyValue(r: Pb, into: Record<string, string>): void {
  let key = ''
  let value: string | undefined
  r.each((num, wire) => {
    if (num === 1 && wire === WIRE_BYTES) key = r.string()
    else if (num === 2 && wire === WIRE_BYTES) {
      const v = r.sub()
      v.each((vn, vw) => {
        if (vn === 1 && vw === WIRE_BYTES) value = v.string()
        else if (vn === 2 && vw === WIRE_VARINT) value = String(v.varint() !== 0)
        else if (vn === 3 && vw === WIRE_VARINT) value = String(v.varint())
        else if (vn === 4 && vw === WIRE_FIXED64) value = String(v.double())
        else return false
        return true
      })
    } else return false
    return true
  })
  if (key !== '' && value !== undefined) into[key] = value
}
