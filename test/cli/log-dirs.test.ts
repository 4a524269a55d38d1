// The CLI's DescribeLogDirs sizes against a fake broker that decodes and encodes with the
// generated codecs: version negotiation, the request it sends, and how sizes are summed.
import net from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { describeLogDirs } from '../../cli/lib/log-dirs.js'
import { closedPort } from './harness.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import { encodeApiVersionsResponse, defaultApiVersionsResponse } from '../../protocol/generated/api-versions.js'
import { decodeDescribeLogDirsRequest, encodeDescribeLogDirsResponse, type DescribeLogDirsRequest } from '../../protocol/generated/describe-log-dirs.js'

interface FakeBroker {
  address: string
  requests: { version: number; clientId: string; body: DescribeLogDirsRequest }[]
  close(): Promise<void>
}

async function fakeBroker(range: [number, number] | null): Promise<FakeBroker> {
  const requests: FakeBroker['requests'] = []
  const server = net.createServer((socket) => {
    let pending = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0))
        pending = pending.subarray(4 + frame.length)
        const apiKey = frame.readInt16BE(0)
        const version = frame.readInt16BE(2)
        const correlationId = frame.readInt32BE(4)
        const clientIdLength = frame.readInt16BE(8)
        const clientId = frame.toString('utf8', 10, 10 + clientIdLength)
        let bodyStart = 10 + clientIdLength
        const w = new Writer()
        w.writeInt32(correlationId)
        if (apiKey === 18) {
          const res = defaultApiVersionsResponse()
          res.apiKeys = [{ apiKey: 3, minVersion: 0, maxVersion: 12 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }]
          if (range !== null) res.apiKeys.push({ apiKey: 35, minVersion: range[0], maxVersion: range[1] })
          encodeApiVersionsResponse(w, version, res)
        } else {
          const flexible = version >= 2
          if (flexible) bodyStart += 1
          const body = decodeDescribeLogDirsRequest(new Reader(frame, bodyStart), version)
          requests.push({ version, clientId, body })
          if (flexible) w.writeUnsignedVarInt(0)
          encodeDescribeLogDirsResponse(w, version, {
            throttleTimeMs: 0,
            errorCode: 0,
            results: [
              {
                errorCode: 0,
                logDir: '/data',
                totalBytes: 1000,
                usableBytes: 500,
                topics: [
                  {
                    name: 'orders',
                    partitions: [
                      { partitionIndex: 0, partitionSize: 4096, offsetLag: 0, isFutureKey: false },
                      { partitionIndex: 1, partitionSize: 2 ** 40, offsetLag: 0, isFutureKey: false },
                      { partitionIndex: 1, partitionSize: 7, offsetLag: 0, isFutureKey: true },
                    ],
                  },
                ],
              },
            ],
          })
        }
        const payload = w.toBuffer()
        const size = Buffer.alloc(4)
        size.writeInt32BE(payload.length)
        socket.write(Buffer.concat([size, payload]))
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  return { address: `127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) }
}

let broker: FakeBroker | undefined
afterEach(async () => {
  await broker?.close()
  broker = undefined
})

describe('describeLogDirs', () => {
  for (const [range, expected] of [
    [[0, 0], 0],
    [[1, 1], 1],
    [[1, 4], 4],
    [[2, 2], 2],
    [[2, 3], 3],
    [[2, 4], 4],
    [[0, 9], 4],
  ] as [[number, number], number][]) {
    it(`speaks v${expected} when the broker offers ${range[0]}-${range[1]}`, async () => {
      broker = await fakeBroker(range)
      const sizes = await describeLogDirs(broker.address, 'test-client', 2000, [{ topic: 'orders', partitions: [0, 1] }])
      expect(broker.requests).toHaveLength(1)
      expect(broker.requests[0].version).toBe(expected)
      expect(broker.requests[0].clientId).toBe('test-client')
      expect(broker.requests[0].body.topics).toEqual([{ topic: 'orders', partitions: [0, 1] }])
      expect(sizes).toEqual(
        new Map([
          ['orders/0', 4096],
          ['orders/1', 2 ** 40],
        ]),
      )
    })
  }

  it('returns null when the broker does not offer the API', async () => {
    broker = await fakeBroker(null)
    expect(await describeLogDirs(broker.address, 'c', 2000, [{ topic: 'orders', partitions: [0] }])).toBeNull()
    expect(broker.requests).toHaveLength(0)
  })

  it('returns null when no version is shared', async () => {
    broker = await fakeBroker([5, 7])
    expect(await describeLogDirs(broker.address, 'c', 2000, [{ topic: 'orders', partitions: [0] }])).toBeNull()
    expect(broker.requests).toHaveLength(0)
  })

  it('rejects when the broker is unreachable', async () => {
    const port = await closedPort()
    await expect(describeLogDirs(`127.0.0.1:${port}`, 'c', 2000, [{ topic: 'orders', partitions: [0] }])).rejects.toThrow(
      `broker unreachable at 127.0.0.1:${port}: connection refused`,
    )
  })
})
