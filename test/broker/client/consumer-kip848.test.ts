// The project's consumer in KIP-848 consumer groups (groupProtocol 'consumer') against a real
// broker, everything over the project's own client: one member reads and commits, a second takes
// over from the committed offsets; three members go through a rolling restart while records are
// produced, and no record is processed twice within a member epoch, none is skipped, and the
// committed offsets end at the log end; a member the coordinator forgot drops its partitions
// without committing and rejoins under the same id; a static member restarted with its instance
// id gets its partitions back without moving the group epoch; a pattern subscription is resolved
// by the broker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdminClient } from '../../../broker/client/admin-client.js'
import { BrokerConnection } from '../../../broker/client/connection.js'
import { Consumer, type ConsumerOptions, type TopicPartitions } from '../../../broker/client/consumer.js'
import { Producer } from '../../../broker/client/producer.js'
import { ConsumerGroupHeartbeatApi } from '../../../protocol/generated/consumer-group-heartbeat.js'
import { ErrorCode } from '../../../protocol/errors.js'
import { startTestBroker, type TestBroker } from '../../helpers/broker.js'
import { sleep, waitFor } from '../../helpers/wait.js'

let broker: TestBroker
let admin: AdminClient
let producer: Producer

beforeAll(async () => {
  broker = await startTestBroker({ 'group.consumer.heartbeat.interval.ms': '100', 'group.consumer.session.timeout.ms': '6000' })
  admin = new AdminClient({ bootstrap: [broker.address] })
  producer = new Producer({ bootstrap: [broker.address] })
})

afterAll(async () => {
  await producer?.close()
  await admin?.close()
  await broker?.stop()
})

async function topic(name: string, partitions: number, perPartition = 0): Promise<void> {
  await admin.createTopics([{ name, numPartitions: partitions }])
  if (perPartition > 0) await produce(name, partitions, perPartition)
}

async function produce(name: string, partitions: number, perPartition: number, tag = ''): Promise<void> {
  for (let p = 0; p < partitions; p++) {
    await producer.send(name, Array.from({ length: perPartition }, (_, i) => ({ partition: p, value: `${tag}${p}:${i}` })))
  }
}

interface Delivery {
  member: string
  epoch: number
  partition: number
  offset: number
}

/** A consumer polling in the background, logging each record with the member epoch it was delivered at. */
function member(groupId: string, name: string, subscribe: (c: Consumer) => void, extra: Partial<ConsumerOptions> = {}) {
  const consumer = new Consumer({
    bootstrap: [broker.address],
    clientId: `kip848-${name}`,
    groupId,
    groupProtocol: 'consumer',
    offsetReset: 'earliest',
    rebalanceTimeoutMs: 10_000,
    maxWaitMs: 100,
    autoCommitIntervalMs: 200,
    ...extra,
  })
  const log: Delivery[] = []
  let stopped = false
  let failure: unknown = null
  subscribe(consumer)
  const loop = (async () => {
    try {
      while (!stopped) {
        const records = await consumer.poll()
        const epoch = consumer.groupMetadata().generationId
        for (const r of records) log.push({ member: name, epoch, partition: r.partition, offset: r.offset })
      }
    } catch (err) {
      failure = err
    }
  })()
  return {
    consumer,
    log,
    get failure() {
      return failure
    },
    async stop() {
      stopped = true
      consumer.wakeup()
      await loop
      await consumer.close()
      if (failure !== null) throw failure
    },
  }
}

/** The group is Stable with `n` members, each at the assignment epoch and owning its whole target. */
async function stable(groupId: string, n: number, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const [g] = await admin.describeConsumerGroups([groupId])
      const settled =
        g.error === null &&
        g.state === 'Stable' &&
        g.members.length === n &&
        g.members.every((m) => m.memberEpoch === g.assignmentEpoch && JSON.stringify(m.assignment) === JSON.stringify(m.targetAssignment))
      return settled ? g : null
    },
    { timeoutMs, what: `${n} members of '${groupId}' to settle` },
  )
}

async function logEnds(name: string): Promise<Map<number, number>> {
  return new Map((await admin.topicOffsets(name)).map((o) => [o.partition, o.high]))
}

async function committed(groupId: string, name: string): Promise<Map<number, number>> {
  return new Map((await admin.fetchOffsets(groupId, [name])).map((c) => [c.partition, c.offset]))
}

