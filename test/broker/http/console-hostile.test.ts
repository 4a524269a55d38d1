// Hostile requests to the HTTP endpoint of a broker started without --http-allow-actions: path
// traversal on the static files (raw request lines, so nothing normalizes them first), oversized
// and malformed requests, and every console action. All are refused with a 4xx or a closed
// connection; afterwards the broker still serves kafkajs and its probes.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'

let dir: string
let broker: RunningBroker
const TOPIC = 'hostile-orders'

/** Sends raw bytes and returns whatever comes back before the server closes or 2 s pass. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(broker.http!.port, '127.0.0.1')
    const chunks: Buffer[] = []
    s.on('data', (c: Buffer) => chunks.push(c))
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? resolve(Buffer.concat(chunks).toString('latin1')) : reject(err)))
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    s.setTimeout(2000, () => s.destroy())
    s.end(bytes)
  })
}

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0)

beforeAll(async () => {
  dir = await makeTempDir('samsa-http-hostile-')
  broker = await startBroker({ dataDir: dir, host: '127.0.0.1', port: 0, logLevel: 'silent', http: { port: 0 } })
  const admin = kafkaClient(broker.address).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1 }] })
  await admin.disconnect()
})

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

describe('HTTP endpoint under hostile requests', () => {
  it('serves no file but its own, whatever the path says', async () => {
    const paths = [
      '/../package.json',
      '/../../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E%2Fpackage.json',
      '/..%2fpackage.json',
      '/console.js/../../package.json',
      '/console/../../../package.json',
      '/..\\package.json',
      '/%2e%2e%5cpackage.json',
      '//etc/passwd',
      '/index.html%00.js',
      '/charts.js?../../package.json',
    ]
    for (const p of paths) {
      const reply = await raw(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
      expect(reply).not.toContain('"name": "samsa"')
      expect(reply).not.toContain('root:')
      // The query string is not part of the path: /charts.js is served as itself.
      if (p.startsWith('/charts.js?')) expect(statusOf(reply)).toBe(200)
      else expect([400, 404]).toContain(statusOf(reply))
    }
    // The files it does serve are its own.
    expect(statusOf(await raw('GET /console.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))).toBe(200)
  })

  it('refuses oversized and malformed requests', async () => {
    // Headers past Node's limit: 431.
    expect(statusOf(await raw(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`))).toBe(431)
    // Not HTTP at all: 400 and closed.
    expect(statusOf(await raw(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x00, 0x0d, 0x0a, 0x0d, 0x0a])))).toBe(400)
    expect(statusOf(await raw('GET\r\n\r\n'))).toBe(400)
    // A body past 64 KiB: 413, whether declared or streamed.
    const big = JSON.stringify({ name: 'x'.repeat(200_000) })
    expect(statusOf(await raw(`POST /api/topics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`))).toBe(413)
    const chunked = `POST /api/topics HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${(20).toString(16)}\r\n${'y'.repeat(20)}\r\n`.repeat(1) + Array.from({ length: 5 }, () => `${(20_000).toString(16)}\r\n${'z'.repeat(20_000)}\r\n`).join('') + '0\r\n\r\n'
    expect(statusOf(await raw(chunked))).toBe(413)
    // Broken JSON, broken escapes and bad numbers: 400 with a message.
    const bad = await fetch(`${broker.http!.url}/api/topics`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":' })
    expect(bad.status).toBe(400)
    expect(statusOf(await raw('GET /api/topics/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))).toBe(400)
    const nonInt = await fetch(`${broker.http!.url}/api/topics/${TOPIC}/messages?offset=1e400`)
    expect(nonInt.status).toBe(400)
    expect(((await nonInt.json()) as { error: string }).error).toMatch(/offset must be an integer/)
    expect((await fetch(`${broker.http!.url}/api/topics/${TOPIC}/messages?partition=99`)).status).toBe(404)
    expect((await fetch(`${broker.http!.url}/api/nothing/here`)).status).toBe(404)
    expect((await fetch(`${broker.http!.url}/api/topics`, { method: 'PUT' })).status).toBe(405)
  })

  it('refuses every action without --http-allow-actions, changing nothing', async () => {
    const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const url = broker.http!.url
    const tries: Array<[string, RequestInit]> = [
      [`${url}/api/topics`, json({ name: 'sneaky' })],
      [`${url}/api/topics/${TOPIC}`, { method: 'DELETE' }],
      [`${url}/api/topics/${TOPIC}/configs`, json({ set: { 'retention.ms': '1' } })],
      [`${url}/api/topics/${TOPIC}/messages`, json({ value: 'sneaky' })],
    ]
    for (const [u, init] of tries) {
      const res = await fetch(u, init)
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: string }).error).toMatch(/read-only/)
    }
    const admin = kafkaClient(broker.address).admin()
    await admin.connect()
    try {
      expect(await admin.listTopics()).not.toContain('sneaky')
      const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: TOPIC, configNames: ['retention.ms'] }] })
      expect(cfg.resources[0]!.configEntries[0]!.configValue).toBe('604800000')
      expect((await admin.fetchTopicOffsets(TOPIC))[0]!.high).toBe('0')
    } finally {
      await admin.disconnect()
    }
  })

  it('is unaffected afterwards: probes answer and kafkajs produces and consumes', async () => {
    expect((await fetch(`${broker.http!.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${broker.http!.url}/readyz`)).status).toBe(200)
    const kafka = kafkaClient(broker.address)
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: TOPIC, messages: [{ value: 'still here' }] })
    await producer.disconnect()
    const page = (await (await fetch(`${broker.http!.url}/api/topics/${TOPIC}/messages?partition=0`)).json()) as { messages: Array<{ value: string }> }
    expect(page.messages.map((m) => Buffer.from(m.value, 'base64').toString())).toEqual(['still here'])
  })
})
