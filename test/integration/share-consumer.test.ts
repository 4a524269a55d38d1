// The project's share consumer (KIP-932) against an in-process broker over real sockets, kafkajs
// producing: a work queue of five consumers on one partition where every record is accepted
// exactly once, a consumer that stops acknowledging (its records go to the others when their locks
// expire, with delivery count 2), explicit release (delivered again) and reject (never again), and
// the share group described and its start offsets read with the admin client.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Producer } from 'kafkajs'
import { AdminClient, AlterConfigOp, ConfigResourceType } from '../../broker/client/admin-client.js'
import { ShareConsumer, type ShareRecord } from '../../broker/client/share-consumer.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { waitFor } from '../helpers/wait.js'

const LOCK_MS = 1500
/** Records in the work-queue scenario (the scenario's 10,000 runs in a few seconds here). */
const WORK = 10_000

let tb: TestBroker
let admin: AdminClient
let producer: Producer
const consumers: ShareConsumer[] = []

beforeAll(async () => {
  tb = await startTestBroker({
    'group.share.record.lock.duration.ms': String(LOCK_MS),
    'group.share.min.record.lock.duration.ms': '1000',
    'group.share.heartbeat.interval.ms': '100',
    'group.share.min.heartbeat.interval.ms': '100',
  })
  admin = new AdminClient({ bootstrap: [tb.address] })
  await admin.createTopics(['sc-work', 'sc-stall', 'sc-explicit', 'sc-txn'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1 })))
  producer = kafkaClient(tb.address).producer()
  await producer.connect()
})

afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close().catch(() => {})))
  await producer?.disconnect()
  await admin?.close()
  await tb?.stop()
})

async function shareGroup(groupId: string): Promise<void> {
  await admin.incrementalAlterConfigs({ type: ConfigResourceType.Group, name: groupId }, [{ name: 'share.auto.offset.reset', op: AlterConfigOp.Set, value: 'earliest' }])
}

function consumer(groupId: string, topic: string, mode: 'implicit' | 'explicit' = 'implicit', maxRecords = 100): ShareConsumer {
  const c = new ShareConsumer({ bootstrap: [tb.address], groupId, acknowledgementMode: mode, maxWaitMs: 200, maxRecords })
  consumers.push(c)
  c.subscribe([topic])
  return c
}

async function produce(topic: string, count: number, batch = 500): Promise<void> {
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i)
    await producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, j) => ({ value: `v${i + j}`, partition: 0 })) })
  }
}

/** Bounds every polling loop, so a broken consumer fails the test instead of spinning forever. */
const MAX_POLLS = 2_000

/** Polls until `done()` says so; every record goes to `seen`. */
async function pollUntil(c: ShareConsumer, seen: (r: ShareRecord) => void, done: () => boolean): Promise<void> {
  for (let i = 0; !done(); i++) {
    if (i === MAX_POLLS) throw new Error(`still not done after ${MAX_POLLS} polls`)
    for (const r of await c.poll()) seen(r)
  }
}

/** Polls until a poll returns records. */
async function pollSome(c: ShareConsumer): Promise<ShareRecord[]> {
  for (let i = 0; i < MAX_POLLS; i++) {
    const got = await c.poll()
    if (got.length > 0) return got
  }
  throw new Error(`no records after ${MAX_POLLS} polls`)
}

