// Records the request frames real clients send, for the fuzz test's corpus.
//
//   npm run build && node test/fuzz/capture/capture.mjs
//
// Starts the built broker (dist/) in a temporary directory behind a recording TCP proxy that the
// broker advertises as its own address, so every connection a client opens passes through it.
// Then runs one session per client — kafkajs (in this process), librdkafka (confluent-kafka) and
// kafka-python (both under /usr/bin/python3, or SAMSA_TEST_PYTHON) — covering metadata, produce
// with every codec, fetch, consumer groups, offsets, transactions and admin calls. Each client's
// frames are deduplicated (ignoring correlation ids), capped per API key and version, and written
// to test/fuzz/corpus/<client>.frames as they went over the wire: int32 size, then the request.
//
// The sessions use topic, group and transactional ids starting with `fz`, which the fuzz test's
// control client never uses, and make no broker-level config changes (those would legitimately
// change what the control client sees).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import kafkajs from 'kafkajs'
import { startBroker } from '../../../dist/broker/index.js'
import { Codec, compress, decompress } from '../../../dist/protocol/compression.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const corpusDir = path.join(here, '..', 'corpus')
const PYTHON = process.env.SAMSA_TEST_PYTHON ?? '/usr/bin/python3'
/** Frames kept per (API key, version); Produce keeps more, one per codec and producer kind. */
const CAP = 6
const PRODUCE_CAP = 40

// ---------------------------------------------------------------------------------------------
// Recording proxy

let label = 'none'
const recorded = new Map() // label -> Buffer[]

function record(frame) {
  if (!recorded.has(label)) recorded.set(label, [])
  recorded.get(label).push(frame)
}

function startProxy(target) {
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    let pending = Buffer.alloc(0)
    client.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk])
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0)
        if (size < 0 || pending.length < 4 + size) break
        record(Buffer.from(pending.subarray(0, 4 + size)))
        pending = pending.subarray(4 + size)
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => client.write(chunk))
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

// ---------------------------------------------------------------------------------------------
// Sessions

const { Kafka, logLevel, CompressionTypes, CompressionCodecs } = kafkajs
for (const [type, codec] of [
  [CompressionTypes.Snappy, Codec.Snappy],
  [CompressionTypes.LZ4, Codec.Lz4],
  [CompressionTypes.ZSTD, Codec.Zstd],
]) {
  CompressionCodecs[type] = () => ({
    compress: async (encoder) => compress(codec, encoder.buffer),
    decompress: async (buffer) => decompress(codec, buffer),
  })
}

