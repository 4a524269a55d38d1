// Every generated message, in every version, survives encode -> decode unchanged for random
// values that are legal in that version (Kafka's MessageTest, driven by fast-check).
import { resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { API_NAMES } from '../../protocol/codegen/main.js'
import { intersect, loadMessage, type FieldSpec, type FieldType, type MessageSpec, type StructSpec } from '../../protocol/codegen/schema.js'
import * as generated from '../../protocol/generated/index.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'

const SCHEMAS = process.env.KAFKA_SCHEMAS ?? resolve(import.meta.dirname, '../../../shared/kafka-protocol/messages')
const codecs = generated as unknown as Record<string, (...args: unknown[]) => unknown>

function inRange(v: number, r: { lo: number; hi: number } | null): boolean {
  return r !== null && v >= r.lo && v <= r.hi
}

function isFlexible(msg: MessageSpec, f: FieldSpec | null, v: number): boolean {
  return inRange(v, msg.flexible) && !(f?.neverFlexible ?? false)
}

function present(msg: MessageSpec, f: FieldSpec, v: number): boolean {
  if (!inRange(v, f.versions)) return false
  if (f.tag === undefined) return true
  return inRange(v, f.tagged) && inRange(v, msg.flexible)
}

const text = fc.string({ unit: 'grapheme', maxLength: 12 })
const bytes = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b))

function typeArb(msg: MessageSpec, t: FieldType, v: number, depth: number): fc.Arbitrary<unknown> {
  if (t.kind === 'struct') return structArb(msg, t.struct, v, depth + 1)
  if (t.kind === 'array') return fc.array(typeArb(msg, t.element, v, depth), { maxLength: depth > 2 ? 1 : 3 })
  switch (t.name) {
    case 'int8':
      return fc.integer({ min: -128, max: 127 })
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 })
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 })
    case 'int32':
      return fc.integer()
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 })
    case 'int64':
      return fc.oneof(fc.maxSafeInteger(), fc.constantFrom(-1, 0, 2 ** 32, -(2 ** 32) - 1))
    case 'float64':
      return fc.double()
    case 'bool':
      return fc.boolean()
    case 'string':
      return text
    case 'uuid':
      return fc.uuid()
    case 'bytes':
    case 'records':
      return bytes
  }
}

const unknownTags = fc
  .uniqueArray(fc.integer({ min: 1000, max: 1100 }), { minLength: 1, maxLength: 3 })
  .chain((tags) => fc.tuple(...tags.sort((a, b) => a - b).map((tag) => bytes.map((data) => ({ tag, data })))))

function structArb(msg: MessageSpec, s: StructSpec, v: number, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const defaults = codecs[`default${s.name}`]!() as Record<string, unknown>
  const shape: Record<string, fc.Arbitrary<unknown>> = {}
  for (const f of s.fields) {
    if (!present(msg, f, v)) {
      shape[f.prop] = fc.constant(defaults[f.prop])
      continue
    }
    const arb = typeArb(msg, f.type, v, depth)
    const canBeNull =
      inRange(v, f.nullable) && !(f.type.kind === 'primitive' && !['string', 'bytes', 'records'].includes(f.type.name))
    shape[f.prop] = canBeNull ? fc.option(arb, { nil: null, freq: 4 }) : arb
  }
  if (isFlexible(msg, null, v)) shape['unknownTaggedFields'] = fc.option(unknownTags, { nil: undefined, freq: 3 })
  return fc.record(shape, { requiredKeys: Object.keys(shape).filter((k) => k !== 'unknownTaggedFields') })
}

function roundTrip(msg: MessageSpec, v: number, value: unknown): { decoded: unknown; reader: Reader; bytes: Buffer } {
  const w = new Writer(64)
  codecs[`encode${msg.name}`]!(w, v, value)
  const bytes = w.toBuffer()
  const reader = new Reader(bytes)
  const decoded = codecs[`decode${msg.name}`]!(reader, v)
  return { decoded, reader, bytes }
}

const messages: MessageSpec[] = [
  ...API_NAMES.flatMap((n) => [loadMessage(SCHEMAS, `${n}Request`), loadMessage(SCHEMAS, `${n}Response`)]),
  loadMessage(SCHEMAS, 'RequestHeader'),
  loadMessage(SCHEMAS, 'ResponseHeader'),
  loadMessage(SCHEMAS, 'ConsumerProtocolSubscription'),
  loadMessage(SCHEMAS, 'ConsumerProtocolAssignment'),
]

