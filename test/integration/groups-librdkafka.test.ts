// Consumer groups with librdkafka (confluent-kafka), one Python process per member so members can
// be restarted, fenced and killed: resuming from commits, eager and cooperative-sticky
// rebalancing, static membership (KIP-345) and a member lost to kill -9.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Producer } from 'kafkajs'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { assertAvailable, probePythonModule, PYTHON, skipNote } from '../helpers/external-clients.js'
import { describeGroup } from '../helpers/group-wire.js'
import { sleep, waitFor } from '../helpers/wait.js'

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python', 'confluent-kafka-group-member.py')
const SESSION_MS = 6000

interface MemberEvent {
  ev: 'ready' | 'assign' | 'revoke' | 'lost' | 'msg' | 'committed' | 'meta' | 'error' | 'closed'
  partitions?: number[]
  gen?: number
  memberId?: string
  p?: number
  o?: number
  v?: string
  offsets?: Record<string, number>
  code?: string
  fatal?: boolean
  reason?: string
}

/** One confluent-kafka consumer process, its event log and the partitions it owns now. */
class PyMember {
  readonly events: MemberEvent[] = []
  readonly owned = new Set<number>()
  readonly exited: Promise<number | null>
  stderr = ''
  private partial = ''

  constructor(
    readonly name: string,
    private readonly child: ChildProcessWithoutNullStreams,
  ) {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.partial + chunk).split('\n')
      this.partial = lines.pop() ?? ''
      for (const line of lines) if (line.trim() !== '') this.record(JSON.parse(line) as MemberEvent)
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d))
    child.stdin.on('error', () => {})
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
  }

  static start(address: string, topic: string, group: string, name: string, settings: Record<string, string | number> = {}): PyMember {
    const args = [SCRIPT, address, topic, group, ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]
    const m = new PyMember(name, spawn(PYTHON, args, { stdio: ['pipe', 'pipe', 'pipe'] }))
    members.push(m)
    return m
  }

  private record(e: MemberEvent): void {
    this.events.push(e)
    if (e.ev === 'assign') for (const p of e.partitions!) this.owned.add(p)
    if (e.ev === 'revoke' || e.ev === 'lost') for (const p of e.partitions!) this.owned.delete(p)
  }

  send(command: 'commit' | 'close' | 'meta' | 'exit'): void {
    this.child.stdin.write(`${command}\n`)
  }

  of(kind: MemberEvent['ev']): MemberEvent[] {
    return this.events.filter((e) => e.ev === kind)
  }

  ownedSorted(): number[] {
    return [...this.owned].sort((a, b) => a - b)
  }

  values(): string[] {
    return this.of('msg').map((e) => e.v!)
  }

  async next(kind: MemberEvent['ev'], after: number, timeoutMs = 20_000): Promise<MemberEvent> {
    return waitFor(() => this.events.slice(after).find((e) => e.ev === kind), {
      timeoutMs,
      what: `${this.name}: a "${kind}" event (stderr: ${this.stderr.slice(-2000)})`,
    })
  }

  async meta(): Promise<MemberEvent> {
    const at = this.events.length
    this.send('meta')
    return this.next('meta', at)
  }

  async commit(): Promise<Record<string, number>> {
    const at = this.events.length
    this.send('commit')
    return (await this.next('committed', at)).offsets!
  }

  async close(): Promise<void> {
    this.send('close')
    await this.stop()
  }

  /** kill -9: no LeaveGroup, no further heartbeats. */
  kill(): void {
    this.child.kill('SIGKILL')
  }

  async stop(): Promise<void> {
    const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(t)
  }
}

const members: PyMember[] = []
let tb: TestBroker
let admin: Admin
let producer: Producer

