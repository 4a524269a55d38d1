// The project's consumer in classic consumer groups against a real broker: two members split
// the partitions with each assignor; a third joining a cooperative-sticky group never makes a
// partition change hands within one generation (KIP-429's two rounds); a kafkajs consumer and
// ours share a "range" group, each decoding the other's subscription and assignment.
import kafkajs from 'kafkajs'
import type { PartitionAssigner } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Consumer, cooperativeStickyAssignor, rangeAssignor, type Assignor, type ConsumerOptions, type TopicPartitions } from '../../../broker/client/consumer.js'
import { ErrorCode } from '../../../protocol/errors.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../../helpers/broker.js'
import { describeGroup, WireMember } from '../../helpers/group-wire.js'
import { waitFor } from '../../helpers/wait.js'

let broker: TestBroker

beforeAll(async () => {
  broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
})

afterAll(async () => {
  await broker?.stop()
})

async function topicWithRecords(topic: string, partitions: number, perPartition: number): Promise<void> {
  const kafka = kafkaClient(broker.address)
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
  await admin.disconnect()
  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let p = 0; p < partitions; p++) for (let i = 0; i < perPartition; i++) messages.push({ partition: p, value: `${p}:${i}` })
  await producer.send({ topic, messages })
  await producer.disconnect()
}

/** A consumer polling in the background until stopped; records are collected as "partition:index". */
function run(groupId: string, topic: string, assignors: readonly Assignor[], extra: Partial<ConsumerOptions> = {}) {
  const consumer = new Consumer({
    bootstrap: [broker.address],
    groupId,
    assignors,
    offsetReset: 'earliest',
    heartbeatIntervalMs: 100,
    sessionTimeoutMs: 10_000,
    rebalanceTimeoutMs: 10_000,
    maxWaitMs: 100,
    autoCommitIntervalMs: 200,
    ...extra,
  })
  const records: string[] = []
  let stopped = false
  let failure: unknown = null
  consumer.subscribe([topic])
  const loop = (async () => {
    try {
      while (!stopped) for (const r of await consumer.poll()) records.push(r.value!.toString())
    } catch (err) {
      failure = err
    }
  })()
  return {
    consumer,
    records,
    failure: () => failure,
    async stop() {
      stopped = true
      consumer.wakeup()
      await loop
      await consumer.close()
    },
  }
}

const flat = (a: TopicPartitions, topic: string) => [...(a.get(topic) ?? [])].sort((x, y) => x - y)

