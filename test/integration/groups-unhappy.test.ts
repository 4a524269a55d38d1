// Consumer groups when members misbehave, with kafkajs as the well-behaved member: a member that
// joins and then goes silent (never syncs, never heartbeats, never rejoins) is removed and the
// real client converges on every partition; and while members come and go under a continuous
// producer, no record is processed by two members of the same generation.
import net from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs'
import { Reader } from '../../protocol/reader.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiKey, apis, requestHeaderVersion } from '../../protocol/generated/index.js'
import { decodeRequestHeader } from '../../protocol/generated/request-header.js'
import type { SyncGroupRequest } from '../../protocol/generated/sync-group.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { assignmentBytes, describeGroup, WireMember } from '../helpers/group-wire.js'
import { sleep, waitFor } from '../helpers/wait.js'

/** kafkajs's default assigner; a wire member must offer it to join a kafkajs group. */
const KAFKAJS_PROTOCOL = 'RoundRobinAssigner'

let tb: TestBroker
let kafka: Kafka
let admin: Admin
let producer: Producer
const consumers: Consumer[] = []

beforeAll(async () => {
  tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000' })
  kafka = kafkaClient(tb.address)
  admin = kafka.admin()
  await admin.connect()
  producer = kafka.producer()
  await producer.connect()
})

afterEach(async () => {
  await Promise.allSettled(consumers.splice(0).map((c) => c.disconnect()))
})

afterAll(async () => {
  await producer?.disconnect()
  await admin?.disconnect()
  await tb?.stop()
})

interface RealMember {
  consumer: Consumer
  /** Partitions of the last completed join. */
  assigned: number[]
  joins: number
  /** kafkajs's run() settles only once the first join and sync are done. */
  running: Promise<void>
}

function startRealMember(groupId: string, topic: string, opts: { sessionTimeout?: number; rebalanceTimeout?: number } = {}): RealMember {
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: opts.sessionTimeout ?? 6000,
    rebalanceTimeout: opts.rebalanceTimeout ?? 4000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 100,
    retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
  })
  consumers.push(consumer)
  const member: RealMember = { consumer, assigned: [], joins: 0, running: Promise.resolve() }
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    member.joins++
    member.assigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)
  })
  member.running = (async () => {
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async () => {} })
  })()
  return member
}

const ALL4 = [0, 1, 2, 3]