async function kafkajsSession(bootstrap) {
  const kafka = new Kafka({ clientId: 'fz-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [
      { topic: 'fz-js-a', numPartitions: 2 },
      { topic: 'fz-js-b', numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
      { topic: 'fz-js-gone', numPartitions: 1 },
    ],
  })
  await admin.fetchTopicMetadata({ topics: ['fz-js-a', 'fz-js-b'] })
  await admin.describeCluster()
  await admin.createPartitions({ topicPartitions: [{ topic: 'fz-js-a', count: 3 }] })
  await admin.describeConfigs({ resources: [{ type: 2, name: 'fz-js-a' }], includeSynonyms: true })
  await admin.alterConfigs({ resources: [{ type: 2, name: 'fz-js-b', configEntries: [{ name: 'retention.ms', value: '3600000' }] }] })

  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  const types = [CompressionTypes.None, CompressionTypes.GZIP, CompressionTypes.Snappy, CompressionTypes.LZ4, CompressionTypes.ZSTD]
  for (const compression of types) {
    await producer.send({
      topic: 'fz-js-a',
      compression,
      acks: -1,
      messages: [
        { key: 'k1', value: `v-${compression}-1`, headers: { h: 'x', empty: '' } },
        { key: null, value: `v-${compression}-2`, partition: 1 },
        { key: 'k3', value: null },
      ],
    })
  }
  await producer.send({ topic: 'fz-js-b', acks: 1, messages: [{ key: 'ck', value: 'compact-me' }] })
  await producer.send({ topic: 'fz-js-auto', acks: 0, messages: [{ value: 'auto-created' }] })
  await producer.disconnect()

  const idem = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await idem.connect()
  await idem.send({ topic: 'fz-js-a', acks: -1, messages: [{ key: 'i', value: 'idempotent' }] })
  await idem.disconnect()

  const txn = kafka.producer({ transactionalId: 'fz-js-txn', idempotent: true, maxInFlightRequests: 1 })
  await txn.connect()
  const t1 = await txn.transaction()
  await t1.send({ topic: 'fz-js-a', messages: [{ value: 'in-txn', partition: 0 }] })
  await t1.sendOffsets({ consumerGroupId: 'fz-js-group', topics: [{ topic: 'fz-js-a', partitions: [{ partition: 0, offset: '1' }] }] })
  await t1.commit()
  const t2 = await txn.transaction()
  await t2.send({ topic: 'fz-js-a', messages: [{ value: 'aborted', partition: 0 }] })
  await t2.abort()
  await txn.disconnect()

  const consumer = kafka.consumer({ groupId: 'fz-js-group', sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topics: ['fz-js-a', 'fz-js-b'], fromBeginning: true })
  let seen = 0
  await new Promise((resolve) => {
    consumer.run({
      eachMessage: async () => {
        if (++seen === 10) resolve()
      },
    })
  })
  await new Promise((r) => setTimeout(r, 1500)) // a few heartbeats and offset commits
  await consumer.disconnect()

  await admin.listGroups()
  await admin.describeGroups(['fz-js-group'])
  await admin.fetchOffsets({ groupId: 'fz-js-group', topics: ['fz-js-a'] })
  await admin.fetchTopicOffsets('fz-js-a')
  await admin.fetchTopicOffsetsByTimestamp('fz-js-a', Date.now() - 60_000)
  await admin.setOffsets({ groupId: 'fz-js-group', topic: 'fz-js-a', partitions: [{ partition: 0, offset: '0' }] })
  await admin.resetOffsets({ groupId: 'fz-js-group', topic: 'fz-js-b', earliest: true })
  await admin.deleteTopicRecords({ topic: 'fz-js-a', partitions: [{ partition: 1, offset: '1' }] })
  await admin.deleteGroups(['fz-js-group'])
  await admin.deleteTopics({ topics: ['fz-js-gone'] })
  await admin.listTopics()
  await admin.describeAcls({ resourceType: 1, resourcePatternType: 1, operation: 1, permissionType: 1 }).catch(() => {})
  await admin.describeConfigs({ resources: [{ type: 4, name: '1' }], includeSynonyms: false })
  await admin.disconnect()

  // SaslHandshake: the broker serves no mechanism, so this client gets no further
  const sasl = new Kafka({ clientId: 'fz-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 }, sasl: { mechanism: 'plain', username: 'fz', password: 'fz' } })
  const refused = sasl.admin()
  await refused.connect().catch(() => {})
  await refused.disconnect().catch(() => {})
}

function pythonSession(script, bootstrap) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [path.join(here, script), bootstrap], { stdio: ['ignore', 'inherit', 'inherit'] })
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`${script} exited with ${code ?? signal}`))
    })
  })
}

// ---------------------------------------------------------------------------------------------
// Corpus files

function selectFrames(frames) {
  const seen = new Set()
  const perApi = new Map()
  const kept = []
  for (const f of frames) {
    if (f.length < 12) continue
    const apiKey = f.readInt16BE(4)
    const version = f.readInt16BE(6)
    const key = Buffer.from(f)
    key.writeInt32BE(0, 8) // the correlation id does not make a frame different
    const id = key.toString('base64')
    if (seen.has(id)) continue
    seen.add(id)
    const api = `${apiKey}/${version}`
    const n = perApi.get(api) ?? 0
    if (n >= (apiKey === 0 ? PRODUCE_CAP : CAP)) continue
    perApi.set(api, n + 1)
    kept.push(f)
  }
  return { kept, perApi }
}

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'samsa-capture-'))
// The broker must advertise the proxy's port, so the proxy starts first and learns the broker's
// port once it is bound.
const target = { host: '127.0.0.1', port: 0 }
const proxy = await startProxy(target)
const proxyPort = proxy.address().port
const broker = await startBroker({
  dataDir,
  host: '127.0.0.1',
  port: 0,
  advertisedPort: proxyPort,
  config: { 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '2' },
  logLevel: 'warn',
})
target.port = broker.port
const bootstrap = `127.0.0.1:${proxyPort}`

const sessions = [
  ['kafkajs', () => kafkajsSession(bootstrap)],
  ['librdkafka', () => pythonSession('librdkafka-session.py', bootstrap)],
  ['kafka-python', () => pythonSession('kafka-python-session.py', bootstrap)],
]
const only = process.argv.slice(2)
try {
  for (const [name, session] of sessions) {
    if (only.length > 0 && !only.includes(name)) continue
    label = name
    await session()
    await new Promise((r) => setTimeout(r, 200))
    const { kept, perApi } = selectFrames(recorded.get(name) ?? [])
    const file = path.join(corpusDir, `${name}.frames`)
    writeFileSync(file, Buffer.concat(kept))
    const apis = [...perApi.entries()].map(([k, n]) => `${k}x${n}`).join(' ')
    console.log(`${name}: ${recorded.get(name)?.length ?? 0} frames seen, ${kept.length} kept -> ${path.relative(process.cwd(), file)}\n  ${apis}`)
  }
} finally {
  await broker.stop()
  proxy.close()
  rmSync(dataDir, { recursive: true, force: true })
}
process.exit(0)
