// The CLI's DescribeLogDirs sizes against a fake broker that decodes and encodes with the
// generated codecs: version negotiation, the request it sends, and how sizes are summed.
import { afterEach, describe, expect, it } from 'vitest'
import { describeLogDirs } from '../../cli/lib/log-dirs.js'
import { closedPort } from './harness.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { DescribeLogDirsRequest } from '../../protocol/generated/describe-log-dirs.js'
import { startFakeBroker } from '../helpers/fake-broker.js'

interface FakeBroker {
  address: string
  requests: { version: number; clientId: string | null; body: DescribeLogDirsRequest }[]
  close(): Promise<void>
}

async function fakeBroker(range: [number, number] | null): Promise<FakeBroker> {
  const requests: FakeBroker['requests'] = []
  const server = await startFakeBroker({
    versions: () => [[ApiKey.Metadata, [0, 12]], [ApiKey.ApiVersions, [0, 4]], ...(range !== null ? [[ApiKey.DescribeLogDirs, range] as const] : [])],
    answer: (req) => {
      requests.push({ version: req.version, clientId: req.clientId, body: req.body as DescribeLogDirsRequest })
      return {
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
      }
    },
  })
  return { address: server.address, requests, close: () => server.close() }
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
