// `samsa console` against an in-process broker: the same JSON API served through the admin
// client, compared with the broker's own endpoint (the other source) on the same cluster, for
// topics, messages (by offset, timestamp and key), a kafkajs group's lag, a share group with its
// members and start offsets, configs altered and a record produced with --allow-actions, and
// every action refused without it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { AdminClient, AlterConfigOp, ConfigResourceType } from '../../broker/client/admin-client.js'
import { ShareConsumer } from '../../broker/client/share-consumer.js'
import { kafkaClient } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { CLI_MAIN, ensureBuilt, TEST_BROKER_CONFIG } from './harness.js'

const TOPIC = 'cc-orders'
const GROUP = 'cc-billing'
const SHARE = 'cc-workers'

let dir: string
let broker: RunningBroker
const children: ChildProcessWithoutNullStreams[] = []

function samsaConsole(extra: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI_MAIN, '--bootstrap-server', broker.address, 'console', '--port', '0', ...extra])
  children.push(child)
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /^console on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)
      if (m !== null) resolve(m[1]!)
    })
    child.on('close', (code) => reject(new Error(`samsa console exited with ${code}: ${err}`)))
  })
}

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url)
  const body = (await res.json()) as T & { error?: string }
  if (!res.ok) throw new Error(`${url}: ${res.status} ${body.error}`)
  return body
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const text = (b64: string | null) => (b64 === null ? null : Buffer.from(b64, 'base64').toString())

let before = 0

beforeAll(async () => {
  ensureBuilt()
  dir = await makeTempDir('samsa-console-cli-')
  broker = await startBroker({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    logLevel: 'silent',
    http: { port: 0 },
    config: { ...TEST_BROKER_CONFIG, 'group.share.heartbeat.interval.ms': '100', 'group.share.min.heartbeat.interval.ms': '100' },
  })
  const kafka = kafkaClient(broker.address)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 2 }] })
  await admin.disconnect()
  before = Date.now() - 1000
  const producer = kafka.producer()
  await producer.connect()
  await producer.send({ topic: TOPIC, messages: ['apple', 'banana', 'apricot', 'cherry'].map((k, i) => ({ partition: 0, key: k, value: `v${i}`, headers: { n: String(i) } })) })
  await producer.send({ topic: TOPIC, messages: [{ partition: 1, key: 'plum', value: 'v4' }] })
  // The group reads everything, then two more arrive on partition 0: lag 2.
  const consumer = kafka.consumer({ groupId: GROUP })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true })
  let seen = 0
  await consumer.run({ eachMessage: async () => void seen++ })
  await waitFor(() => seen === 5, { what: 'five records consumed' })
  await consumer.stop()
  await consumer.disconnect()
  await producer.send({ topic: TOPIC, messages: [{ partition: 0, value: 'late1' }, { partition: 0, value: 'late2' }] })
  await producer.disconnect()
}, 25_000)

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM')
  await broker?.stop()
  await removeDir(dir)
})