describe('a member that goes silent mid-rebalance', () => {
  it('a follower that never sends SyncGroup nor heartbeats expires; the real member takes every partition', async () => {
    const topic = 'silent-follower'
    const groupId = 'silent-follower-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    const real = startRealMember(groupId, topic)
    await waitFor(() => real.assigned.length === 4, { timeoutMs: 20_000, what: 'the real member owning 4 partitions' })

    const silent = new WireMember(tb.address, { groupId, topics: [topic], protocolName: KAFKAJS_PROTOCOL, sessionTimeoutMs: 2000, rebalanceTimeoutMs: 2000 })
    const joined = await silent.join()
    const joinedAt = Date.now()
    expect(joined.errorCode).toBe(ErrorCode.NONE)
    expect(joined.leader).not.toBe(silent.memberId)
    // The real leader handed the silent member half of the partitions.
    await waitFor(() => real.assigned.length === 2, { timeoutMs: 10_000, what: 'the real member keeping 2 partitions' })
    const split = await describeGroup(tb.address, groupId)
    expect(split.members.find((m) => m.memberId === silent.memberId)?.assignment[topic]).toHaveLength(2)

    await waitFor(() => real.assigned.length === 4, { timeoutMs: 10_000, what: 'the real member owning all 4 partitions again' })
    // Removed by its own 2 s session, well before the real member's 4 s rebalance timeout.
    expect(Date.now() - joinedAt).toBeLessThan(3900)
    expect(real.assigned).toEqual(ALL4)
    const after = await describeGroup(tb.address, groupId)
    expect(after.state).toBe('Stable')
    expect(after.members.map((m) => m.memberId)).not.toContain(silent.memberId)
    expect(await silent.heartbeat()).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    await real.running
  })

  it('a leader that never sends SyncGroup is removed after the rebalance timeout; the waiting member rejoins alone', async () => {
    const topic = 'silent-leader'
    const groupId = 'silent-leader-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    // A long session: only the sync deadline can remove it.
    const silent = new WireMember(tb.address, { groupId, topics: [topic], protocolName: KAFKAJS_PROTOCOL, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 2000 })
    expect((await silent.join()).leader).toBe(silent.memberId)
    expect((await silent.sync([{ memberId: silent.memberId, assignment: assignmentBytes({ [topic]: ALL4 }) }])).errorCode).toBe(ErrorCode.NONE)

    const real = startRealMember(groupId, topic, { rebalanceTimeout: 3000 })
    await waitFor(async () => (await silent.heartbeat()) === ErrorCode.REBALANCE_IN_PROGRESS, { what: 'the rebalance the real member starts' })
    const rejoined = await silent.join()
    const rejoinedAt = Date.now()
    expect(rejoined.errorCode).toBe(ErrorCode.NONE)
    expect(rejoined.leader).toBe(silent.memberId)
    expect(rejoined.members).toHaveLength(2)
    // The leader now goes silent; the real member sits in SyncGroup until the group gives up.
    await sleep(1000)
    expect(real.joins).toBe(0)
    await waitFor(() => real.assigned.length === 4, { timeoutMs: 15_000, what: 'the real member owning all 4 partitions' })
    // The deadline is the largest rebalance timeout of the members (3 s), not the 30 s session.
    expect(Date.now() - rejoinedAt).toBeGreaterThanOrEqual(2500)
    expect(Date.now() - rejoinedAt).toBeLessThan(10_000)
    const after = await describeGroup(tb.address, groupId)
    expect(after.members).toHaveLength(1)
    expect(after.members[0]!.assignment[topic]).toEqual(ALL4)
    expect(await silent.heartbeat()).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    await real.running
  })

  it('a member that stops heartbeating when a rebalance starts is dropped at the rebalance timeout; the others split', async () => {
    const topic = 'silent-rejoin'
    const groupId = 'silent-rejoin-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    const a = startRealMember(groupId, topic)
    await waitFor(() => a.assigned.length === 4, { timeoutMs: 20_000, what: 'a owning 4 partitions' })
    const silent = new WireMember(tb.address, { groupId, topics: [topic], protocolName: KAFKAJS_PROTOCOL, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 2000 })
    expect((await silent.join()).errorCode).toBe(ErrorCode.NONE)
    expect((await silent.sync()).errorCode).toBe(ErrorCode.NONE)
    await waitFor(() => a.assigned.length === 2, { timeoutMs: 10_000, what: 'a keeping 2 partitions' })

    // Heartbeat like a live member until a rebalance starts, then go quiet without rejoining.
    let sawRebalance = false
    const heartbeats = (async () => {
      while (!sawRebalance) {
        sawRebalance = (await silent.heartbeat()) === ErrorCode.REBALANCE_IN_PROGRESS
        if (!sawRebalance) await sleep(200)
      }
    })()
    const b = startRealMember(groupId, topic)
    await heartbeats
    const quietAt = Date.now()
    await waitFor(() => a.assigned.length === 2 && b.assigned.length === 2, { timeoutMs: 20_000, what: 'a and b splitting the partitions' })
    expect([...a.assigned, ...b.assigned].sort()).toEqual(ALL4)
    // The join phase waited for the silent member up to the largest rebalance timeout (4 s).
    expect(Date.now() - quietAt).toBeGreaterThanOrEqual(3000)
    expect(Date.now() - quietAt).toBeLessThan(15_000)
    const after = await describeGroup(tb.address, groupId)
    expect(after.members.map((m) => m.memberId)).not.toContain(silent.memberId)
    expect(after.members).toHaveLength(2)
    await Promise.all([a.running, b.running])
  })
})

/**
 * Watches the SyncGroup requests a kafkajs client writes, remembering the generation each member
 * last synced with: kafkajs emits GROUP_JOIN right after that SyncGroup succeeds, but does not put
 * the generation in the event.
 */
function syncSpy(lastSyncGeneration: Map<string, number>) {
  return ({ host, port, onConnect }: { host: string; port: number; onConnect: () => void }) => {
    const socket = net.connect({ host, port }, onConnect)
    let pending = Buffer.alloc(0)
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (Buffer.isBuffer(chunk)) {
        pending = Buffer.concat([pending, chunk])
        while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
          const frame = pending.subarray(4, 4 + pending.readInt32BE(0))
          pending = pending.subarray(4 + frame.length)
          const apiKey = frame.readInt16BE(0)
          if (apiKey !== ApiKey.SyncGroup) continue
          const version = frame.readInt16BE(2)
          const r = new Reader(frame)
          decodeRequestHeader(r, requestHeaderVersion(apiKey, version))
          const req = apis.get(apiKey)!.decodeRequest(r, version) as SyncGroupRequest
          lastSyncGeneration.set(req.memberId, req.generationId)
        }
      }
      return write(chunk, ...rest)
    }) as typeof socket.write
    return socket
  }
}

