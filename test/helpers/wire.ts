// A bare TCP Kafka client for tests that need exact control over the bytes on the wire: hostile
// frames, versions no real client sends, a response read only when the test asks for it. Frames
// are encoded and decoded by the client's own frame module (broker/client/request-frame.ts);
// reading a partition back goes through the client's connection.
import net from 'node:net'
import tls from 'node:tls'
import type { Writer } from '../../protocol/writer.js'
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, readBatchHeader } from '../../protocol/record-batch.js'
import { decodeBatchRecords, type Record } from '../../protocol/record-reader.js'
import { ApiKey, apis } from '../../protocol/generated/index.js'
import { FetchApi, defaultFetchRequest, defaultFetchRequestFetchPartition } from '../../protocol/generated/fetch.js'
import { ZERO_UUID } from '../../protocol/types.js'
import { ListOffsetsApi } from '../../protocol/generated/list-offsets.js'
import type { CreateTopicsResponse } from '../../protocol/generated/create-topics.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { decodeResponseFrame, encodeFrame } from '../../broker/client/request-frame.js'

export class WireClient {
  private chunks: Buffer[] = []
  private buffered = 0
  private waiters: Array<() => void> = []
  private correlationId = 1
  closed = false
  readonly closedPromise: Promise<void>

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c)
      this.buffered += c.length
      this.wake()
    })
    socket.on('error', () => {})
    this.closedPromise = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true
        this.wake()
        resolve()
      }),
    )
  }

  /** `localAddress` picks the client's own address (any 127.x.y.z on loopback), as ACL hosts see it. */
  static connect(address: string, localAddress?: string): Promise<WireClient> {
    const [host, port] = splitAddress(address)
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, localAddress }, () => {
        s.off('error', reject)
        resolve(new WireClient(s))
      })
      s.once('error', reject)
    })
  }

  /** Connects over TLS (the handshake done before it resolves). */
  static connectTls(address: string, options: tls.ConnectionOptions = {}): Promise<WireClient> {
    const [host, port] = splitAddress(address)
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host, port, ...options }, () => {
        s.off('error', reject)
        resolve(new WireClient(s))
      })
      s.once('error', reject)
    })
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w()
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (err) => (err ? reject(err) : resolve())))
  }

  /** Encodes header and body with the generated codecs and frames them. */
  frame(apiKey: number, version: number, encodeBody: (w: Writer) => void, correlationId = this.correlationId++): Buffer {
    return encodeFrame(apiKey, version, encodeBody, correlationId, 'samsa-wire-test')
  }

  /** Reads one response frame; resolves null if the broker closes the connection first. */
  async readFrame(timeoutMs = 10_000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.buffered >= 4) {
        const head = Buffer.concat(this.chunks)
        this.chunks = [head]
        const size = head.readInt32BE(0)
        if (head.length >= 4 + size) {
          const frame = head.subarray(4, 4 + size)
          this.chunks = [head.subarray(4 + size)]
          this.buffered -= 4 + size
          return frame
        }
      }
      if (this.closed) return null
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Sends a request built with the generated codec for `apiKey` and decodes its response. */
  async request<Res>(apiKey: number, version: number, body: unknown, timeoutMs?: number): Promise<{ correlationId: number; body: Res }> {
    const api = apis.get(apiKey)
    if (!api) throw new Error(`no codec for API key ${apiKey}`)
    const cid = this.correlationId++
    await this.write(this.frame(apiKey, version, (w) => api.encodeRequest(w, version, body), cid))
    const frame = await this.readFrame(timeoutMs)
    if (!frame) throw new Error(`connection closed before the ${api.name} v${version} response`)
    const res = decodeResponseFrame(api, version, frame)
    if (res.error !== null) throw new Error(`undecodable ${api.name} v${version} response: ${res.error}`)
    if (res.correlationId !== cid) throw new Error(`correlation id ${res.correlationId}, expected ${cid}`)
    return { correlationId: res.correlationId, body: res.body as Res }
  }

  /** Resolves true when the broker closes the connection within `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    if (this.closed) return true
    let t: NodeJS.Timeout | undefined
    const timedOut = new Promise<false>((r) => (t = setTimeout(() => r(false), timeoutMs)))
    const result = await Promise.race([this.closedPromise.then(() => true as const), timedOut])
    clearTimeout(t)
    return result
  }

  close(): void {
    this.socket.destroy()
  }
}

export function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(':')
  return [address.slice(0, i), Number(address.slice(i + 1))]
}

function connect(address: string): Promise<BrokerConnection> {
  return BrokerConnection.connect(address, { clientId: 'samsa-wire-test', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000 })
}

/** Latest offset (log end) of one partition, via ListOffsets v1. */
export async function logEndOffset(address: string, topic: string, partition: number): Promise<number> {
  const c = await connect(address)
  try {
    const body = await c.request(ListOffsetsApi, 1, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }],
    })
    const p = body.topics[0]?.partitions[0]
    if (!p || p.errorCode !== 0) throw new Error(`ListOffsets ${topic}/${partition} failed: error ${p?.errorCode}`)
    return p.offset
  } finally {
    c.close()
  }
}

/** Every record of one partition from `fromOffset` up to the high watermark, via Fetch v4. */
export async function readPartition(address: string, topic: string, partition: number, fromOffset = 0): Promise<Record[]> {
  const c = await connect(address)
  const out: Record[] = []
  try {
    let next = fromOffset
    for (let round = 0; round < 10_000; round++) {
      const body = await c.request(FetchApi, 4, {
        ...defaultFetchRequest(),
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 << 20,
        isolationLevel: 0,
        topics: [{ topic, topicId: ZERO_UUID, partitions: [{ ...defaultFetchRequestFetchPartition(), partition, fetchOffset: next, partitionMaxBytes: 4 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
      })
      const p = body.responses[0]?.partitions[0]
      if (!p) throw new Error(`Fetch ${topic}/${partition}: empty response`)
      if (p.errorCode !== 0) throw new Error(`Fetch ${topic}/${partition}: error ${p.errorCode}`)
      const before = next
      const bytes = p.records ?? new Uint8Array(0)
      let pos = 0
      while (pos + BATCH_HEADER_SIZE <= bytes.length) {
        const h = readBatchHeader(bytes, pos)
        const size = LOG_OVERHEAD + h.batchLength
        if (pos + size > bytes.length) break
        for (const rec of decodeBatchRecords(bytes, pos)) if (rec.offset >= next) out.push(rec)
        next = Math.max(next, h.baseOffset + h.lastOffsetDelta + 1)
        pos += size
      }
      if (next >= p.highWatermark || next === before) break
    }
    return out
  } finally {
    c.close()
  }
}

/**
 * Creates topics with CreateTopics v7 (`configs` as name -> value); rejects naming the error codes
 * unless every one was created. Resolves with the topic ids by name.
 */
export async function createTopics(
  c: WireClient,
  topics: Array<{ name: string; partitions: number; configs?: { [name: string]: string } }>,
  timeoutMs?: number,
): Promise<Map<string, string>> {
  const { body } = await c.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: topics.map((t) => ({
      name: t.name,
      numPartitions: t.partitions,
      replicationFactor: 1,
      assignments: [],
      configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
    })),
    timeoutMs: 5000,
    validateOnly: false,
  }, timeoutMs)
  const failed = body.topics.filter((t) => t.errorCode !== 0)
  if (failed.length > 0) throw new Error(`CreateTopics failed: ${failed.map((t) => `${t.name} error ${t.errorCode}`).join(', ')}`)
  return new Map(body.topics.map((t) => [t.name, t.topicId]))
}
