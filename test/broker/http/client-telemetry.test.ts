// Client telemetry (KIP-714) from a real librdkafka: @confluentinc/kafka-javascript (librdkafka
// 2.15) subscribes with GetTelemetrySubscriptions, pushes OTLP metrics with PushTelemetry, and
// /metrics shows them labelled by its client id. A broker without the HTTP endpoint does not
// advertise the two APIs.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { waitFor } from '../../helpers/wait.js'
import { WireClient } from '../../helpers/wire.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import type { ApiVersionsResponse } from '../../../protocol/generated/api-versions.js'
import type { GetTelemetrySubscriptionsResponse } from '../../../protocol/generated/get-telemetry-subscriptions.js'
import type { PushTelemetryRequest, PushTelemetryResponse } from '../../../protocol/generated/push-telemetry.js'
import { ErrorCode } from '../../../protocol/errors.js'

const ZERO = '00000000-0000-0000-0000-000000000000'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
const CKJS = path.join(ROOT, '.cache/ckjs/node_modules/@confluentinc/kafka-javascript')

interface Producer {
  connect(opts: object, cb: (err: unknown) => void): void
  disconnect(cb: (err: unknown) => void): void
  produce(topic: string, partition: number | null, value: Buffer): void
  setPollInterval(ms: number): void
  flush(timeoutMs: number, cb: (err: unknown) => void): void
}

let dir: string
let broker: RunningBroker

async function advertised(address: string): Promise<number[]> {
  const c = await WireClient.connect(address)
  try {
    const { body } = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })
    return body.apiKeys.map((k) => k.apiKey)
  } finally {
    c.close()
  }
}

beforeAll(async () => {
  dir = await makeTempDir('samsa-telemetry-')
  broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', http: { port: 0, clientTelemetryIntervalMs: 1000 } })
})

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

describe('client telemetry (KIP-714)', () => {
  it('is advertised only with the HTTP endpoint', async () => {
    expect(await advertised(broker.address)).toEqual(expect.arrayContaining([71, 72]))
    const plain = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent' })
    try {
      const keys = await advertised(plain.address)
      expect(keys).not.toContain(71)
      expect(keys).not.toContain(72)
    } finally {
      await plain.stop()
    }
  })

  it('answers Kafka error codes for pushes it cannot take', async () => {
    const c = await WireClient.connect(broker.address)
    try {
      const { body: sub } = await c.request<GetTelemetrySubscriptionsResponse>(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO })
      expect(sub.errorCode).toBe(ErrorCode.NONE)
      expect(sub.clientInstanceId).not.toBe(ZERO)
      expect(sub.requestedMetrics).toEqual([''])
      expect(sub.pushIntervalMs).toBe(1000)
      const push = async (over: Partial<PushTelemetryRequest>) =>
        (await c.request<PushTelemetryResponse>(ApiKey.PushTelemetry, 0, { clientInstanceId: sub.clientInstanceId, subscriptionId: sub.subscriptionId, terminating: false, compressionType: 0, metrics: new Uint8Array(0), ...over })).body.errorCode
      expect(await push({})).toBe(ErrorCode.NONE)
      expect(await push({ subscriptionId: sub.subscriptionId + 1 })).toBe(ErrorCode.UNKNOWN_SUBSCRIPTION_ID)
      expect(await push({ clientInstanceId: ZERO })).toBe(ErrorCode.INVALID_REQUEST)
      // A length past the end of the message; gzip bytes that are not gzip.
      expect(await push({ metrics: Uint8Array.from([0x0a, 0x05, 0x12]) })).toBe(ErrorCode.INVALID_RECORD)
      expect(await push({ compressionType: 1, metrics: Uint8Array.from([1, 2, 3]) })).toBe(ErrorCode.INVALID_RECORD)
      expect(await push({ compressionType: 9, metrics: new Uint8Array(0) })).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE)
      expect(await push({ metrics: new Uint8Array(1024 * 1024 + 1) })).toBe(ErrorCode.TELEMETRY_TOO_LARGE)
      // The broker still serves; a terminating push forgets the instance.
      expect(await (await fetch(`${broker.http!.url}/metrics`)).text()).toMatch(/^kafka_server_client_metrics_instance_count 1$/m)
      expect(await push({ terminating: true })).toBe(ErrorCode.NONE)
      expect(await (await fetch(`${broker.http!.url}/metrics`)).text()).toMatch(/^kafka_server_client_metrics_instance_count 0$/m)
    } finally {
      c.close()
    }
  })

  it.skipIf(!existsSync(CKJS))('shows what librdkafka pushes on /metrics, by client id (needs .cache/ckjs)', async () => {
    const rdkafka = createRequire(import.meta.url)(CKJS) as { Producer: new (c: Record<string, unknown>) => Producer }
    const producer = new rdkafka.Producer({ 'bootstrap.servers': broker.address, 'client.id': 'telemetry-producer', 'enable.metrics.push': true })
    await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())))
    producer.setPollInterval(100)
    try {
      for (let i = 0; i < 10; i++) producer.produce('telemetry-topic', null, Buffer.from(`v${i}`))
      await new Promise<void>((resolve, reject) => producer.flush(10_000, (err) => (err ? reject(err) : resolve())))
      const text = await waitFor(
        async () => {
          const t = await (await fetch(`${broker.http!.url}/metrics`)).text()
          return /client_id="telemetry-producer"/.test(t) ? t : undefined
        },
        { timeoutMs: 15_000, what: 'a telemetry push from librdkafka' },
      )
      const lines = text.split('\n').filter((l) => l.includes('client_id="telemetry-producer"'))
      // librdkafka's producer metrics, e.g. org.apache.kafka.producer.node.request.latency.avg.
      expect(lines.some((l) => l.startsWith('org_apache_kafka_producer_'))).toBe(true)
      expect(lines.every((l) => /client_instance_id="[0-9a-f-]{36}"/.test(l))).toBe(true)
      expect(text).toMatch(/^kafka_server_client_metrics_instance_count 1$/m)
    } finally {
      await new Promise<void>((resolve) => producer.disconnect(() => resolve()))
    }
  }, 30_000)
})