describe('consumer groups with the project client', () => {
  for (const assignor of [rangeAssignor, cooperativeStickyAssignor]) {
    it(`two members split the partitions with ${assignor.name}`, async () => {
      const topic = `split-${assignor.name}`
      const group = `g-${assignor.name}`
      await topicWithRecords(topic, 6, 5)
      const a = run(group, topic, [assignor])
      await waitFor(() => flat(a.consumer.assignment(), topic).length === 6, { what: 'the first member to own every partition' })
      const b = run(group, topic, [assignor])
      try {
        await waitFor(() => flat(a.consumer.assignment(), topic).length === 3 && flat(b.consumer.assignment(), topic).length === 3, {
          what: 'a 3/3 split',
        })
        const owned = [...flat(a.consumer.assignment(), topic), ...flat(b.consumer.assignment(), topic)].sort()
        expect(owned).toEqual([0, 1, 2, 3, 4, 5])
        const described = await describeGroup(broker.address, group)
        expect(described.state).toBe('Stable')
        expect(described.protocol).toBe(assignor.name)
        expect(described.members.map((m) => (m.assignment[topic] ?? []).length).sort()).toEqual([3, 3])
        // Every record was read by the first member before the split; the group committed them.
        await waitFor(() => a.records.length === 30, { what: 'all 30 records' })
        expect(a.failure()).toBeNull()
        expect(b.failure()).toBeNull()
      } finally {
        await b.stop()
        await a.stop()
      }
      // Both left: the group is empty, with the offsets committed at the end of each partition.
      const after = await describeGroup(broker.address, group)
      expect(after.state).toBe('Empty')
      const check = new Consumer({ bootstrap: [broker.address], groupId: group })
      try {
        const committed = await check.committed(new Map([[topic, [0, 1, 2, 3, 4, 5]]]))
        expect([...committed.get(topic)!.values()]).toEqual([5, 5, 5, 5, 5, 5])
      } finally {
        await check.close()
      }
    })
  }

  it('a third cooperative-sticky member takes partitions only after their owners released them', async () => {
    const topic = 'cooperative'
    const group = 'g-cooperative'
    await topicWithRecords(topic, 6, 5)
    // Per generation, what each member held once it had processed that generation's assignment.
    const generations = new Map<number, Map<string, number[]>>()
    // Who reads each partition right now, across the three members in this process.
    const owner = new Map<number, string>()
    const overlaps: string[] = []
    const observe = (name: string): Partial<ConsumerOptions> => ({
      onAssigned: (tp) => {
        for (const p of tp.get(topic) ?? []) {
          const current = owner.get(p)
          if (current !== undefined) overlaps.push(`partition ${p} assigned to ${name} while ${current} owns it`)
          owner.set(p, name)
        }
      },
      onRevoked: (tp) => {
        for (const p of tp.get(topic) ?? []) if (owner.get(p) === name) owner.delete(p)
      },
      onJoined: (generationId, assignment) => {
        let g = generations.get(generationId)
        if (g === undefined) generations.set(generationId, (g = new Map()))
        g.set(name, flat(assignment, topic))
      },
    })
    const members = [run(group, topic, [cooperativeStickyAssignor], observe('a')), run(group, topic, [cooperativeStickyAssignor], observe('b'))]
    const sizes = () => members.map((m) => flat(m.consumer.assignment(), topic).length).sort()
    try {
      await waitFor(() => sizes().join() === '3,3', { what: 'a 3/3 split' })
      await waitFor(() => members[0].records.length + members[1].records.length === 30, { what: 'all 30 records' })
      members.push(run(group, topic, [cooperativeStickyAssignor], observe('c')))
      await waitFor(() => sizes().join() === '2,2,2', { what: 'a 2/2/2 split', timeoutMs: 20_000 })
      expect(overlaps).toEqual([])
      // Across consecutive generations no partition goes straight from one member to another:
      // it is held by nobody for a generation in between.
      const ids = [...generations.keys()].sort((x, y) => x - y)
      const holder = (gen: number, p: number) => [...(generations.get(gen) ?? [])].find(([, ps]) => ps.includes(p))?.[0]
      let handedOver = 0
      for (let i = 1; i < ids.length; i++) {
        for (let p = 0; p < 6; p++) {
          const before = holder(ids[i - 1], p)
          const now = holder(ids[i], p)
          if (before !== undefined && now !== undefined) expect(now, `partition ${p} in generation ${ids[i]}`).toBe(before)
          if (before !== undefined && now === undefined) handedOver++
        }
        const held = [...generations.get(ids[i])!.values()].flat()
        expect(new Set(held).size, `generation ${ids[i]} assigns a partition twice`).toBe(held.length)
      }
      expect(handedOver).toBeGreaterThanOrEqual(2)
      const described = await describeGroup(broker.address, group)
      expect(described.protocol).toBe('cooperative-sticky')
      expect(described.members.map((m) => (m.assignment[topic] ?? []).length).sort()).toEqual([2, 2, 2])
      for (const m of members) expect(m.failure()).toBeNull()
    } finally {
      for (const m of members.reverse()) await m.stop()
    }
  })

  it('commits only what it is told to without auto-commit, and reads on from there after a restart', async () => {
    const topic = 'manual'
    const group = 'g-manual'
    await topicWithRecords(topic, 1, 10)
    const options: ConsumerOptions = { bootstrap: [broker.address], groupId: group, assignors: [rangeAssignor], autoCommit: false, offsetReset: 'earliest', maxWaitMs: 100 }
    const first = new Consumer(options)
    first.subscribe([topic])
    const seen: number[] = []
    try {
      while (seen.length < 10) for (const r of await first.poll()) seen.push(r.offset)
      expect(first.position(topic, 0)).toBe(10)
      await first.commit([{ topic, partition: 0, offset: 4 }])
    } finally {
      await first.close()
    }
    const again = new Consumer(options)
    again.subscribe([topic])
    try {
      let next: number[] = []
      while (next.length === 0) next = (await again.poll()).map((r) => r.offset)
      expect(next[0]).toBe(4)
      expect([...(await again.committed(new Map([[topic, [0]]]))).get(topic)!]).toEqual([[0, 4]])
    } finally {
      await again.close()
    }
  })

  it('a wakeup ends a poll parked in a rebalance, and close leaves at once', async () => {
    const topic = 'parked'
    const group = 'g-parked'
    await topicWithRecords(topic, 2, 1)
    // A member that joins and then never answers a rebalance: the next join waits for it.
    const silent = new WireMember(broker.address, { groupId: group, topics: [topic], protocolName: 'range', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 20_000 })
    expect((await silent.join()).errorCode).toBe(ErrorCode.NONE)
    await silent.sync([])
    const consumer = new Consumer({ bootstrap: [broker.address], groupId: group, assignors: [rangeAssignor], rebalanceTimeoutMs: 20_000 })
    consumer.subscribe([topic])
    const polled = consumer.poll()
    await waitFor(async () => (await silent.heartbeat()) === ErrorCode.REBALANCE_IN_PROGRESS, { what: 'the rebalance our join starts' })
    const started = Date.now()
    consumer.wakeup()
    expect(await polled).toEqual([])
    await consumer.close()
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('shares a range group with a kafkajs consumer', async () => {
    const topic = 'interop'
    const group = 'g-interop'
    await topicWithRecords(topic, 4, 5)
    const ours = run(group, topic, [rangeAssignor])
    await waitFor(() => flat(ours.consumer.assignment(), topic).length === 4, { what: 'our member to own every partition' })
    const kafka = kafkaClient(broker.address)
    const theirs = kafka.consumer({ groupId: group, partitionAssigners: [kafkajsRange], heartbeatInterval: 100, sessionTimeout: 10_000, rebalanceTimeout: 10_000, maxWaitTimeInMs: 100 })
    const theirPartitions = new Set<number>()
    const theirRecords: string[] = []
    try {
      await theirs.connect()
      await theirs.subscribe({ topics: [topic], fromBeginning: true })
      theirs.on(theirs.events.GROUP_JOIN, (e) => {
        theirPartitions.clear()
        for (const p of e.payload.memberAssignment[topic] ?? []) theirPartitions.add(p)
      })
      await theirs.run({ eachMessage: async ({ message }) => void theirRecords.push(message.value!.toString()) })
      await waitFor(() => flat(ours.consumer.assignment(), topic).length === 2 && theirPartitions.size === 2, { what: 'a 2/2 split', timeoutMs: 20_000 })
      expect([...flat(ours.consumer.assignment(), topic), ...theirPartitions].sort()).toEqual([0, 1, 2, 3])
      const described = await describeGroup(broker.address, group)
      expect(described.protocol).toBe('range')
      expect(described.members).toHaveLength(2)
      // Range over two members of four partitions: the member whose id sorts first gets 0 and 1.
      const first = [...described.members].sort((x, y) => (x.memberId < y.memberId ? -1 : 1))[0]
      expect(first.assignment[topic]).toEqual([0, 1])
      // Our member committed what it read before the split, so kafkajs starts after it.
      expect(ours.records).toHaveLength(20)
      expect(ours.failure()).toBeNull()
    } finally {
      await theirs.disconnect()
      await ours.stop()
    }
  })
})

/**
 * Kafka's range assignment written against kafkajs's assigner interface, so kafkajs can join
 * a "range" group and, when it leads, assign without the project's code.
 */
const kafkajsRange: PartitionAssigner = ({ cluster }) => ({
  name: 'range',
  version: 0,
  async assign({ members, topics }) {
    const { AssignerProtocol } = kafkajs
    const ids = members.map((m) => m.memberId).sort()
    const out = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]))
    for (const topic of topics) {
      const count = cluster.findTopicPartitionMetadata(topic).length
      const per = Math.floor(count / ids.length)
      const extra = count % ids.length
      ids.forEach((id, i) => {
        const start = per * i + Math.min(i, extra)
        out.get(id)![topic] = Array.from({ length: per + (i < extra ? 1 : 0) }, (_, k) => start + k)
      })
    }
    return ids.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: out.get(memberId)!, userData: Buffer.alloc(0) }),
    }))
  },
  protocol({ topics }) {
    return { name: 'range', metadata: kafkajs.AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) }
  },
})