describe('consumer protocol (KIP-848) with the project client', () => {
  it('reads and commits as a member the broker assigns to, and a successor resumes at the commits', async () => {
    await topic('kip848-basic', 3, 10)
    const first = member('kip848-basic-g', 'first', (c) => c.subscribe(['kip848-basic']))
    await waitFor(() => first.log.length >= 30, { what: 'the first member to read every record' })
    const [g] = await admin.describeConsumerGroups(['kip848-basic-g'])
    expect(g.members).toHaveLength(1)
    const meta = first.consumer.groupMetadata()
    // KIP-848 v1: the member names itself with a UUID; the broker describes it under that id.
    expect(meta.memberId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(g.members[0]!.memberId).toBe(meta.memberId)
    expect(g.members[0]!.clientId).toBe('kip848-first')
    expect(g.members[0]!.memberEpoch).toBe(meta.generationId)
    expect(meta.generationId).toBeGreaterThan(0)
    expect(g.members[0]!.assignment).toEqual([{ topic: 'kip848-basic', partitions: [0, 1, 2] }])
    expect(first.consumer.assignment()).toEqual(new Map([['kip848-basic', [0, 1, 2]]]))
    await first.stop()
    // Leaving (epoch -1) empties the group; close committed every position first.
    expect((await admin.describeConsumerGroups(['kip848-basic-g']))[0]!.state).toBe('Empty')
    expect(await committed('kip848-basic-g', 'kip848-basic')).toEqual(new Map([[0, 10], [1, 10], [2, 10]]))

    await produce('kip848-basic', 3, 5, 'more-')
    const second = member('kip848-basic-g', 'second', (c) => c.subscribe(['kip848-basic']))
    await waitFor(() => second.log.length >= 15, { what: 'the second member to read the new records' })
    await sleep(300)
    await second.stop()
    expect(second.log.map((d) => d.offset).every((o) => o >= 10)).toBe(true)
    expect(second.log).toHaveLength(15)
  })

  it('three members through a rolling restart: nothing processed twice within an epoch, nothing skipped', async () => {
    const TOPIC = 'kip848-rolling'
    const GROUP = 'kip848-rolling-g'
    const PARTITIONS = 6
    await topic(TOPIC, PARTITIONS)
    let producing = true
    let produced = 0
    const production = (async () => {
      for (let round = 0; producing; round++) {
        await producer.send(TOPIC, Array.from({ length: PARTITIONS }, (_, p) => ({ partition: p, value: `r${round}` })))
        produced += PARTITIONS
        await sleep(15)
      }
    })()
    const log: Delivery[] = []
    const start = (name: string) => member(GROUP, name, (c) => c.subscribe([TOPIC]))
    const members = ['a', 'b', 'c'].map(start)
    let g = await stable(GROUP, 3)
    expect(g.members.map((m) => m.assignment[0]?.partitions.length).sort()).toEqual([2, 2, 2])
    const epochs = [g.groupEpoch]

    // Stop one (it commits and leaves with epoch -1), let the others take its partitions, start it again.
    for (let i = 0; i < members.length; i++) {
      await sleep(150)
      const old = members[i]!
      await old.stop()
      log.push(...old.log)
      g = await stable(GROUP, 2)
      epochs.push(g.groupEpoch)
      members[i] = start(`${'abc'[i]}${i}`)
      g = await stable(GROUP, 3)
      epochs.push(g.groupEpoch)
    }
    producing = false
    await production
    const ends = await logEnds(TOPIC)
    const total = [...ends.values()].reduce((n, e) => n + e, 0)
    expect(total).toBe(produced)
    await waitFor(() => new Set([...log, ...members.flatMap((m) => m.log)].map((d) => `${d.partition}:${d.offset}`)).size >= total, {
      what: 'every produced record to be processed',
    })
    for (const m of members) {
      await m.stop()
      log.push(...m.log)
    }

    // Every membership change moved the group epoch.
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBeGreaterThan(epochs[i - 1]!)
    // Within one epoch a record of a partition reached one member once.
    const byEpoch = new Map<string, Delivery>()
    for (const d of log) {
      const key = `${d.partition}:${d.offset}@${d.epoch}`
      const seen = byEpoch.get(key)
      if (seen !== undefined) throw new Error(`record ${d.partition}:${d.offset} processed twice in epoch ${d.epoch} (by ${seen.member} and ${d.member})`)
      byEpoch.set(key, d)
    }
    // None skipped: every offset of every partition was processed; and since every revocation
    // committed first, none was processed twice at all.
    const processed = new Map<number, number[]>()
    for (const d of log) processed.set(d.partition, [...(processed.get(d.partition) ?? []), d.offset])
    for (const [p, end] of ends) {
      expect([...new Set(processed.get(p))].sort((a, b) => a - b)).toEqual(Array.from({ length: end }, (_, i) => i))
    }
    expect(log).toHaveLength(total)
    expect(await committed(GROUP, TOPIC)).toEqual(ends)
  })

  it('a member the coordinator forgot loses its partitions without committing and rejoins under the same id', async () => {
    await topic('kip848-fenced', 2, 5)
    const lostLog: TopicPartitions[] = []
    const m = member('kip848-fenced-g', 'fenced', (c) => c.subscribe(['kip848-fenced']), {
      autoCommit: false,
      onLost: (ps) => lostLog.push(ps),
    })
    await waitFor(() => m.log.length >= 10, { what: 'the member to read every record' })
    const { memberId, generationId } = m.consumer.groupMetadata()
    // Another connection sends the member's leave: the coordinator forgets it, and its next
    // heartbeat is answered UNKNOWN_MEMBER_ID.
    const conn = await BrokerConnection.connect(broker.address, { clientId: 'intruder', connectTimeoutMs: 3000, requestTimeoutMs: 5000 })
    const left = await conn.request(ConsumerGroupHeartbeatApi, 1, {
      groupId: 'kip848-fenced-g',
      memberId,
      memberEpoch: -1,
      instanceId: null,
      rackId: null,
      rebalanceTimeoutMs: -1,
      subscribedTopicNames: null,
      subscribedTopicRegex: null,
      serverAssignor: null,
      topicPartitions: null,
    })
    conn.close()
    expect(left.errorCode).toBe(ErrorCode.NONE)
    await waitFor(() => lostLog.length > 0, { what: 'the member to drop its partitions' })
    expect(lostLog[0]).toEqual(new Map([['kip848-fenced', [0, 1]]]))
    const g = await stable('kip848-fenced-g', 1)
    expect(g.members[0]!.memberId).toBe(memberId)
    // Nothing was committed, so the rejoined member reads everything again, in a later epoch.
    await waitFor(() => m.log.length >= 20, { what: 'the rejoined member to read every record again' })
    expect(m.consumer.groupMetadata().generationId).toBeGreaterThan(generationId)
    await m.stop()
    const again = m.log.slice(10)
    expect(again.every((d) => d.epoch > generationId)).toBe(true)
    expect(again.map((d) => `${d.partition}:${d.offset}`).sort()).toEqual(m.log.slice(0, 10).map((d) => `${d.partition}:${d.offset}`).sort())
  })

  it('a static member restarted under its instance id gets its partitions back without a new group epoch', async () => {
    await topic('kip848-static', 4, 3)
    const start = (id: string) => member('kip848-static-g', id, (c) => c.subscribe(['kip848-static']), { groupInstanceId: id })
    const a = start('sa')
    const b = start('sb')
    const before = await stable('kip848-static-g', 2)
    const held = before.members.find((m) => m.instanceId === 'sa')!.assignment
    await a.stop()
    // Left with epoch -2: still a member, its partitions waiting for it.
    const [during] = await admin.describeConsumerGroups(['kip848-static-g'])
    expect(during.members).toHaveLength(2)
    const a2 = start('sa')
    await waitFor(() => a2.consumer.assignment().size > 0, { what: 'the restarted member to own partitions' })
    const after = await stable('kip848-static-g', 2)
    expect(after.groupEpoch).toBe(before.groupEpoch)
    const back = after.members.find((m) => m.instanceId === 'sa')!
    expect(back.memberId).toBe(a2.consumer.groupMetadata().memberId)
    expect(back.memberId).not.toBe(before.members.find((m) => m.instanceId === 'sa')!.memberId)
    expect(back.assignment).toEqual(held)
    expect([...a2.consumer.assignment()].map(([topic, partitions]) => ({ topic, partitions }))).toEqual(held)
    await a2.stop()
    await b.stop()
  })

  it('subscribes to a pattern the broker resolves to topic names', async () => {
    await topic('kip848-re-one', 1, 2)
    await topic('kip848-re-two', 2, 2)
    await topic('kip848-other', 1, 2)
    const m = member('kip848-re-g', 'pattern', (c) => c.subscribePattern('kip848-re-.*'))
    await waitFor(() => m.log.length >= 6, { what: 'the member to read both matching topics' })
    expect(m.consumer.assignment()).toEqual(
      new Map([
        ['kip848-re-one', [0]],
        ['kip848-re-two', [0, 1]],
      ]),
    )
    const [g] = await admin.describeConsumerGroups(['kip848-re-g'])
    expect(g.members[0]!.subscribedTopicRegex).toBe('kip848-re-.*')
    await m.stop()
  })
})
