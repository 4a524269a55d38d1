// Share-partition state across time and crashes (KIP-932): an acquisition lock that runs out gives
// the records to another member with their delivery count raised, and a broker killed with SIGKILL
// (a child process, no chance to flush) comes back with what was acknowledged still done, what
// was acquired but not acknowledged Available again with its delivery count kept, and the share
// group listed (Empty).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { ListGroupsResponse } from '../../protocol/generated/list-groups.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { createTopics, WireClient } from '../helpers/wire.js'
import { ACCEPT, RELEASE, ShareMemberClient, delivered, setGroupConfig } from '../helpers/share-wire.js'

const clients: Array<{ close(): void }> = []

afterAll(() => {
  for (const c of clients) c.close()
})

async function produce(address: string, topic: string, values: string[]): Promise<void> {
  const producer = kafkaClient(address).producer()
  await producer.connect()
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition: 0 })) })
  await producer.disconnect()
}

async function member(address: string, groupId: string, memberId: string, topic: string): Promise<ShareMemberClient> {
  const m = await ShareMemberClient.connect(address, groupId, memberId)
  clients.push(m)
  expect((await m.join([topic])).errorCode).toBe(ErrorCode.NONE)
  return m
}

describe('acquisition locks', () => {
  let tb: TestBroker

  beforeAll(async () => {
    tb = await startTestBroker({ 'group.share.record.lock.duration.ms': '500', 'group.share.min.record.lock.duration.ms': '1000' })
  })

  afterAll(async () => {
    await tb?.stop()
  })

  it('a lock that runs out returns the records; the late acknowledgement is refused', async () => {
    const c = await WireClient.connect(tb.address)
    clients.push(c)
    const topicId = (await createTopics(c, [{ name: 'locks', partitions: 1 }])).get('locks')!
    await setGroupConfig(c, 'sg-locks', { 'share.auto.offset.reset': 'earliest' })
    await produce(tb.address, 'locks', ['l0', 'l1'])
    const slow = await member(tb.address, 'sg-locks', 'slow', 'locks')
    const quick = await member(tb.address, 'sg-locks', 'quick', 'locks')
    const first = await slow.fetch(topicId, [0])
    expect(first.acquisitionLockTimeoutMs).toBe(500)
    expect(delivered(first).map((r) => r.deliveryCount)).toEqual([1, 1])
    // Parked until the lock runs out and the records come back.
    const redelivered = delivered(await quick.fetch(topicId, [0], { maxWaitMs: 10_000 }))
    expect(redelivered.map((r) => [r.value, r.deliveryCount])).toEqual([['l0', 2], ['l1', 2]])
    const late = await slow.acknowledge(topicId, new Map([[0, [{ firstOffset: 0, lastOffset: 1, acknowledgeTypes: [ACCEPT] }]]]))
    expect(late.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.INVALID_RECORD_STATE)
  })

  it("a group's share.record.lock.duration.ms must lie within the broker's bounds and then applies", async () => {
    const c = await WireClient.connect(tb.address)
    clients.push(c)
    const topicId = (await createTopics(c, [{ name: 'locks-group', partitions: 1 }])).get('locks-group')!
    await expect(setGroupConfig(c, 'sg-lock-config', { 'share.record.lock.duration.ms': '999' })).rejects.toThrow(/group.share.min.record.lock.duration.ms/)
    await expect(setGroupConfig(c, 'sg-lock-config', { 'share.record.lock.duration.ms': '60001' })).rejects.toThrow(/group.share.max.record.lock.duration.ms/)
    await setGroupConfig(c, 'sg-lock-config', { 'share.record.lock.duration.ms': '1000' })
    const m = await member(tb.address, 'sg-lock-config', 'm', 'locks-group')
    expect((await m.fetch(topicId, [0])).acquisitionLockTimeoutMs).toBe(1000)
  })
})

describe('kill -9', () => {
  let dataDir: string
  const children: ChildBroker[] = []

  beforeAll(async () => {
    await ensureBuilt()
    dataDir = await makeTempDir('samsa-share-kill9-')
  }, 200_000)

  afterAll(async () => {
    for (const c of children) await c.kill().catch(() => {})
    await removeDir(dataDir)
  })

  it('keeps acknowledgements and delivery counts across a SIGKILL', async () => {
    const before = await startChildBroker(dataDir)
    children.push(before)
    const c = await WireClient.connect(before.address)
    const topicId = (await createTopics(c, [{ name: 'crash', partitions: 1 }])).get('crash')!
    await setGroupConfig(c, 'sg-crash', { 'share.auto.offset.reset': 'earliest' })
    c.close()
    await produce(before.address, 'crash', ['c0', 'c1', 'c2', 'c3', 'c4', 'c5'])
    const m = await member(before.address, 'sg-crash', 'before', 'crash')
    expect(delivered(await m.fetch(topicId, [0])).map((r) => r.value)).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5'])
    // Answered once persisted: 0-1 accepted, 2 released (Available, delivered once); 3-5 held.
    const acked = await m.acknowledge(topicId, new Map([[0, [
      { firstOffset: 0, lastOffset: 1, acknowledgeTypes: [ACCEPT] },
      { firstOffset: 2, lastOffset: 2, acknowledgeTypes: [RELEASE] },
    ]]]))
    expect(acked.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
    await before.kill()

    const after = await startChildBroker(dataDir)
    children.push(after)
    const admin = await WireClient.connect(after.address)
    clients.push(admin)
    // COORDINATOR_LOAD_IN_PROGRESS until the broker has read its groups back, which clients retry
    const listed = await waitFor(async () => {
      const res = (await admin.request<ListGroupsResponse>(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] })).body
      return res.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? undefined : res
    }, { what: 'ListGroups after the restart' })
    expect(listed.errorCode).toBe(ErrorCode.NONE)
    expect(listed.groups).toEqual([{ groupId: 'sg-crash', protocolType: 'share', groupState: 'Empty', groupType: 'share' }])
    const next = await member(after.address, 'sg-crash', 'after', 'crash')
    const redelivered = await waitFor(async () => {
      const got = delivered(await next.fetch(topicId, [0]))
      return got.length > 0 ? got : undefined
    }, { what: 'records after the restart' })
    expect(redelivered.map((r) => [r.offset, r.value, r.deliveryCount])).toEqual([
      [2, 'c2', 2],
      [3, 'c3', 2],
      [4, 'c4', 2],
      [5, 'c5', 2],
    ])
  })
})