describe('round trip of every message in every version', () => {
  for (const msg of messages) {
    it(`${msg.name} v${msg.valid.lo}-${msg.valid.hi}`, () => {
      for (let v = msg.valid.lo; v <= msg.valid.hi; v++) {
        fc.assert(
          fc.property(structArb(msg, msg.root, v, 0), (value) => {
            const { decoded, reader } = roundTrip(msg, v, value)
            expect(reader.error).toBeUndefined()
            expect(reader.remaining()).toBe(0)
            expect(decoded).toEqual(value)
          }),
          { numRuns: 40, seed: 42 + v },
        )
      }
    })
  }
})

describe('schema defaults', () => {
  it('decoding a version without a field yields its default', () => {
    // TransactionalId appears in Produce v3; v2 must decode it as its null default.
    const w = new Writer()
    generated.encodeProduceRequest(w, 2, { transactionalId: 'tx', acks: 1, timeoutMs: 5, topicData: [] })
    const decoded = generated.decodeProduceRequest(new Reader(w.toBuffer()), 2)
    expect(decoded.transactionalId).toBeNull()
    // LastStableOffset defaults to -1 when absent (Fetch response before v4).
    const w2 = new Writer()
    generated.encodeFetchResponse(w2, 3, {
      responses: [{ topic: 't', partitions: [{ partitionIndex: 0, errorCode: 0, highWatermark: 7, records: null }] }],
    } as unknown as generated.FetchResponse)
    const f = generated.decodeFetchResponse(new Reader(w2.toBuffer()), 3)
    expect(f.responses[0]!.partitions[0]!.lastStableOffset).toBe(-1)
    expect(f.responses[0]!.partitions[0]!.preferredReadReplica).toBe(-1)
    expect(f.responses[0]!.partitions[0]!.highWatermark).toBe(7)
  })

  it('encoders treat missing fields as their defaults', () => {
    const w = new Writer()
    generated.encodeMetadataRequest(w, 12, {} as generated.MetadataRequest)
    const m = generated.decodeMetadataRequest(new Reader(w.toBuffer()), 12)
    expect(m).toEqual(generated.defaultMetadataRequest())
  })

  it('tagged fields equal to their default are not written', () => {
    const w = new Writer()
    const base = { throttleTimeMs: 0, brokers: [], clusterId: null, controllerId: -1, topics: [], clusterAuthorizedOperations: 0 }
    generated.encodeMetadataResponse(w, 12, base as generated.MetadataResponse)
    const plain = w.toBuffer()
    // The last byte is the empty tagged-field section.
    expect(plain[plain.length - 1]).toBe(0)
  })

  it('known tagged fields are written in tag order and read back', () => {
    const w = new Writer()
    const value = generated.defaultFetchResponse()
    value.responses = [
      {
        topic: '',
        topicId: '0f2d7bb5-4b0e-4f8b-9a55-8a1f0a1c2d3e',
        partitions: [
          {
            ...generated.defaultFetchResponsePartitionData(),
            snapshotId: { endOffset: 9, epoch: 2 },
            divergingEpoch: { epoch: 3, endOffset: 100 },
          },
        ],
      },
    ]
    generated.encodeFetchResponse(w, 16, value)
    const bytes = w.toBuffer()
    const decoded = generated.decodeFetchResponse(new Reader(bytes), 16)
    expect(decoded.responses[0]!.partitions[0]!.divergingEpoch).toEqual({ epoch: 3, endOffset: 100, unknownTaggedFields: undefined })
    expect(decoded.responses[0]!.partitions[0]!.snapshotId).toEqual({ endOffset: 9, epoch: 2, unknownTaggedFields: undefined })
    expect(decoded.responses[0]!.partitions[0]!.currentLeader).toEqual({ leaderId: -1, leaderEpoch: -1, unknownTaggedFields: undefined })
    // Tags 0 and 2 appear, 0 first: find "count=2, tag=0" in the partition's tag section.
    const hex = bytes.toString('hex')
    expect(hex).toContain('02' + '000d' + '00000003' + '0000000000000064' + '00' + '020d' + '0000000000000009' + '00000002' + '00')
  })
})
