// Hand-assembled flexible-version frames (KIP-482), checked byte for byte in both directions.
import { describe, expect, it } from 'vitest'
import * as g from '../../protocol/generated/index.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const ascii = (s: string): string => Buffer.from(s).toString('hex')

function encode(fn: (w: Writer) => void): string {
  const w = new Writer(32)
  fn(w)
  return w.toBuffer().toString('hex')
}

describe('flexible versions', () => {
  it('ApiVersions v3 request: header v2 keeps the classic client id, body uses compact strings', () => {
    const frame = hex(
      '0012 0003 00000007 0005' + ascii('kcat1') + '00' + // header v2: key, version, correlation, int16 client id, tags
        '0a' + ascii('samsa-cli') + '04' + ascii('1.0') + '00',
    )
    const r = new Reader(frame)
    expect(g.requestHeaderVersion(18, 3)).toBe(2)
    const header = g.decodeRequestHeader(r, 2)
    expect(header).toMatchObject({ requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'kcat1' })
    const body = g.decodeApiVersionsRequest(r, 3)
    expect(r.bad).toBe(false)
    expect(r.remaining()).toBe(0)
    expect(body).toMatchObject({ clientSoftwareName: 'samsa-cli', clientSoftwareVersion: '1.0' })
    const again = encode((w) => {
      g.encodeRequestHeader(w, 2, header)
      g.encodeApiVersionsRequest(w, 3, body)
    })
    expect(again).toBe(frame.toString('hex'))
  })

  it('Metadata v12 request with a topic id, nullable name and tagged sections', () => {
    const frame = hex(
      '02' + // one topic (compact: n + 1)
        '00000000000000000000000000000000' + '07' + ascii('orders') + '00' +
        '01' + // allowAutoTopicCreation
        '00' + // includeTopicAuthorizedOperations
        '00',
    )
    const r = new Reader(frame)
    const m = g.decodeMetadataRequest(r, 12)
    expect(r.bad).toBe(false)
    expect(m.topics).toEqual([{ topicId: '00000000-0000-0000-0000-000000000000', name: 'orders', unknownTaggedFields: undefined }])
    expect(m.allowAutoTopicCreation).toBe(true)
    expect(encode((w) => g.encodeMetadataRequest(w, 12, m))).toBe(frame.toString('hex'))
    // A null topic list means "all topics" and is a single zero byte.
    expect(encode((w) => g.encodeMetadataRequest(w, 12, { ...m, topics: null }))).toBe('00' + '01' + '00' + '00')
  })

  it('ApiVersions v3 response: compact array, defaults of tagged fields are omitted', () => {
    const body: g.ApiVersionsResponse = {
      ...g.defaultApiVersionsResponse(),
      apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }],
      throttleTimeMs: 0,
    }
    expect(encode((w) => g.encodeApiVersionsResponse(w, 3, body))).toBe('0000' + '02' + '0000 0003 000b 00'.replace(/ /g, '') + '00000000' + '00')
    expect(g.responseHeaderVersion(18, 3)).toBe(0)
    expect(g.responseHeaderVersion(3, 12)).toBe(1)
    expect(g.responseHeaderVersion(3, 8)).toBe(0)
  })

  it('ApiVersions v3 response writes a non-default tagged field', () => {
    const body: g.ApiVersionsResponse = { ...g.defaultApiVersionsResponse(), finalizedFeaturesEpoch: 5 }
    // tags: count 1, tag 1, size 8, int64 5
    expect(encode((w) => g.encodeApiVersionsResponse(w, 3, body))).toBe('0000' + '01' + '00000000' + '01' + '01' + '08' + '0000000000000005')
  })

  it('unknown tagged fields are kept on decode and re-emitted in tag order', () => {
    const frame = hex('0a' + ascii('samsa-cli') + '04' + ascii('1.0') + '02' + '05 02 aabb' + '09 01 cc')
    const r = new Reader(frame)
    const body = g.decodeApiVersionsRequest(r, 3)
    expect(r.bad).toBe(false)
    expect(body.unknownTaggedFields?.map((f) => [f.tag, Buffer.from(f.data).toString('hex')])).toEqual([
      [5, 'aabb'],
      [9, 'cc'],
    ])
    expect(encode((w) => g.encodeApiVersionsRequest(w, 3, body))).toBe(frame.toString('hex'))
  })

  it('unknown tags interleave with known ones by tag number', () => {
    // Fetch request v12 knows tag 0 (ClusterId); put an unknown tag 3 around it.
    const value: g.FetchRequest = { ...g.defaultFetchRequest(), clusterId: 'c1', unknownTaggedFields: [{ tag: 3, data: Buffer.from([1]) }] }
    const bytes = encode((w) => g.encodeFetchRequest(w, 12, value))
    expect(bytes.endsWith('02' + '00' + '03' + '03' + ascii('c1') + '03' + '01' + '01')).toBe(true)
    const back = g.decodeFetchRequest(new Reader(hex(bytes)), 12)
    expect(back.clusterId).toBe('c1')
    expect(back.unknownTaggedFields).toEqual([{ tag: 3, data: Buffer.from([1]) }])
  })

  it('a tagged field whose declared size disagrees with its content is an error', () => {
    // ApiVersionsResponse tag 1 is an int64, declared here as 9 bytes.
    const frame = hex('0000' + '01' + '00000000' + '01' + '01' + '09' + '000000000000000500')
    const r = new Reader(frame)
    g.decodeApiVersionsResponse(r, 3)
    expect(r.bad).toBe(true)
  })

  it('a nullable struct is prefixed by -1 (null) or 1', () => {
    const base = g.defaultConsumerGroupHeartbeatResponse()
    expect(encode((w) => g.encodeConsumerGroupHeartbeatResponse(w, 0, base)).slice(-4)).toBe('ff00')
    const withAssignment = { ...base, assignment: { topicPartitions: [] } }
    const bytes = encode((w) => g.encodeConsumerGroupHeartbeatResponse(w, 0, withAssignment))
    expect(bytes.slice(-8)).toBe('01' + '01' + '00' + '00')
    expect(g.decodeConsumerGroupHeartbeatResponse(new Reader(hex(bytes)), 0).assignment).toEqual({
      topicPartitions: [],
      unknownTaggedFields: undefined,
    })
  })
})