describe('samsa console', () => {
  it('serves the same topics, messages and group lag through the admin API as the broker does itself', async () => {
    const url = await samsaConsole([])
    const own = broker.http!.url
    const cluster = await get<{ mode: string; clusterId: string; brokers: unknown[]; notes: string[] }>(`${url}/api/cluster`)
    expect(cluster).toMatchObject({ mode: 'cluster', clusterId: broker.clusterId, brokers: [{ nodeId: broker.nodeId, controller: true }] })
    expect((await get<{ mode: string }>(`${own}/api/cluster`)).mode).toBe('broker')
    // Topics agree, sizes included (DescribeLogDirs); segment counts only from the broker.
    const pick = (ts: Array<{ name: string; partitions: number; records: number; endOffsets: number; sizeBytes: number | null }>) => ts.filter((t) => t.name === TOPIC).map((t) => ({ ...t }))
    const viaAdmin = pick(await get(`${url}/api/topics`))
    expect(viaAdmin).toEqual(pick(await get(`${own}/api/topics`)))
    expect(viaAdmin[0]).toMatchObject({ partitions: 2, records: 7, endOffsets: 7 })
    const detail = await get<{ partitionDetails: Array<{ segments: number | null; highWatermark: number }>; configs: Array<{ name: string; value: string }>; notes: string[] }>(`${url}/api/topics/${TOPIC}`)
    expect(detail.partitionDetails.map((p) => [p.highWatermark, p.segments])).toEqual([
      [6, null],
      [1, null],
    ])
    expect(detail.notes.join(' ')).toMatch(/Segment counts/)
    expect(detail.configs.find((c) => c.name === 'retention.ms')?.value).toBe('604800000')
    // Messages: by offset, by timestamp, by key; the same from both sources.
    for (const q of ['partition=0&offset=1&limit=2', `partition=0&timestamp=${before}&limit=3`, 'partition=0&from=start&key=ap']) {
      const a = await get<{ messages: Array<{ offset: number; key: string | null; value: string | null; headers: unknown[] }>; start: number }>(`${url}/api/topics/${TOPIC}/messages?${q}`)
      const b = await get<typeof a>(`${own}/api/topics/${TOPIC}/messages?${q}`)
      expect(a.messages).toEqual(b.messages)
      expect(a.start).toBe(b.start)
    }
    const byKey = await get<{ messages: Array<{ offset: number; key: string }>; scanned: number }>(`${url}/api/topics/${TOPIC}/messages?partition=0&from=start&key=ap`)
    expect(byKey.messages.map((m) => [m.offset, text(m.key)])).toEqual([
      [0, 'apple'],
      [2, 'apricot'],
    ])
    expect(byKey.scanned).toBe(6)
    const byOffset = await get<{ messages: Array<{ offset: number; value: string; headers: Array<{ key: string; value: string }> }> }>(`${url}/api/topics/${TOPIC}/messages?partition=0&offset=1&limit=2`)
    expect(byOffset.messages.map((m) => [m.offset, text(m.value), m.headers.map((h) => `${h.key}=${text(h.value)}`)])).toEqual([
      [1, 'v1', ['n=1']],
      [2, 'v2', ['n=2']],
    ])
    // The group's lag, as the broker computes it.
    const g = await get<{ offsets: Array<{ partition: number; lag: number }>; state: string }>(`${url}/api/groups/${GROUP}`)
    expect(g.offsets).toEqual((await get<typeof g>(`${own}/api/groups/${GROUP}`)).offsets)
    expect(g.offsets.map((o) => [o.partition, o.lag])).toEqual([
      [0, 2],
      [1, 0],
    ])
    const groups = await get<Array<{ groupId: string; lag: number }>>(`${url}/api/groups`)
    expect(groups.find((x) => x.groupId === GROUP)?.lag).toBe(2)
    // Actions are refused without --allow-actions.
    expect((await post(`${url}/api/topics/${TOPIC}/messages`, { value: 'no' })).status).toBe(403)
    expect((await post(`${url}/api/topics/${TOPIC}/configs`, { set: { 'retention.ms': '1' } })).status).toBe(403)
    expect((await fetch(`${url}/api/topics/${TOPIC}`, { method: 'DELETE' })).status).toBe(403)
  }, 25_000)

  it('shows a share group with members and start offsets, alters configs and produces with --allow-actions', async () => {
    const admin = new AdminClient({ bootstrap: [broker.address] })
    await admin.connect()
    const share = new ShareConsumer({ bootstrap: [broker.address], groupId: SHARE, acknowledgementMode: 'implicit', maxWaitMs: 100 })
    try {
      await admin.incrementalAlterConfigs({ type: ConfigResourceType.Group, name: SHARE }, [{ name: 'share.auto.offset.reset', op: AlterConfigOp.Set, value: 'earliest' }])
      await share.connect()
      share.subscribe([TOPIC])
      let got = 0
      const deadline = Date.now() + 15_000
      while (got < 7 && Date.now() < deadline) got += (await share.poll()).length
      expect(got).toBe(7)
      await share.poll()
      const url = await samsaConsole(['--allow-actions'])
      const sg = await get<{ type: string; members: Array<{ clientId: string; assignment: Array<{ topic: string; partitions: number[] }> }>; sharePartitions: Array<{ partition: number; startOffset: number; endOffset: number; acquired: number | null }>; notes: string[] }>(
        `${url}/api/groups/${SHARE}`,
      )
      expect(sg.type).toBe('share')
      expect(sg.members).toHaveLength(1)
      expect(sg.members[0]!.assignment).toEqual([{ topic: TOPIC, partitions: [0, 1] }])
      expect(sg.sharePartitions.map((p) => [p.partition, p.endOffset, p.acquired])).toEqual([
        [0, 6, null],
        [1, 1, null],
      ])
      // The broker's own view has the same start offsets, plus the in-flight record states.
      const own = await get<typeof sg>(`${broker.http!.url}/api/groups/${SHARE}`)
      expect(own.sharePartitions.map((p) => p.startOffset)).toEqual(sg.sharePartitions.map((p) => p.startOffset))
      expect(own.sharePartitions.every((p) => p.acquired !== null)).toBe(true)
      // Alter a config and read it back with the admin client.
      const altered = await post(`${url}/api/topics/${TOPIC}/configs`, { set: { 'retention.ms': '7200000' } })
      expect(altered.status).toBe(200)
      const entries = await admin.describeConfigs({ type: ConfigResourceType.Topic, name: TOPIC }, ['retention.ms'])
      expect(entries[0]?.value).toBe('7200000')
      const refused = await post(`${url}/api/topics/${TOPIC}/configs`, { set: { 'retention.ms': 'soon' } })
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as { error: string }).error).toMatch(/INVALID_CONFIG/)
      // Produce a record: it lands where the answer says.
      const produced = await post(`${url}/api/topics/${TOPIC}/messages`, { partition: 1, key: 'from-console', value: 'hello', headers: { via: 'cli' } })
      expect(produced.status).toBe(200)
      const at = (await produced.json()) as { partition: number; offset: number }
      expect(at).toEqual({ partition: 1, offset: 1 })
      const page = await get<{ messages: Array<{ key: string; value: string; headers: Array<{ key: string; value: string }> }> }>(`${broker.http!.url}/api/topics/${TOPIC}/messages?partition=1&offset=1`)
      expect(page.messages.map((m) => [text(m.key), text(m.value), text(m.headers[0]!.value)])).toEqual([['from-console', 'hello', 'cli']])
    } finally {
      await share.close()
      await admin.close()
    }
  }, 30_000)
})
