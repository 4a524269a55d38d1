// kcat (librdkafka) against an in-process broker: metadata listing, keyed produce, consume from
// the beginning, from an offset and from a timestamp, plain and JSON output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Producer } from 'kafkajs'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { assertAvailable, probeKcat, skipNote } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'
import { readPartition } from '../helpers/wire.js'

const probe = probeKcat()

let tb: TestBroker
let admin: Admin
let producer: Producer

function kcat(args: string[], input?: string) {
  return run('kcat', ['-b', tb.address, '-X', 'broker.address.family=v4', '-m', '15', ...args], {
    input,
    timeoutMs: 30_000,
  }).then((r) => expectSuccess(`kcat ${args.join(' ')}`, r))
}

/** Consumes partition 0 of `topic` with `-o offset` to the end; one `offset|key|value` per line. */
async function consumeLines(topic: string, offset: string): Promise<string[]> {
  const r = await kcat(['-C', '-q', '-t', topic, '-p', '0', '-o', offset, '-e', '-f', '%o|%k|%s\n'])
  return r.stdout.split('\n').filter(Boolean)
}

describe.skipIf(probe.skip)(`kcat${skipNote(probe)}`, () => {
  beforeAll(async () => {
    assertAvailable(probe)
    tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
    const kafka = kafkaClient(tb.address)
    admin = kafka.admin()
    await admin.connect()
    producer = kafka.producer()
    await producer.connect()
  })

  afterAll(async () => {
    await producer?.disconnect().catch(() => {})
    await admin?.disconnect().catch(() => {})
    await tb?.stop()
  })

  it('-L lists topics with their partitions', async () => {
    await admin.createTopics({ topics: [{ topic: 'kc-meta', numPartitions: 3 }] })
    const text = (await kcat(['-L'])).stdout
    expect(text).toMatch(/ 1 brokers:/)
    expect(text).toContain(`broker ${tb.broker.nodeId} at ${tb.address}`)
    expect(text).toMatch(/topic "kc-meta" with 3 partitions:/)
    for (let p = 0; p < 3; p++) expect(text).toMatch(new RegExp(`partition ${p}, leader ${tb.broker.nodeId}, replicas: ${tb.broker.nodeId}, isrs: ${tb.broker.nodeId}`))
  })

  it('-L -J reports the same metadata as JSON', async () => {
    const md = JSON.parse((await kcat(['-L', '-J', '-t', 'kc-meta'])).stdout)
    expect(md.brokers).toEqual([{ id: tb.broker.nodeId, name: tb.address }])
    const topic = md.topics.find((t: { topic: string }) => t.topic === 'kc-meta')
    expect(topic.partitions.map((p: { partition: number; leader: number }) => [p.partition, p.leader])).toEqual([
      [0, tb.broker.nodeId],
      [1, tb.broker.nodeId],
      [2, tb.broker.nodeId],
    ])
  })

  it('-P -K: produces keyed records that -C -o beginning -e reads back', async () => {
    await admin.createTopics({ topics: [{ topic: 'kc-keys', numPartitions: 1 }] })
    const lines = Array.from({ length: 12 }, (_, i) => `key${i}:value ${i}`)
    await kcat(['-P', '-t', 'kc-keys', '-p', '0', '-K:', '-H', 'origin=kcat'], lines.join('\n') + '\n')

    // what the broker stored, read independently of librdkafka
    const stored = await readPartition(tb.address, 'kc-keys', 0)
    expect(stored.map((r) => [r.offset, Buffer.from(r.key!).toString(), Buffer.from(r.value!).toString()])).toEqual(
      lines.map((l, i) => [i, `key${i}`, `value ${i}`]),
    )
    expect(stored.every((r) => r.headers.length === 1 && r.headers[0]!.key === 'origin' && Buffer.from(r.headers[0]!.value!).toString() === 'kcat')).toBe(true)

    expect(await consumeLines('kc-keys', 'beginning')).toEqual(lines.map((_, i) => `${i}|key${i}|value ${i}`))
  })

  it('-C -o <offset> -e starts at that offset', async () => {
    expect(await consumeLines('kc-keys', '9')).toEqual(['9|key9|value 9', '10|key10|value 10', '11|key11|value 11'])
  })

  it('-C -o s@<timestamp> -e starts at the first record at or after the timestamp', async () => {
    const topic = 'kc-time'
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const t0 = Date.now() - 120_000
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, timestamp: String(t0 + i * 10_000) })),
    })
    expect(await consumeLines(topic, `s@${t0 + 30_000}`)).toEqual(['3|k3|v3', '4|k4|v4', '5|k5|v5'])
    expect(await consumeLines(topic, `s@${t0 + 25_000}`)).toEqual(['3|k3|v3', '4|k4|v4', '5|k5|v5'])
    expect(await consumeLines(topic, `s@${t0 - 1}`)).toHaveLength(6)
  })

  it('-C -J emits one JSON object per record with offset, key, payload and timestamp', async () => {
    const topic = 'kc-time'
    const r = await kcat(['-C', '-q', '-J', '-t', topic, '-p', '0', '-o', '4', '-e'])
    const rows = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l))
    expect(rows).toHaveLength(2)
    expect(rows.map((m) => [m.topic, m.partition, m.offset, m.key, m.payload, m.tstype])).toEqual([
      [topic, 0, 4, 'k4', 'v4', 'create'],
      [topic, 0, 5, 'k5', 'v5', 'create'],
    ])
    expect(rows[1].ts - rows[0].ts).toBe(10_000)
  })

  it('-G consumes as a group member, commits its offsets, and a restarted member resumes after them', async () => {
    const topic = 'kc-group'
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    await producer.send({ topic, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ value: `g${i}`, partition: i % 2 })) })
    const member = async () => {
      // no -o: kcat would assign that offset and ignore the committed one
      const r = await kcat(['-G', 'kc-grp', '-q', '-X', 'auto.offset.reset=earliest', '-e', '-f', '%p|%o|%s\n', topic])
      return r.stdout.split('\n').filter(Boolean).sort()
    }
    const expected = Array.from({ length: 10 }, (_, i) => `${i % 2}|${Math.floor(i / 2)}|g${i}`).sort()
    expect(await member()).toEqual(expected)
    const committed = await admin.fetchOffsets({ groupId: 'kc-grp', topics: [topic] })
    expect(committed[0]!.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
      [0, '5'],
      [1, '5'],
    ])
    await producer.send({ topic, acks: -1, messages: [{ value: 'late', partition: 1 }] })
    expect(await member()).toEqual(['1|5|late'])
  })
})
