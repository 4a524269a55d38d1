// Hostile and malformed input over raw sockets. Each case checks what the offending connection
// sees (closed, or a well-formed error response), then that the broker still serves a fresh
// connection and that the records produced before are intact.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Writer } from '../../protocol/writer.js'
import { Reader } from '../../protocol/reader.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { decodeResponseHeader } from '../../protocol/generated/response-header.js'
import { decodeApiVersionsResponse, type ApiVersionsResponse } from '../../protocol/generated/api-versions.js'
import { encodeProduceRequest, type ProduceResponse } from '../../protocol/generated/produce.js'
import type { MetadataResponse } from '../../protocol/generated/metadata.js'
import type { CreateTopicsResponse } from '../../protocol/generated/create-topics.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { logEndOffset, readPartition, WireClient } from '../helpers/wire.js'

const TOPIC = 'precious'
const MAX_REQUEST_BYTES = 1 << 20
const BASELINE = Array.from({ length: 25 }, (_, i) => `record-${i}`)

let tb: TestBroker
const clients: WireClient[] = []

async function connect(): Promise<WireClient> {
  const c = await WireClient.connect(tb.address)
  clients.push(c)
  return c
}

function produceBody(records: Uint8Array, acks = -1) {
  return {
    transactionalId: null,
    acks,
    timeoutMs: 5000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }],
  }
}

async function produce(c: WireClient, version: number, records: Uint8Array) {
  const { body } = await c.request<ProduceResponse>(ApiKey.Produce, version, produceBody(records))
  return body.responses[0]!.partitionResponses[0]!
}

/** A frame with a valid request header for (apiKey, version) and `body` as given. */
function rawFrame(apiKey: number, version: number, body: (w: Writer) => void, correlationId = 77): Buffer {
  const w = new Writer(256)
  const size = w.reserveInt32()
  const start = w.length
  w.writeInt16(apiKey)
  w.writeInt16(version)
  w.writeInt32(correlationId)
  w.writeNullableString('hostile')
  body(w)
  w.patchInt32(size, w.length - start)
  return w.toBuffer()
}

function int32Frame(size: number, rest: Uint8Array = Buffer.alloc(0)): Buffer {
  const b = Buffer.alloc(4 + rest.length)
  b.writeInt32BE(size, 0)
  b.set(rest, 4)
  return b
}

beforeAll(async () => {
  tb = await startTestBroker({ 'socket.request.max.bytes': String(MAX_REQUEST_BYTES), 'num.partitions': '1' })
  const c = await connect()
  const { body: created } = await c.request<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
    topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
    validateOnly: false,
  })
  expect(created.topics[0]!.errorCode).toBe(ErrorCode.NONE)
  const p = await produce(c, 7, encodeBatch(BASELINE.map((value, i) => ({ key: `k${i}`, value }))))
  expect(p.errorCode).toBe(ErrorCode.NONE)
  expect(await logEndOffset(tb.address, TOPIC, 0)).toBe(BASELINE.length)
})

afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  // a fresh connection is served normally
  const c = await connect()
  const { body } = await c.request<MetadataResponse>(ApiKey.Metadata, 9, {
    topics: [{ name: TOPIC, topicId: '00000000-0000-0000-0000-000000000000' }],
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  })
  expect(body.topics[0]!.errorCode).toBe(ErrorCode.NONE)
  // and the data produced before is intact
  const records = await readPartition(tb.address, TOPIC, 0)
  expect(records.map((r) => [r.offset, Buffer.from(r.value!).toString()])).toEqual(BASELINE.map((v, i) => [i, v]))
  expect(await logEndOffset(tb.address, TOPIC, 0)).toBe(BASELINE.length)
})

afterAll(async () => {
  for (const c of clients) c.close()
  await tb?.stop()
})

describe('framing', () => {
  it('closes on a declared size of 2 GiB without waiting for (or buffering) the body', async () => {
    const c = await connect()
    await c.write(int32Frame(0x7fffffff, Buffer.alloc(64 * 1024, 0x41)))
    expect(await c.closedWithin(3000)).toBe(true)
  })

  it('closes on a declared size just over socket.request.max.bytes', async () => {
    const c = await connect()
    await c.write(int32Frame(MAX_REQUEST_BYTES + 1, Buffer.alloc(1024)))
    expect(await c.closedWithin(3000)).toBe(true)
  })

  it('closes on a negative declared size', async () => {
    const c = await connect()
    await c.write(int32Frame(-1, Buffer.alloc(16)))
    expect(await c.closedWithin(3000)).toBe(true)
  })

  it('closes on garbage: a frame too short to hold a request header', async () => {
    const c = await connect()
    await c.write(int32Frame(3, Buffer.from([0xde, 0xad, 0xbe])))
    expect(await c.closedWithin(3000)).toBe(true)
  })

  it('closes on garbage: random bytes in a well-sized frame', async () => {
    const c = await connect()
    // 0xfefe as the API key: no such API, whatever follows
    const junk = Buffer.from('fefe' + 'c3'.repeat(60), 'hex')
    await c.write(int32Frame(junk.length, junk))
    expect(await c.readFrame(3000)).toBeNull()
    expect(c.closed).toBe(true)
  })

  it('survives a client that sends half a frame and hangs up', async () => {
    const c = await connect()
    const frame = c.frame(ApiKey.Produce, 7, (w) =>
      encodeProduceRequest(w, 7, produceBody(encodeBatch([{ value: 'never stored' }]))),
    )
    await c.write(frame.subarray(0, Math.floor(frame.length / 2)))
    c.close()
    await c.closedPromise
  })
})