describe('ShareConsumer', () => {
  it(`five consumers on one partition share ${WORK} records, each accepted exactly once`, async () => {
    await shareGroup('sc-work-g')
    await produce('sc-work', WORK)
    const members = Array.from({ length: 5 }, () => consumer('sc-work-g', 'sc-work'))
    const byOffset = new Map<number, number>()
    const perMember = members.map(() => 0)
    let total = 0
    await Promise.all(
      members.map((c, i) =>
        pollUntil(
          c,
          (r) => {
            expect(r.deliveryCount).toBe(1)
            expect(r.value?.toString()).toBe(`v${r.offset}`)
            byOffset.set(r.offset, (byOffset.get(r.offset) ?? 0) + 1)
            perMember[i]++
            total++
          },
          () => total >= WORK,
        ),
      ),
    )
    // Closing accepts what the last polls returned (implicit acknowledgement).
    await Promise.all(members.map((c) => c.close()))
    expect(total).toBe(WORK)
    expect(byOffset.size).toBe(WORK)
    for (let o = 0; o < WORK; o++) expect(byOffset.get(o)).toBe(1)
    // More than one member did some of the work.
    expect(perMember.filter((n) => n > 0).length).toBeGreaterThan(1)
    // Everything was accepted: the share-partition start offset moved to the end.
    await waitFor(async () => (await admin.describeShareGroupOffsets('sc-work-g', ['sc-work']))[0]?.startOffset === WORK, { what: 'start offset at the log end' })
    // Nothing comes back to a new member.
    const late = consumer('sc-work-g', 'sc-work')
    const again: ShareRecord[] = []
    for (let i = 0; i < 10; i++) again.push(...(await late.poll()))
    expect(again).toEqual([])
    await late.close()
  })

  it("a consumer that stops acknowledging loses its records to the others when their locks expire", async () => {
    await shareGroup('sc-stall-g')
    await produce('sc-stall', 300, 100)
    const stalled = consumer('sc-stall-g', 'sc-stall', 'explicit', 100)
    const held = await pollSome(stalled)
    // The stalled member never acknowledges nor polls again; four others take the rest.
    const heldOffsets = new Set(held.map((r) => r.offset))
    const others = Array.from({ length: 4 }, () => consumer('sc-stall-g', 'sc-stall'))
    const got = new Map<number, ShareRecord>()
    await Promise.all(others.map((c) => pollUntil(c, (r) => got.set(r.offset, r), () => got.size >= 300)))
    await Promise.all(others.map((c) => c.close()))
    for (let o = 0; o < 300; o++) expect(got.get(o)?.deliveryCount, `offset ${o}`).toBe(heldOffsets.has(o) ? 2 : 1)
    // The stalled member's locks are gone: its late acknowledgements are refused.
    for (const r of held) stalled.acknowledge(r, 'accept')
    const results = await stalled.commitSync()
    expect(results.length).toBeGreaterThan(0)
    expect(results.every((r) => r.error !== null && (r.error as { type?: string }).type === 'INVALID_RECORD_STATE')).toBe(true)
    await stalled.close()
  })

  it('explicit release delivers a record again; reject archives it', async () => {
    await shareGroup('sc-explicit-g')
    await produce('sc-explicit', 3, 3)
    const c = consumer('sc-explicit-g', 'sc-explicit', 'explicit')
    const deliveries: ShareRecord[] = []
    const accepted = new Set<number>()
    // offset 0: released twice then accepted; offset 1: rejected; offset 2: accepted at once.
    for (let i = 0; accepted.size < 2 || deliveries.filter((d) => d.offset === 0).length < 3; i++) {
      if (i === MAX_POLLS) throw new Error(`deliveries so far: ${JSON.stringify(deliveries.map((d) => [d.offset, d.deliveryCount]))}`)
      for (const r of await c.poll()) {
        deliveries.push(r)
        if (r.offset === 1) c.acknowledge(r, 'reject')
        else if (r.offset === 0 && r.deliveryCount < 3) c.acknowledge(r, 'release')
        else {
          c.acknowledge(r, 'accept')
          accepted.add(r.offset)
        }
      }
      await c.commitSync()
    }
    // A few more polls: nothing is left to deliver.
    for (let i = 0; i < 5; i++) for (const r of await c.poll()) deliveries.push(r)
    expect(deliveries.map((d) => [d.offset, d.deliveryCount])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
      [0, 2],
      [0, 3],
    ])
    expect(() => c.acknowledge(deliveries[0], 'accept')).toThrow(/not awaiting/)
    await c.close()
    expect((await admin.describeShareGroupOffsets('sc-explicit-g'))[0]).toMatchObject({ topic: 'sc-explicit', partition: 0, startOffset: 3 })
  })

  it('an explicit poll with records left unacknowledged throws', async () => {
    await shareGroup('sc-explicit-g2')
    const c = consumer('sc-explicit-g2', 'sc-explicit', 'explicit')
    const got = await pollSome(c)
    await expect(c.poll()).rejects.toThrow(/not acknowledged/)
    const d = (await admin.describeShareGroups(['sc-explicit-g2']))[0]
    expect(d.error).toBeNull()
    expect(d.members.map((m) => m.memberId)).toEqual([c.memberId])
    expect(d.members[0].assignment).toEqual([{ topic: 'sc-explicit', partitions: [0] }])
    await c.close()
    // Closing released the records: a new member gets them again.
    const next = consumer('sc-explicit-g2', 'sc-explicit')
    const again = await pollSome(next)
    expect(again.map((r) => [r.offset, r.deliveryCount])).toEqual(got.map((r) => [r.offset, 2]))
    await next.close()
  })

  it('transaction markers in the log hold nothing up: every acknowledgement is taken and the start offset reaches the end', async () => {
    await shareGroup('sc-txn-g')
    const txProducer = kafkaClient(tb.address).producer({ transactionalId: 'sc-txn-p', maxInFlightRequests: 1, idempotent: true })
    await txProducer.connect()
    for (let i = 0; i < 3; i++) {
      const tx = await txProducer.transaction()
      await tx.send({ topic: 'sc-txn', messages: [{ value: `t${i}a`, partition: 0 }, { value: `t${i}b`, partition: 0 }] })
      await tx.commit()
    }
    await txProducer.disconnect()
    const failures: string[] = []
    const c = new ShareConsumer({ bootstrap: [tb.address], groupId: 'sc-txn-g', maxWaitMs: 200, onAcknowledgementCommit: (r) => r.error !== null && failures.push(r.error.message) })
    consumers.push(c)
    c.subscribe(['sc-txn'])
    const values: string[] = []
    await pollUntil(c, (r) => values.push(r.value!.toString()), () => values.length >= 6)
    expect(values).toEqual(['t0a', 't0b', 't1a', 't1b', 't2a', 't2b'])
    await c.commitSync()
    await c.close()
    expect(failures).toEqual([])
    // Six records and three commit markers.
    expect(await admin.describeShareGroupOffsets('sc-txn-g', ['sc-txn'])).toEqual([{ topic: 'sc-txn', partition: 0, startOffset: 9, error: null, inFlight: { acquired: 0, available: 0, endOffset: 9 } }])
  })
})

