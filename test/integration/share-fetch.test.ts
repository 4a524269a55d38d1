// ShareFetch and ShareAcknowledge (KIP-932) over real sockets against an in-process broker, with
// kafkajs producing: share sessions and their epochs, records acquired by one member and not by
// another, piggy-backed and standalone acknowledgements, redelivery with the delivery count,
// long polling, hostile acknowledgements answered with Kafka's error codes while the state stays
// unharmed, read_committed skipping aborted transactions, closing a session releasing records, and
// the start offsets described, altered and deleted (DescribeShareGroupOffsets and its siblings).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Producer } from 'kafkajs'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ApiVersionsResponse } from '../../protocol/generated/api-versions.js'
import type { DescribeShareGroupOffsetsResponse } from '../../protocol/generated/describe-share-group-offsets.js'
import type { AlterShareGroupOffsetsResponse } from '../../protocol/generated/alter-share-group-offsets.js'
import type { DeleteShareGroupOffsetsResponse } from '../../protocol/generated/delete-share-group-offsets.js'
import type { DeleteTopicsResponse } from '../../protocol/generated/delete-topics.js'
import { readShareInFlight } from '../../protocol/samsa-share-in-flight.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, WireClient } from '../helpers/wire.js'
import { ACCEPT, RELEASE, REJECT, ShareMemberClient, delivered, setGroupConfig, type Ack } from '../helpers/share-wire.js'

let tb: TestBroker
let admin: WireClient
let producer: Producer
const topicIds = new Map<string, string>()
const members: ShareMemberClient[] = []

beforeAll(async () => {
  tb = await startTestBroker()
  admin = await WireClient.connect(tb.address)
  for (const [name, id] of await createTopics(admin, [
    { name: 'sf-basic', partitions: 1 },
    { name: 'sf-hostile', partitions: 1 },
    { name: 'sf-txn', partitions: 1 },
    { name: 'sf-poll', partitions: 2 },
    { name: 'sf-admin', partitions: 2 },
  ])) topicIds.set(name, id)
  producer = kafkaClient(tb.address).producer()
  await producer.connect()
})

afterAll(async () => {
  for (const m of members) m.close()
  await producer?.disconnect()
  admin?.close()
  await tb?.stop()
})

async function member(groupId: string, memberId: string, topic: string): Promise<ShareMemberClient> {
  const m = await ShareMemberClient.connect(tb.address, groupId, memberId)
  members.push(m)
  expect((await m.join([topic])).errorCode).toBe(ErrorCode.NONE)
  return m
}

async function produce(topic: string, values: string[], partition = 0): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition })) })
}

const acks = (partition: number, ...list: Ack[]): Map<number, Ack[]> => new Map([[partition, list]])
const ack = (firstOffset: number, lastOffset: number, type: number): Ack => ({ firstOffset, lastOffset, acknowledgeTypes: [type] })