describe('request headers', () => {
  it('closes on an unknown API key', async () => {
    const c = await connect()
    await c.write(rawFrame(9999, 0, () => {}))
    expect(await c.readFrame(3000)).toBeNull()
  })

  it('closes on an unsupported version of a known API (Metadata v99)', async () => {
    const c = await connect()
    await c.write(rawFrame(ApiKey.Metadata, 99, (w) => w.writeInt32(-1)))
    expect(await c.readFrame(3000)).toBeNull()
  })

  it('answers ApiVersions v9 with UNSUPPORTED_VERSION and a v0 body listing the API ranges', async () => {
    const c = await connect()
    await c.write(rawFrame(ApiKey.ApiVersions, 9, (w) => w.writeInt8(0), 4242))
    const frame = await c.readFrame(3000)
    expect(frame).not.toBeNull()
    const r = new Reader(frame!)
    expect(decodeResponseHeader(r, 0).correlationId).toBe(4242)
    const body: ApiVersionsResponse = decodeApiVersionsResponse(r, 0)
    expect(r.bad).toBe(false)
    expect(r.remaining()).toBe(0)
    expect(body.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION)
    const ranges = new Map(body.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]))
    expect(ranges.get(ApiKey.ApiVersions)).toEqual([0, 4])
    expect(ranges.get(ApiKey.Produce)?.[1]).toBeGreaterThanOrEqual(9)
    expect(ranges.get(ApiKey.Fetch)?.[1]).toBeGreaterThanOrEqual(12)
    expect(ranges.get(ApiKey.Metadata)?.[1]).toBeGreaterThanOrEqual(9)
    // the connection stays usable: the client retries with a version the broker listed
    const { body: retry } = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, {
      clientSoftwareName: 'samsa-test',
      clientSoftwareVersion: '1.0',
    })
    expect(retry.errorCode).toBe(ErrorCode.NONE)
    expect(retry.apiKeys.length).toBe(body.apiKeys.length)
  })
})

describe('request bodies', () => {
  it('closes on a truncated request body', async () => {
    const c = await connect()
    // Metadata v1 claiming three topics but carrying one name and a half
    await c.write(
      rawFrame(ApiKey.Metadata, 1, (w) => {
        w.writeInt32(3)
        w.writeString(TOPIC)
        w.writeInt16(40)
        w.writeRaw(Buffer.from('abc'))
      }),
    )
    expect(await c.readFrame(3000)).toBeNull()
  })

  it('closes on a negative topic array count inside a Produce request', async () => {
    const c = await connect()
    await c.write(
      rawFrame(ApiKey.Produce, 7, (w) => {
        w.writeNullableString(null)
        w.writeInt16(-1)
        w.writeInt32(5000)
        w.writeInt32(-5)
      }),
    )
    expect(await c.readFrame(3000)).toBeNull()
  })

  it('closes on a negative partition array count inside a Produce request', async () => {
    const c = await connect()
    await c.write(
      rawFrame(ApiKey.Produce, 7, (w) => {
        w.writeNullableString(null)
        w.writeInt16(-1)
        w.writeInt32(5000)
        w.writeInt32(1)
        w.writeString(TOPIC)
        w.writeInt32(-2147483648)
      }),
    )
    expect(await c.readFrame(3000)).toBeNull()
  })

  it('closes on a records length larger than the frame', async () => {
    const c = await connect()
    await c.write(
      rawFrame(ApiKey.Produce, 7, (w) => {
        w.writeNullableString(null)
        w.writeInt16(-1)
        w.writeInt32(5000)
        w.writeInt32(1)
        w.writeString(TOPIC)
        w.writeInt32(1)
        w.writeInt32(0)
        w.writeInt32(0x7ffffff0)
        w.writeRaw(Buffer.alloc(32))
      }),
    )
    expect(await c.readFrame(3000)).toBeNull()
  })

  for (const version of [3, 8, 9, 11]) {
    it(`answers a Produce v${version} with a corrupted batch CRC with CORRUPT_MESSAGE and stores nothing`, async () => {
      const c = await connect()
      const batch = encodeBatch([{ key: 'evil', value: 'bit-flipped payload' }, { value: 'second' }])
      batch[batch.length - 3]! ^= 0x20
      const res = await produce(c, version, batch)
      expect(res.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE)
      expect(await logEndOffset(tb.address, TOPIC, 0)).toBe(BASELINE.length)
      // the same connection keeps working, and a good batch after it is stored
      const ok = await produce(c, version, encodeBatch([{ value: 'good' }]))
      expect(ok.errorCode).toBe(ErrorCode.NONE)
      expect(ok.baseOffset).toBe(BASELINE.length)
      // later checks expect it as part of the partition
      BASELINE.push('good')
    })
  }

  it('answers old message formats (magic 0/1) in Produce v3+ with INVALID_RECORD and stores nothing', async () => {
    const c = await connect()
    const batch = encodeBatch([{ value: 'from an old client' }])
    batch[16] = 1 // magic byte: a v1 message set, which Kafka 4 no longer accepts
    const res = await produce(c, 9, batch)
    expect(res.errorCode).toBe(ErrorCode.INVALID_RECORD)
    expect(await logEndOffset(tb.address, TOPIC, 0)).toBe(BASELINE.length)
  })

  it('answers Produce v2 (old message formats only) with UNSUPPORTED_VERSION per partition', async () => {
    const c = await connect()
    const res = await produce(c, 2, encodeBatch([{ value: 'x' }]))
    expect(res.errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION)
    expect(await logEndOffset(tb.address, TOPIC, 0)).toBe(BASELINE.length)
  })
})
