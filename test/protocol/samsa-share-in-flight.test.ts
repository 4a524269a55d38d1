// Samsa's in-flight tagged field on DescribeShareGroupOffsets v0 response partitions: where it sits
// on the wire, that a decoder reads every Kafka field the same with or without it, and that a
// response without it (any other broker) has no in-flight state.
import { describe, expect, it } from 'vitest'
import { DescribeShareGroupOffsetsApi, type DescribeShareGroupOffsetsResponse } from '../../protocol/generated/describe-share-group-offsets.js'
import { Reader } from '../../protocol/reader.js'
import { readShareInFlight, SAMSA_SHARE_IN_FLIGHT_TAG, shareInFlightTaggedField } from '../../protocol/samsa-share-in-flight.js'
import { Writer } from '../../protocol/writer.js'

function response(tagged: boolean): DescribeShareGroupOffsetsResponse {
  const partition = { partitionIndex: 0, startOffset: 7, leaderEpoch: 0, errorCode: 0, errorMessage: null }
  return {
    throttleTimeMs: 0,
    groups: [
      {
        groupId: 'g',
        errorCode: 0,
        errorMessage: null,
        topics: [{ topicName: 't', topicId: '00000000-0000-0000-0000-000000000001', partitions: [tagged ? { ...partition, unknownTaggedFields: [shareInFlightTaggedField({ acquired: 3, available: 2, endOffset: 12 })] } : partition] }],
      },
    ],
  }
}

function roundTrip(m: DescribeShareGroupOffsetsResponse): { bytes: Buffer; decoded: DescribeShareGroupOffsetsResponse } {
  const w = new Writer(64)
  DescribeShareGroupOffsetsApi.encodeResponse(w, 0, m)
  const bytes = w.toBuffer()
  const r = new Reader(bytes)
  const decoded = DescribeShareGroupOffsetsApi.decodeResponse(r, 0)
  expect(r.bad).toBe(false)
  expect(r.remaining()).toBe(0)
  return { bytes, decoded }
}

describe('Samsa in-flight tagged field on DescribeShareGroupOffsets', () => {
  it('is one tagged field 10000 at the end of the partition, and the Kafka fields decode the same', () => {
    const plain = roundTrip(response(false))
    const tagged = roundTrip(response(true))
    // The partition's tag section: count 0 without it; count 1, tag 10000 (varint 90 4e), 17 bytes with it.
    const payload = '00' + '00000003' + '00000002' + '000000000000000c'
    expect(SAMSA_SHARE_IN_FLIGHT_TAG).toBe(10000)
    const field = '01904e11' + payload
    const hex = tagged.bytes.toString('hex')
    const at = hex.indexOf(field)
    expect(at).toBeGreaterThan(0)
    // Put back an empty tag section where the field was: the frame any other broker sends.
    expect(hex.slice(0, at) + '00' + hex.slice(at + field.length)).toBe(plain.bytes.toString('hex'))
    const p0 = plain.decoded.groups[0]!.topics[0]!.partitions[0]!
    const p1 = tagged.decoded.groups[0]!.topics[0]!.partitions[0]!
    expect({ ...p1, unknownTaggedFields: undefined }).toEqual({ ...p0, unknownTaggedFields: undefined })
    expect(readShareInFlight(p1.unknownTaggedFields)).toEqual({ acquired: 3, available: 2, endOffset: 12 })
    expect(readShareInFlight(p0.unknownTaggedFields)).toBeNull()
  })

  it('ignores other tags and a truncated payload', () => {
    expect(readShareInFlight([{ tag: 3, data: new Uint8Array([1, 2]) }])).toBeNull()
    expect(readShareInFlight([{ tag: SAMSA_SHARE_IN_FLIGHT_TAG, data: new Uint8Array([0, 0, 0, 0, 1]) }])).toBeNull()
  })
})