describe('rebalancing under load', () => {
  it('no record is processed by two members of the same generation while a member leaves', async () => {
    const topic = 'no-overlap'
    const groupId = 'no-overlap-g'
    const partitions = 6
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] })
    const lastSyncGeneration = new Map<string, number>()
    const spied = kafkaClient(tb.address, { socketFactory: syncSpy(lastSyncGeneration) as never })

    interface Processed {
      member: number
      generation: number
      partition: number
      offset: number
    }
    const processed: Processed[] = []
    const assignments = new Map<string, number[]>() // `${generation}/${member}` -> partitions
    const generationOf: number[] = []
    const members: Consumer[] = []
    for (let i = 0; i < 3; i++) {
      const consumer = spied.consumer({ groupId, sessionTimeout: 6000, rebalanceTimeout: 4000, heartbeatInterval: 200, maxWaitTimeInMs: 100 })
      consumers.push(consumer)
      members.push(consumer)
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        const generation = lastSyncGeneration.get(e.payload.memberId)!
        generationOf[i] = generation
        assignments.set(`${generation}/${i}`, [...(e.payload.memberAssignment[topic] ?? [])])
      })
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          processed.push({ member: i, generation: generationOf[i]!, partition, offset: Number(message.offset) })
          await sleep(1)
        },
      })
    }

    let produced = 0
    let producing = true
    const load = (async () => {
      while (producing) {
        const messages = Array.from({ length: partitions }, (_, p) => ({ partition: p, value: `v${produced + p}` }))
        await producer.send({ topic, messages })
        produced += partitions
        await sleep(20)
      }
    })()

    const stable = () => {
      const gens = new Set(generationOf)
      return generationOf.length === 3 && gens.size === 1 && [0, 1, 2].every((i) => assignments.get(`${generationOf[i]}/${i}`)!.length === 2)
    }
    await waitFor(stable, { timeoutMs: 30_000, what: 'three members with two partitions each' })
    await sleep(1000)
    const leftGeneration = generationOf[0]!
    await members[2]!.disconnect()
    await waitFor(
      () => generationOf[0]! > leftGeneration && generationOf[0] === generationOf[1] && assignments.get(`${generationOf[0]}/0`)!.length === 3,
      { timeoutMs: 30_000, what: 'the two remaining members sharing six partitions' },
    )
    await sleep(1000)
    producing = false
    await load
    const total = produced
    await waitFor(() => new Set(processed.map((p) => `${p.partition}/${p.offset}`)).size === total, {
      timeoutMs: 20_000,
      what: `all ${total} records processed`,
    })

    const generations = [...new Set(processed.map((p) => p.generation))]
    expect(generations.length).toBeGreaterThanOrEqual(2)
    // The member that left did read its share before its partitions moved.
    expect(processed.some((p) => p.member === 2)).toBe(true)
    expect(processed.some((p) => p.generation > leftGeneration)).toBe(true)
    for (const generation of generations) {
      const inGeneration = processed.filter((p) => p.generation === generation)
      const owner = new Map<number, number>()
      for (const p of inGeneration) {
        // Each partition is read by a single member in a generation, the one it was assigned to.
        expect(owner.get(p.partition) ?? p.member, `generation ${generation} partition ${p.partition}`).toBe(p.member)
        owner.set(p.partition, p.member)
        expect(assignments.get(`${generation}/${p.member}`)).toContain(p.partition)
      }
      const seen = new Set<string>()
      for (const p of inGeneration) {
        const key = `${p.partition}/${p.offset}`
        expect(seen.has(key), `generation ${generation} processed ${key} twice`).toBe(false)
        seen.add(key)
      }
    }
    // The assignments of one generation never overlap either.
    for (const generation of generations) {
      const assigned = [0, 1, 2].flatMap((i) => assignments.get(`${generation}/${i}`) ?? [])
      expect(new Set(assigned).size).toBe(assigned.length)
    }
  })
})
