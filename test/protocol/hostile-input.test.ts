// Malformed input must leave the reader `bad` without throwing, in time and memory bounded
// by the frame, never by a length the frame claims.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as g from '../../protocol/generated/index.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function sampleMetadataResponse(): Buffer {
  const w = new Writer()
  g.encodeMetadataResponse(w, 12, {
    ...g.defaultMetadataResponse(),
    brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: 'r1' }],
    clusterId: 'samsa',
    topics: [
      {
        ...g.defaultMetadataResponseMetadataResponseTopic(),
        name: 'orders',
        partitions: [{ ...g.defaultMetadataResponseMetadataResponsePartition(), replicaNodes: [1, 2], isrNodes: [1] }],
      },
    ],
  })
  return w.toBuffer()
}

describe('hostile input', () => {
  it('every truncation of a valid frame is reported, never thrown', () => {
    const full = sampleMetadataResponse()
    for (let n = 0; n < full.length; n++) {
      const r = new Reader(full.subarray(0, n))
      expect(() => g.decodeMetadataResponse(r, 12)).not.toThrow()
      expect(r.bad).toBe(true)
      expect(r.error).toBeTypeOf('string')
    }
    const r = new Reader(full)
    g.decodeMetadataResponse(r, 12)
    expect(r.bad).toBe(false)
  })

  it('random bytes never throw in any API, version or direction', () => {
    const apis = [...g.apis.values()]
    fc.assert(
      fc.property(fc.nat(apis.length - 1), fc.nat(20), fc.uint8Array({ maxLength: 256 }), fc.boolean(), (i, vOff, bytes, req) => {
        const api = apis[i]!
        const v = api.minVersion + (vOff % (api.maxVersion - api.minVersion + 1))
        const r = new Reader(bytes)
        if (req) api.decodeRequest(r, v)
        else api.decodeResponse(r, v)
        expect(r.offset).toBeLessThanOrEqual(bytes.length)
      }),
      { numRuns: 3000, seed: 7 },
    )
  })

  it('a string length of 2^15-1 with few bytes left is an error, not a read past the end', () => {
    const r = new Reader(hex('7fff 6162'))
    expect(r.readString()).toBe('')
    expect(r.bad).toBe(true)
    expect(r.error).toMatch(/32767/)
  })

  it('byte and array lengths of 2^31-1 fail before any allocation', () => {
    const before = process.memoryUsage().arrayBuffers
    const r1 = new Reader(hex('7fffffff 00'))
    expect(r1.readBytes().length).toBe(0)
    expect(r1.bad).toBe(true)
    const r2 = new Reader(hex('7fffffff 00'))
    expect(r2.readArrayLength()).toBe(0)
    expect(r2.bad).toBe(true)
    expect(r2.error).toMatch(/2147483647 exceeds 1 remaining/)
    // A Produce v3 request claiming 2^31-1 topics.
    const r3 = new Reader(hex('ffff 0001 00000064 7fffffff'))
    const start = performance.now()
    const m = g.decodeProduceRequest(r3, 3)
    expect(performance.now() - start).toBeLessThan(50)
    expect(r3.bad).toBe(true)
    expect(m.topicData.length).toBe(0)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20)
  })

  it('a compact array count near 2^32 fails', () => {
    const r = new Reader(hex('ffffffff0f 00'))
    expect(r.readCompactArrayLength()).toBe(0)
    expect(r.bad).toBe(true)
  })

  it('negative counts other than -1 fail, and -1 fails where null is not allowed', () => {
    const r = new Reader(hex('fffffffb'))
    expect(r.readArrayLength()).toBe(0)
    expect(r.bad).toBe(true)
    // Produce topicData is not nullable.
    const r2 = new Reader(hex('ffff 0001 00000064 ffffffff'))
    g.decodeProduceRequest(r2, 3)
    expect(r2.bad).toBe(true)
    expect(r2.error).toMatch(/topicData/)
    const r3 = new Reader(hex('fffe'))
    r3.readNullableString()
    expect(r3.bad).toBe(true)
  })

  it('varints longer than 5 bytes and varlongs longer than 10 bytes fail', () => {
    const r = new Reader(hex('8080808080 01'))
    expect(r.readUnsignedVarInt()).toBe(0)
    expect(r.bad).toBe(true)
    const r2 = new Reader(hex('8080808080808080808001'))
    expect(r2.readVarLong()).toBe(0)
    expect(r2.bad).toBe(true)
    expect(r2.error).toMatch(/varlong/)
    const r3 = new Reader(hex('ffffffff7f'))
    r3.readVarInt()
    expect(r3.bad).toBe(true)
  })

  it('the bad flag is sticky: later reads return zero values and do not move', () => {
    const r = new Reader(hex('00'))
    r.readInt32()
    expect(r.bad).toBe(true)
    const at = r.offset
    expect(r.readInt8()).toBe(0)
    expect(r.readCompactNullableString()).toBe('')
    expect(r.readCompactNullableBytes()?.length).toBe(0)
    expect(r.readUuid()).toBe('00000000-0000-0000-0000-000000000000')
    expect(r.offset).toBe(at)
    expect(() => r.check()).toThrow(/int32/)
  })

  it('a tagged field claiming more bytes than remain fails', () => {
    const r = new Reader(hex('0a' + Buffer.from('samsa-cli').toString('hex') + '04' + Buffer.from('1.0').toString('hex') + '01 05 7f aa'))
    g.decodeApiVersionsRequest(r, 3)
    expect(r.bad).toBe(true)
  })
})