describe('ShareConsumer joining under a long heartbeat interval', () => {
  let slow: TestBroker

  beforeAll(async () => {
    slow = await startTestBroker({ 'group.share.heartbeat.interval.ms': '15000' })
  })

  afterAll(async () => {
    await slow?.stop()
  })

  it('asks again soon while its assignment is empty, instead of a whole interval later', async () => {
    const a = new AdminClient({ bootstrap: [slow.address] })
    await a.createTopics([{ name: 'sc-early', numPartitions: 1, replicationFactor: 1 }])
    await a.incrementalAlterConfigs({ type: ConfigResourceType.Group, name: 'sc-early-g' }, [{ name: 'share.auto.offset.reset', op: AlterConfigOp.Set, value: 'earliest' }])
    await a.close()
    const p = kafkaClient(slow.address).producer()
    await p.connect()
    await p.send({ topic: 'sc-early', acks: -1, messages: [{ value: 'early', partition: 0 }] })
    await p.disconnect()
    // The first heartbeat answers before the share partition is initialized; the next regular one
    // would come 15 s later, far beyond these polls of at most 200 ms each.
    const c = new ShareConsumer({ bootstrap: [slow.address], groupId: 'sc-early-g', maxWaitMs: 200 })
    c.subscribe(['sc-early'])
    const got: ShareRecord[] = []
    for (let i = 0; i < 25 && got.length === 0; i++) got.push(...(await c.poll()))
    await c.close()
    expect(got.map((r) => r.value?.toString())).toEqual(['early'])
  })
})
