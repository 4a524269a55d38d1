// The project's consumer and a librdkafka (confluent-kafka) consumer in one cooperative-sticky
// group: an independent implementation of KIP-429 on the other side. Whichever leads, each
// decodes the other's subscription (with owned partitions) and assignment, partitions move
// incrementally, and every record is read once.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Producer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Consumer, cooperativeStickyAssignor } from '../../../broker/client/consumer.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../../helpers/broker.js'
import { assertAvailable, isCI, probePythonModule, PYTHON, skipNote } from '../../helpers/external-clients.js'
import { describeGroup } from '../../helpers/group-wire.js'
import { sleep, waitFor } from '../../helpers/wait.js'

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../integration/python/confluent-kafka-group-member.py')
const confluent = probePythonModule('confluent_kafka')
if (isCI) assertAvailable(confluent)

/** A librdkafka member process: the partitions it owns now, its revocations and the values it read. */
class RdMember {
  readonly owned = new Set<number>()
  readonly revoked: number[][] = []
  readonly values: string[] = []
  private partial = ''
  private readonly exited: Promise<unknown>

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.partial + chunk).split('\n')
      this.partial = lines.pop() ?? ''
      for (const line of lines) if (line.trim() !== '') this.record(JSON.parse(line) as { ev: string; partitions?: number[]; v?: string })
    })
    child.stdin.on('error', () => {})
    this.exited = new Promise((resolve) => child.on('exit', resolve))
  }

  private record(e: { ev: string; partitions?: number[]; v?: string }): void {
    if (e.ev === 'assign') for (const p of e.partitions!) this.owned.add(p)
    if (e.ev === 'revoke' || e.ev === 'lost') {
      for (const p of e.partitions!) this.owned.delete(p)
      if (e.partitions!.length > 0) this.revoked.push(e.partitions!)
    }
    if (e.ev === 'msg') this.values.push(e.v!)
  }

  async close(): Promise<void> {
    this.child.stdin.write('close\n')
    const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(t)
  }
}

let tb: TestBroker
let producer: Producer

beforeAll(async () => {
  tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
  producer = kafkaClient(tb.address).producer()
  await producer.connect()
})

afterAll(async () => {
  await producer?.disconnect()
  await tb?.stop()
})

function startRd(topic: string, group: string): RdMember {
  return new RdMember(spawn(PYTHON, [SCRIPT, tb.address, topic, group, 'partition.assignment.strategy=cooperative-sticky'], { stdio: ['pipe', 'pipe', 'pipe'] }))
}

function startOurs(topic: string, group: string, generations = new Map<number, number[]>()) {
  const revoked: number[][] = []
  const values: string[] = []
  const consumer = new Consumer({
    bootstrap: [tb.address],
    groupId: group,
    assignors: [cooperativeStickyAssignor],
    offsetReset: 'earliest',
    heartbeatIntervalMs: 300,
    sessionTimeoutMs: 6000,
    maxWaitMs: 100,
    onRevoked: (tp) => revoked.push(tp.get(topic) ?? []),
    onJoined: (generationId, assignment) => generations.set(generationId, assignment.get(topic) ?? []),
  })
  consumer.subscribe([topic])
  let stopped = false
  let failure: unknown = null
  const loop = (async () => {
    try {
      while (!stopped) for (const r of await consumer.poll()) values.push(r.value!.toString())
    } catch (err) {
      failure = err
    }
  })()
  return {
    owned: () => consumer.assignment().get(topic) ?? [],
    /** This member's partitions per generation it joined. */
    generations,
    revoked,
    values,
    failure: () => failure,
    async close() {
      stopped = true
      consumer.wakeup()
      await loop
      await consumer.close()
    },
  }
}

/**
 * A second member of ours joins while librdkafka leads: the leader must read our first member's
 * owned partitions from its subscription, so whatever moves to the newcomer is first revoked (one
 * generation) and only then assigned (a later one), never handed over within one generation.
 */
async function thirdMemberUnderForeignLeader(topic: string, group: string, rd: RdMember, ours: ReturnType<typeof startOurs>): Promise<void> {
  const second = startOurs(topic, group)
  try {
    await waitFor(() => second.owned().length > 0 && rd.owned.size + ours.owned().length + second.owned().length === 4, {
      timeoutMs: 30_000,
      what: 'three members sharing 4 partitions',
    })
    let fromFirst = 0
    for (const p of second.owned()) {
      const assignedIn = Math.min(...[...second.generations].filter(([, ps]) => ps.includes(p)).map(([g]) => g))
      const previous = Math.max(...[...ours.generations.keys()].filter((g) => g < assignedIn))
      const heldBefore = [...ours.generations].some(([g, ps]) => g < assignedIn && ps.includes(p))
      if (!heldBefore) continue
      fromFirst++
      expect(ours.generations.get(previous), `partition ${p}, assigned in generation ${assignedIn}`).not.toContain(p)
    }
    expect(fromFirst).toBeGreaterThan(0)
    expect([...rd.owned, ...ours.owned(), ...second.owned()].sort()).toEqual([0, 1, 2, 3])
    expect(second.failure()).toBeNull()
  } finally {
    await second.close()
  }
}

describe.skipIf(confluent.skip)(`cooperative-sticky with librdkafka${skipNote(confluent)}`, () => {
  for (const first of ['ours', 'librdkafka'] as const) {
    it(`splits partitions incrementally when ${first} joins first (and leads)`, async () => {
      const topic = `coop-${first}`
      const group = `coop-${first}-g`
      const admin = kafkaClient(tb.address).admin()
      await admin.connect()
      await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
      await admin.disconnect()
      let ours: ReturnType<typeof startOurs> | null = null
      let rd: RdMember | null = null
      try {
        if (first === 'ours') {
          ours = startOurs(topic, group)
          await waitFor(() => ours!.owned().length === 4, { timeoutMs: 30_000, what: 'our member owning all 4 partitions' })
          rd = startRd(topic, group)
        } else {
          rd = startRd(topic, group)
          await waitFor(() => rd!.owned.size === 4, { timeoutMs: 30_000, what: 'librdkafka owning all 4 partitions' })
          ours = startOurs(topic, group)
        }
        await waitFor(() => ours!.owned().length === 2 && rd!.owned.size === 2, { timeoutMs: 30_000, what: 'a 2/2 split' })
        expect([...ours.owned(), ...rd.owned].sort()).toEqual([0, 1, 2, 3])
        // Incremental: the member that owned everything gave up exactly the two that moved.
        const firstRevoked = (first === 'ours' ? ours.revoked : rd.revoked).flat().sort()
        expect(firstRevoked).toEqual((first === 'ours' ? [...rd.owned] : ours.owned()).sort())
        expect((await describeGroup(tb.address, group)).protocol).toBe('cooperative-sticky')

        const messages = Array.from({ length: 20 }, (_, i) => ({ partition: i % 4, value: `m${i}` }))
        await producer.send({ topic, messages })
        await waitFor(() => ours!.values.length + rd!.values.length >= 20, { timeoutMs: 20_000, what: '20 records over both members' })
        await sleep(300)
        expect([...ours.values, ...rd.values].sort()).toEqual(messages.map((m) => m.value).sort())
        expect(ours.failure()).toBeNull()
        if (first === 'librdkafka') await thirdMemberUnderForeignLeader(topic, group, rd, ours)
      } finally {
        await rd?.close()
        await ours?.close()
      }
    })
  }
})