async function produce(topic: string, partitions: number, from: number, to: number): Promise<void> {
  const messages = []
  for (let i = from; i < to; i++) messages.push({ partition: i % partitions, value: `m${i}` })
  await producer.send({ topic, acks: -1, messages })
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`)
const byNumber = (values: string[]) => [...values].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))

const confluent = probePythonModule('confluent_kafka')
describe.skipIf(confluent.skip)(`consumer groups with librdkafka${skipNote(confluent)}`, () => {
  beforeAll(async () => {
    assertAvailable(confluent)
    tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000' })
    const kafka = kafkaClient(tb.address)
    admin = kafka.admin()
    await admin.connect()
    producer = kafka.producer()
    await producer.connect()
  })

  afterEach(async () => {
    for (const m of members.splice(0)) m.kill()
  })

  afterAll(async () => {
    await producer?.disconnect()
    await admin?.disconnect()
    await tb?.stop()
  })

  it('commits, rejoins after close and resumes from the commit, then splits partitions with a second member', async () => {
    const topic = 'rd-resume'
    const group = 'rd-resume-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    await produce(topic, 4, 0, 40)

    const first = PyMember.start(tb.address, topic, group, 'first')
    await waitFor(() => first.values().length === 40, { timeoutMs: 30_000, what: 'the first member reading 40 messages' })
    expect(first.ownedSorted()).toEqual([0, 1, 2, 3])
    expect(await first.commit()).toEqual({ '0': 10, '1': 10, '2': 10, '3': 10 })
    await first.close()
    const [fetched] = await admin.fetchOffsets({ groupId: group, topics: [topic] })
    expect(fetched!.partitions.map((p) => Number(p.offset))).toEqual([10, 10, 10, 10])
    // A dynamic member leaves on close: the group is empty at once, not after a session timeout.
    expect((await describeGroup(tb.address, group)).state).toBe('Empty')

    await produce(topic, 4, 40, 48)
    const again = PyMember.start(tb.address, topic, group, 'again')
    await waitFor(() => again.values().length >= 8, { timeoutMs: 30_000, what: 'the rejoined member reading the 8 new messages' })
    await sleep(500)
    expect(byNumber(again.values())).toEqual(range(40, 48))
    expect(again.of('msg').every((e) => e.o! >= 10)).toBe(true)

    const second = PyMember.start(tb.address, topic, group, 'second')
    await waitFor(() => again.owned.size === 2 && second.owned.size === 2, {
      timeoutMs: 30_000,
      what: 'two members with two partitions each',
    })
    expect([...again.ownedSorted(), ...second.ownedSorted()].sort()).toEqual([0, 1, 2, 3])
    const described = await describeGroup(tb.address, group)
    expect(described.state).toBe('Stable')
    expect(described.protocol).toBe('range')
    expect(described.members.map((m) => m.assignment[topic]).sort()).toEqual([again.ownedSorted(), second.ownedSorted()].sort())

    await produce(topic, 4, 48, 56)
    await waitFor(() => again.values().length + second.values().length >= 16, { timeoutMs: 20_000, what: 'the 8 newest messages' })
    await sleep(500)
    const newest = [...again.values(), ...second.values()].filter((v) => Number(v.slice(1)) >= 48)
    expect(byNumber(newest)).toEqual(range(48, 56))
    await Promise.all([again.close(), second.close()])
  })

  it('cooperative-sticky rebalances incrementally: only moved partitions are revoked', async () => {
    const topic = 'rd-coop'
    const group = 'rd-coop-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    const settings = { 'partition.assignment.strategy': 'cooperative-sticky' }
    const a = PyMember.start(tb.address, topic, group, 'a', settings)
    await waitFor(() => a.owned.size === 4, { timeoutMs: 30_000, what: 'a owning all 4 partitions' })

    const b = PyMember.start(tb.address, topic, group, 'b', settings)
    await waitFor(() => a.owned.size === 2 && b.owned.size === 2, { timeoutMs: 30_000, what: 'a 2/2 split' })
    // Incremental: a gave up exactly the two partitions b took, and kept the others throughout.
    const aRevoked = a.of('revoke').flatMap((e) => e.partitions!)
    expect(aRevoked.sort()).toEqual(b.ownedSorted())
    expect(a.of('revoke').every((e) => e.partitions!.length < 4)).toBe(true)
    // librdkafka also reports empty incremental assignments; none of them may add partitions.
    expect(a.of('assign').filter((e) => e.partitions!.length > 0)).toHaveLength(1)
    // Two generations: one where a gives up partitions, one where b receives them.
    expect(b.of('assign').find((e) => e.partitions!.length > 0)!.gen).toBe(a.of('assign')[0]!.gen! + 2)
    expect((await describeGroup(tb.address, group)).protocol).toBe('cooperative-sticky')

    await produce(topic, 4, 0, 20)
    await waitFor(() => a.values().length + b.values().length >= 20, { timeoutMs: 20_000, what: '20 messages over both members' })
    await sleep(500)
    expect(byNumber([...a.values(), ...b.values()])).toEqual(range(0, 20))

    // b leaves: a is handed b's partitions without giving up its own.
    const revokesBefore = a.of('revoke').length
    await b.close()
    await waitFor(() => a.owned.size === 4, { timeoutMs: 30_000, what: 'a taking back all 4 partitions' })
    expect(a.of('revoke')).toHaveLength(revokesBefore)
    await a.close()
  })

  it('a restarted static member gets its partitions back without a rebalance; a duplicate instance is fenced', async () => {
    const topic = 'rd-static'
    const group = 'rd-static-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    const staticSettings = (id: string) => ({ 'group.instance.id': id, 'session.timeout.ms': 10_000 })
    const s1 = PyMember.start(tb.address, topic, group, 's1', staticSettings('inst-1'))
    await waitFor(() => s1.owned.size === 4, { timeoutMs: 30_000, what: 's1 owning all 4 partitions' })
    const s2 = PyMember.start(tb.address, topic, group, 's2', staticSettings('inst-2'))
    await waitFor(() => s1.owned.size === 2 && s2.owned.size === 2, { timeoutMs: 30_000, what: 'a 2/2 split' })
    const before = await s2.meta()
    const s1Partitions = s1.ownedSorted()
    const s2Events = s2.events.length
    const oldMemberId = (await describeGroup(tb.address, group)).members.find((m) => m.groupInstanceId === 'inst-1')!.memberId

    // A static member's close does not leave the group; its replacement takes over its identity.
    await s1.close()
    const s1b = PyMember.start(tb.address, topic, group, 's1b', staticSettings('inst-1'))
    await waitFor(() => s1b.owned.size === 2, { timeoutMs: 20_000, what: 's1b getting partitions' })
    expect(s1b.ownedSorted()).toEqual(s1Partitions)
    expect((await s1b.meta()).gen).toBe(before.gen)
    const after = await s2.meta()
    expect(after.gen).toBe(before.gen)
    expect(after.memberId).toBe(before.memberId)
    expect(s2.events.slice(s2Events).filter((e) => e.ev === 'revoke' || e.ev === 'assign')).toEqual([])
    const described = await describeGroup(tb.address, group)
    expect(described.state).toBe('Stable')
    const inst1 = described.members.find((m) => m.groupInstanceId === 'inst-1')!
    expect(inst1.memberId).not.toBe(oldMemberId)
    expect(inst1.assignment[topic]).toEqual(s1Partitions)
    expect(described.members).toHaveLength(2)

    // Records produced now reach the restarted member on its old partitions.
    await produce(topic, 4, 0, 8)
    await waitFor(() => s1b.values().length + s2.values().length >= 8, { timeoutMs: 20_000, what: '8 messages' })
    expect(byNumber([...s1b.values(), ...s2.values()])).toEqual(range(0, 8))

    // A second live process with the same instance id fences the first.
    const s1c = PyMember.start(tb.address, topic, group, 's1c', staticSettings('inst-1'))
    await waitFor(() => s1c.owned.size === 2, { timeoutMs: 20_000, what: 's1c getting the partitions' })
    // librdkafka raises FENCED_INSTANCE_ID as its fatal error, reported as _FATAL with the reason.
    const fenced = await waitFor(() => s1b.of('error').find((e) => e.code === '_FATAL'), { timeoutMs: 20_000, what: 's1b being fenced' })
    expect(fenced.reason).toMatch(/fenced by other consumer with same group\.instance\.id/)
    expect((await s2.meta()).gen).toBe(before.gen)
    expect(s2.events.slice(s2Events).filter((e) => e.ev === 'revoke' || e.ev === 'assign')).toEqual([])
    await Promise.all([s1c.close(), s2.close()])
    s1b.kill()
  })

  it('a static member that does not come back within its session timeout is removed, and its id can join again', async () => {
    const topic = 'rd-static-gone'
    const group = 'rd-static-gone-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    const staticSettings = (id: string) => ({ 'group.instance.id': id, 'session.timeout.ms': 3000 })
    const stay = PyMember.start(tb.address, topic, group, 'stay', staticSettings('stay'))
    await waitFor(() => stay.owned.size === 4, { timeoutMs: 30_000, what: 'stay owning all 4 partitions' })
    const gone = PyMember.start(tb.address, topic, group, 'gone', staticSettings('gone'))
    await waitFor(() => stay.owned.size === 2 && gone.owned.size === 2, { timeoutMs: 30_000, what: 'a 2/2 split' })
    const split = await stay.meta()

    gone.kill()
    await gone.exited
    await waitFor(() => stay.owned.size === 4, { timeoutMs: 15_000, what: 'stay owning all 4 partitions after the session timeout' })
    expect((await stay.meta()).gen).toBeGreaterThan(split.gen!)
    const described = await describeGroup(tb.address, group)
    expect(described.members.map((m) => m.groupInstanceId)).toEqual(['stay'])

    // The expired instance id is free again: coming back is an ordinary join with a rebalance.
    const back = PyMember.start(tb.address, topic, group, 'back', staticSettings('gone'))
    await waitFor(() => stay.owned.size === 2 && back.owned.size === 2, { timeoutMs: 30_000, what: 'a 2/2 split again' })
    expect(back.of('error')).toEqual([])
    await Promise.all([stay.close(), back.close()])
  })

  it('a member killed with SIGKILL loses its partitions to the others after its session timeout', async () => {
    const topic = 'rd-kill'
    const group = 'rd-kill-g'
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
    const settings = { 'session.timeout.ms': SESSION_MS }
    const survivor = PyMember.start(tb.address, topic, group, 'survivor', settings)
    await waitFor(() => survivor.owned.size === 4, { timeoutMs: 30_000, what: 'survivor owning all 4 partitions' })
    const victim = PyMember.start(tb.address, topic, group, 'victim', settings)
    await waitFor(() => survivor.owned.size === 2 && victim.owned.size === 2, { timeoutMs: 30_000, what: 'a 2/2 split' })

    const killedAt = Date.now()
    victim.kill()
    await victim.exited
    await waitFor(() => survivor.owned.size === 4, { timeoutMs: SESSION_MS + 10_000, what: 'survivor owning all 4 partitions again' })
    const tookMs = Date.now() - killedAt
    // The group noticed through the session timeout (no LeaveGroup was sent), and not much later.
    expect(tookMs).toBeGreaterThanOrEqual(SESSION_MS - 1000)
    expect(tookMs).toBeLessThan(SESSION_MS + 4000)
    const described = await describeGroup(tb.address, group)
    expect(described.members).toHaveLength(1)
    expect(described.members[0]!.assignment[topic]).toEqual([0, 1, 2, 3])

    await produce(topic, 4, 0, 8)
    await waitFor(() => survivor.values().length >= 8, { timeoutMs: 20_000, what: 'the survivor reading all 8 new messages' })
    expect(byNumber(survivor.values())).toEqual(range(0, 8))
    await survivor.close()
  })
})