describe('ShareFetch and ShareAcknowledge', () => {
  it('advertises ShareFetch and ShareAcknowledge v1 only', async () => {
    const { body } = await admin.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
    for (const key of [ApiKey.ShareFetch, ApiKey.ShareAcknowledge]) expect(body.apiKeys.find((k) => k.apiKey === key)).toMatchObject({ minVersion: 1, maxVersion: 1 })
  })

  it('acquires for one member at a time, redelivers released records with their delivery count, and moves on after Accept', async () => {
    const topicId = topicIds.get('sf-basic')!
    await setGroupConfig(admin, 'sg-basic', { 'share.auto.offset.reset': 'earliest' })
    await produce('sf-basic', ['a', 'b', 'c', 'd'])
    const one = await member('sg-basic', 'one', 'sf-basic')
    const two = await member('sg-basic', 'two', 'sf-basic')

    const first = await one.fetch(topicId, [0])
    expect(first.errorCode).toBe(ErrorCode.NONE)
    expect(first.acquisitionLockTimeoutMs).toBe(30_000)
    expect(delivered(first).map((r) => [r.offset, r.value, r.deliveryCount])).toEqual([[0, 'a', 1], [1, 'b', 1], [2, 'c', 1], [3, 'd', 1]])
    // Everything is held by one: two gets nothing (it does not wait: MaxWaitMs 0).
    expect(delivered(await two.fetch(topicId, [0]))).toEqual([])

    // one accepts 0-1, releases 2, rejects 3, on a ShareFetch that asks for no records (MaxRecords 0).
    const next = await one.fetch(topicId, [], { maxRecords: 0, acks: acks(0, ack(0, 1, ACCEPT), ack(2, 2, RELEASE), ack(3, 3, REJECT)) })
    expect(next.responses[0]!.partitions[0]).toMatchObject({ acknowledgeErrorCode: ErrorCode.NONE })
    // The released record goes to whoever fetches next, delivered a second time.
    const again = await two.fetch(topicId, [0])
    expect(delivered(again).map((r) => [r.offset, r.value, r.deliveryCount])).toEqual([[2, 'c', 2]])
    const done = await two.acknowledge(topicId, acks(0, ack(2, 2, ACCEPT)))
    expect(done.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)

    // Piggy-backed on a fetch that does acquire: the Release is applied first, so the same
    // member gets the record back.
    await produce('sf-basic', ['e'])
    const e = delivered(await one.fetch(topicId, [0]))
    expect(e.map((r) => [r.offset, r.value, r.deliveryCount])).toEqual([[4, 'e', 1]])
    const back = delivered(await one.fetch(topicId, [0], { acks: acks(0, ack(4, 4, RELEASE)) }))
    expect(back.map((r) => [r.offset, r.value, r.deliveryCount])).toEqual([[4, 'e', 2]])
  })

  it('answers session errors as Kafka does', async () => {
    const topicId = topicIds.get('sf-basic')!
    const m = await member('sg-session', 'solo', 'sf-basic')
    expect((await m.fetch(topicId, [0], { epoch: 3 })).errorCode).toBe(ErrorCode.SHARE_SESSION_NOT_FOUND)
    expect((await m.acknowledge(topicId, acks(0, ack(0, 0, ACCEPT)), 1)).errorCode).toBe(ErrorCode.SHARE_SESSION_NOT_FOUND)
    expect((await m.fetch(topicId, [0], { acks: acks(0, ack(0, 0, ACCEPT)) })).errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect((await m.fetch(topicId, [0])).errorCode).toBe(ErrorCode.NONE)
    expect((await m.fetch(topicId, [0], { epoch: 7 })).errorCode).toBe(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
    expect((await m.acknowledge(topicId, acks(0, ack(0, 0, ACCEPT)), 0)).errorCode).toBe(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
    expect((await m.fetch(topicId, [0], { epoch: -5 })).errorCode).toBe(ErrorCode.INVALID_SHARE_SESSION_EPOCH)
    // The right epoch still works after the refusals.
    expect((await m.fetch(topicId, [0])).errorCode).toBe(ErrorCode.NONE)
  })

  it('refuses hostile acknowledgements with INVALID_RECORD_STATE or INVALID_REQUEST and keeps the state', async () => {
    const topicId = topicIds.get('sf-hostile')!
    await setGroupConfig(admin, 'sg-hostile', { 'share.auto.offset.reset': 'earliest' })
    await produce('sf-hostile', ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'])
    const owner = await member('sg-hostile', 'owner', 'sf-hostile')
    const thief = await member('sg-hostile', 'thief', 'sf-hostile')
    expect(delivered(await owner.fetch(topicId, [0], { maxRecords: 1 })).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5])
    await thief.fetch(topicId, [0])
    const refusal = async (m: ShareMemberClient, list: Ack[]) => (await m.acknowledge(topicId, acks(0, ...list))).responses[0]!.partitions[0]!.errorCode
    expect(await refusal(thief, [ack(0, 1, ACCEPT)])).toBe(ErrorCode.INVALID_RECORD_STATE) // another member's
    expect(await refusal(owner, [ack(4, 9, ACCEPT)])).toBe(ErrorCode.INVALID_RECORD_STATE) // never delivered
    expect(await refusal(owner, [ack(0, 2, ACCEPT), ack(2, 3, ACCEPT)])).toBe(ErrorCode.INVALID_REQUEST) // overlapping
    expect(await refusal(owner, [ack(0, 0, 9)])).toBe(ErrorCode.INVALID_REQUEST) // unknown type
    expect(await refusal(owner, [{ firstOffset: 0, lastOffset: 3, acknowledgeTypes: [1, 1] }])).toBe(ErrorCode.INVALID_REQUEST)
    expect(await refusal(owner, [ack(3, 1, ACCEPT)])).toBe(ErrorCode.INVALID_REQUEST)
    // Unharmed: the owner still holds every record and acknowledges them all.
    expect(await refusal(owner, [ack(0, 5, ACCEPT)])).toBe(ErrorCode.NONE)
    expect(await refusal(owner, [ack(0, 0, ACCEPT)])).toBe(ErrorCode.INVALID_RECORD_STATE) // already acknowledged
    expect(delivered(await thief.fetch(topicId, [0]))).toEqual([])
  })

  it('long polls until records arrive, and closing the session releases what the member holds', async () => {
    const topicId = topicIds.get('sf-poll')!
    const waiting = await member('sg-poll', 'waiter', 'sf-poll')
    const other = await member('sg-poll', 'other', 'sf-poll')
    // Initializes both share partitions at the log end (latest), nothing yet.
    expect(delivered(await waiting.fetch(topicId, [0, 1]))).toEqual([])
    const parked = waiting.fetch(topicId, [], { maxWaitMs: 15_000 })
    await new Promise((r) => setTimeout(r, 200))
    await produce('sf-poll', ['p0', 'p1'], 1)
    const got = delivered(await parked)
    expect(got.map((r) => [r.partition, r.value])).toEqual([[1, 'p0'], [1, 'p1']])
    // Closing the session with -1 (ShareAcknowledge, no acknowledgements) gives them back.
    expect((await waiting.acknowledge(topicId, new Map(), -1)).errorCode).toBe(ErrorCode.NONE)
    const taken = delivered(await other.fetch(topicId, [0, 1]))
    expect(taken.map((r) => [r.value, r.deliveryCount])).toEqual([['p0', 2], ['p1', 2]])
  })

  it('read_committed (share.isolation.level) skips aborted transactions and control records', async () => {
    const topicId = topicIds.get('sf-txn')!
    await setGroupConfig(admin, 'sg-txn', { 'share.auto.offset.reset': 'earliest', 'share.isolation.level': 'read_committed' })
    const txProducer = kafkaClient(tb.address).producer({ transactionalId: 'sf-txn-producer', idempotent: true, maxInFlightRequests: 1 })
    await txProducer.connect()
    try {
      const aborted = await txProducer.transaction()
      await aborted.send({ topic: 'sf-txn', messages: [{ value: 'x1', partition: 0 }, { value: 'x2', partition: 0 }] })
      await aborted.abort()
      const committed = await txProducer.transaction()
      await committed.send({ topic: 'sf-txn', messages: [{ value: 'ok', partition: 0 }] })
      await committed.commit()
    } finally {
      await txProducer.disconnect()
    }
    const m = await member('sg-txn', 'reader', 'sf-txn')
    expect(delivered(await m.fetch(topicId, [0])).map((r) => r.value)).toEqual(['ok'])
    await setGroupConfig(admin, 'sg-txn-uncommitted', { 'share.auto.offset.reset': 'earliest' })
    const plain = await member('sg-txn-uncommitted', 'reader', 'sf-txn')
    expect(delivered(await plain.fetch(topicId, [0])).map((r) => r.value)).toEqual(['x1', 'x2', 'ok'])
  })

  it('describes, alters and deletes share-group start offsets', async () => {
    const topicId = topicIds.get('sf-admin')!
    await setGroupConfig(admin, 'sg-admin', { 'share.auto.offset.reset': 'earliest' })
    await produce('sf-admin', ['s0', 's1', 's2', 's3', 's4'])
    const m = await member('sg-admin', 'admin-1', 'sf-admin')
    expect(delivered(await m.fetch(topicId, [0, 1])).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4])
    expect((await m.acknowledge(topicId, acks(0, ack(0, 2, ACCEPT)))).responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)

    const describe = async (groupId: string, topics: Array<{ topicName: string; partitions: number[] }> | null = null) =>
      (await admin.request<DescribeShareGroupOffsetsResponse>(ApiKey.DescribeShareGroupOffsets, 0, { groups: [{ groupId, topics }] })).body.groups[0]!
    const all = await describe('sg-admin')
    expect(all.errorCode).toBe(ErrorCode.NONE)
    // Kafka's fields, and Samsa's in-flight counts in their tagged field: 3 and 4 still acquired.
    expect(all.topics.map((t) => ({ ...t, partitions: t.partitions.map(({ unknownTaggedFields, ...p }) => ({ ...p, inFlight: readShareInFlight(unknownTaggedFields) })) }))).toEqual([{
      topicName: 'sf-admin',
      topicId,
      partitions: [
        { partitionIndex: 0, startOffset: 3, leaderEpoch: 0, errorCode: ErrorCode.NONE, errorMessage: null, inFlight: { acquired: 2, available: 0, endOffset: 5 } },
        { partitionIndex: 1, startOffset: 0, leaderEpoch: 0, errorCode: ErrorCode.NONE, errorMessage: null, inFlight: { acquired: 0, available: 0, endOffset: 0 } },
      ],
    }])
    expect((await describe('sg-admin', [{ topicName: 'nope', partitions: [0] }])).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect((await describe('sg-nobody')).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)

    const alter = async (startOffset: number) =>
      (await admin.request<AlterShareGroupOffsetsResponse>(ApiKey.AlterShareGroupOffsets, 0, {
        groupId: 'sg-admin',
        topics: [{ topicName: 'sf-admin', partitions: [{ partitionIndex: 0, startOffset }] }],
      })).body.responses[0]!.partitions[0]!.errorCode
    expect(await alter(1)).toBe(ErrorCode.NON_EMPTY_GROUP)
    await m.fetch(topicId, [], { epoch: -1 })
    expect((await m.c.request<any>(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'sg-admin', memberId: 'admin-1', memberEpoch: -1, rackId: null, subscribedTopicNames: null })).body.errorCode).toBe(ErrorCode.NONE)
    expect(await alter(-3)).toBe(ErrorCode.INVALID_REQUEST)
    expect(await alter(1)).toBe(ErrorCode.NONE)
    expect((await describe('sg-admin', [{ topicName: 'sf-admin', partitions: [0] }])).topics[0]!.partitions[0]!.startOffset).toBe(1)
    // Started over: offsets 1-4 are delivered again, as new (delivery count 1).
    const again = await member('sg-admin', 'admin-2', 'sf-admin')
    expect(delivered(await again.fetch(topicId, [0])).map((r) => [r.offset, r.deliveryCount])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1]])
    await again.fetch(topicId, [], { epoch: -1 })
    await again.c.request<any>(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'sg-admin', memberId: 'admin-2', memberEpoch: -1, rackId: null, subscribedTopicNames: null })

    const deleted = (await admin.request<DeleteShareGroupOffsetsResponse>(ApiKey.DeleteShareGroupOffsets, 0, { groupId: 'sg-admin', topics: [{ topicName: 'sf-admin' }, { topicName: 'nope' }] })).body
    expect(deleted.errorCode).toBe(ErrorCode.NONE)
    expect(deleted.responses[0]).toMatchObject({ topicName: 'sf-admin', topicId, partitions: [{ partitionIndex: 0, errorCode: 0 }, { partitionIndex: 1, errorCode: 0 }] })
    expect(deleted.responses[1]).toMatchObject({ topicName: 'nope', partitions: [] })
    expect((await describe('sg-admin')).topics).toEqual([])
    const missing = (await admin.request<DeleteShareGroupOffsetsResponse>(ApiKey.DeleteShareGroupOffsets, 0, { groupId: 'sg-nobody', topics: [{ topicName: 'sf-admin' }] })).body
    expect(missing.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
  })

  it('a member that has left the group still acknowledges and closes its share session, as a closing client does', async () => {
    const topicId = topicIds.get('sf-poll')!
    await setGroupConfig(admin, 'sg-leaving', { 'share.auto.offset.reset': 'earliest' })
    const leaving = await member('sg-leaving', 'leaving', 'sf-poll')
    const got = delivered(await leaving.fetch(topicId, [0, 1]))
    expect(got.length).toBeGreaterThan(0)
    const left = await leaving.c.request<any>(ApiKey.ShareGroupHeartbeat, 1, { groupId: 'sg-leaving', memberId: 'leaving', memberEpoch: -1, rackId: null, subscribedTopicNames: null })
    expect(left.body.errorCode).toBe(ErrorCode.NONE)
    const byPartition = new Map<number, Ack[]>()
    for (const r of got) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), ack(r.offset, r.offset, ACCEPT)])
    const closed = await leaving.acknowledge(topicId, byPartition, -1)
    expect(closed.errorCode).toBe(ErrorCode.NONE)
    expect(closed.responses[0]!.partitions.map((p) => p.errorCode)).toEqual([...byPartition.keys()].map(() => ErrorCode.NONE))
    const next = await member('sg-leaving', 'next', 'sf-poll')
    expect(delivered(await next.fetch(topicId, [0, 1]))).toEqual([])
  })

  it('a deleted topic answers UNKNOWN_TOPIC_ID, and one recreated under its name starts afresh', async () => {
    const id = (await createTopics(admin, [{ name: 'sf-doomed', partitions: 1 }])).get('sf-doomed')!
    await setGroupConfig(admin, 'sg-doomed', { 'share.auto.offset.reset': 'earliest' })
    await produce('sf-doomed', ['d0'])
    const m = await member('sg-doomed', 'doomed', 'sf-doomed')
    expect(delivered(await m.fetch(id, [0])).map((r) => r.value)).toEqual(['d0'])
    const describe = async () =>
      (await admin.request<DescribeShareGroupOffsetsResponse>(ApiKey.DescribeShareGroupOffsets, 0, { groups: [{ groupId: 'sg-doomed', topics: null }] })).body.groups[0]!.topics
    expect((await describe()).map((t) => t.topicName)).toEqual(['sf-doomed'])
    const deleted = await admin.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 4, { topicNames: ['sf-doomed'], timeoutMs: 10_000 })
    expect(deleted.body.responses[0]!.errorCode).toBe(ErrorCode.NONE)
    const after = await m.fetch(id, [0])
    expect(after.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID)
    // Recreated under the same name: a new topic id, a share partition that starts afresh.
    const reborn = (await createTopics(admin, [{ name: 'sf-doomed', partitions: 1 }])).get('sf-doomed')!
    await produce('sf-doomed', ['n0'])
    const fresh = await member('sg-doomed', 'fresh', 'sf-doomed')
    expect(delivered(await fresh.fetch(reborn, [0])).map((r) => [r.offset, r.value, r.deliveryCount])).toEqual([[0, 'n0', 1]])
  })
})
