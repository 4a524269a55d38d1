// `samsa consume --group` under each group protocol, and `samsa groups describe|list` of KIP-848
// consumer groups: epochs, member epochs, subscriptions, assignments and target assignments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { AdminClient } from '../../broker/client/admin-client.js'
import { Consumer } from '../../broker/client/consumer.js'
import { waitFor } from '../helpers/wait.js'
import { ensureBuilt, jsonLines, samsa, TEST_BROKER_CONFIG } from './harness.js'

let broker: RunningBroker
let b: string[]

beforeAll(async () => {
  ensureBuilt()
  broker = await startBroker({ port: 0, config: { ...TEST_BROKER_CONFIG, 'group.consumer.heartbeat.interval.ms': '100' } })
  b = ['--bootstrap-server', broker.address]
})

afterAll(async () => {
  await broker?.stop()
})

interface MemberJson {
  memberId: string
  instanceId: string | null
  clientId: string
  memberEpoch: number
  subscribedTopics: string[]
  assignment: Record<string, number[]>
  targetAssignment: Record<string, number[]>
}

interface GroupJson {
  group: string
  type: 'consumer' | 'classic'
  state: string
  groupEpoch?: number
  assignmentEpoch?: number
  assignor?: string
  protocolType?: string
  members: MemberJson[]
  partitions: { partition: number; committedOffset: number | null }[]
}

async function describeJson(group: string): Promise<GroupJson> {
  const r = await samsa([...b, '--json', 'groups', 'describe', group])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return jsonLines<GroupJson>(r.stdout)[0]!
}

async function topicWithLines(topic: string, partitions: number, lines: number): Promise<string[]> {
  expect((await samsa([...b, 'topics', 'create', topic, '--partitions', String(partitions)])).code).toBe(0)
  const values = Array.from({ length: lines }, (_, i) => `${topic}-${i}`)
  expect((await samsa([...b, 'produce', topic], { input: values.join('\n') })).code).toBe(0)
  return values
}

const committedSum = (d: GroupJson) => d.partitions.reduce((n, p) => n + (p.committedOffset ?? 0), 0)

describe('samsa consume --group and groups describe under the consumer protocol', () => {
  it('consume --group takes the consumer protocol from a broker that offers it, or classic when asked', async () => {
    const values = await topicWithLines('proto', 3, 12)
    const runs = [
      { group: 'proto-default', flags: [] as string[], type: 'consumer' },
      { group: 'proto-consumer', flags: ['--group-protocol', 'consumer'], type: 'consumer' },
      { group: 'proto-classic', flags: ['--group-protocol', 'classic'], type: 'classic' },
    ]
    for (const run of runs) {
      const r = await samsa([...b, 'consume', 'proto', '--group', run.group, ...run.flags, '--from-beginning', '--exit-at-end'])
      expect(r.stderr).toBe('consumed 12 record(s)\n')
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([...values].sort())
      if (run.group === 'proto-default') continue
      const d = await describeJson(run.group)
      expect(d.type).toBe(run.type)
      expect(d.state).toBe('Empty')
      expect(d.members).toEqual([])
      expect(committedSum(d)).toBe(12)
      if (run.type === 'consumer') {
        // Joining, then leaving, each moved the group epoch.
        expect(d.groupEpoch).toBeGreaterThanOrEqual(2)
        expect(d.assignor).toBe('uniform')
      } else {
        expect(d.protocolType).toBe('consumer')
      }
    }
    // ListGroups v5 names each group's type.
    const list = await samsa([...b, '--json', 'groups', 'list'])
    const listed = new Map(jsonLines<{ group: string; type: string; state: string }>(list.stdout).map((g) => [g.group, g]))
    expect(listed.get('proto-default')).toMatchObject({ type: 'consumer', state: 'Empty' })
    expect(listed.get('proto-consumer')).toMatchObject({ type: 'consumer', state: 'Empty' })
    expect(listed.get('proto-classic')).toMatchObject({ type: 'classic', state: 'Empty' })

    const bad = await samsa([...b, 'consume', 'proto', '--group', 'x', '--group-protocol', 'eager'])
    expect(bad.code).toBe(64)
    expect(bad.stderr).toMatch(/--group-protocol must be consumer or classic, got 'eager'/)
    const alone = await samsa([...b, 'consume', 'proto', '--group-protocol', 'classic'])
    expect(alone.code).toBe(64)
    expect(alone.stderr).toMatch(/--group-protocol needs --group/)
  })

  it('groups describe shows the group epoch, assignment epoch and each member epoch, assignment and target', async () => {
    await topicWithLines('epochs', 4, 8)
    const start = (clientId: string, groupInstanceId?: string) => {
      const c = new Consumer({ bootstrap: [broker.address], clientId, groupId: 'epochs-g', groupProtocol: 'consumer', groupInstanceId, maxWaitMs: 100 })
      c.subscribe(['epochs'])
      let stopped = false
      const loop = (async () => {
        while (!stopped) await c.poll()
      })()
      return {
        c,
        async stop() {
          stopped = true
          c.wakeup()
          await loop
          await c.close()
        },
      }
    }
    const admin = new AdminClient({ bootstrap: [broker.address] })
    const settled = (n: number) =>
      waitFor(
        async () => {
          const [g] = await admin.describeConsumerGroups(['epochs-g'])
          return g.state === 'Stable' && g.members.length === n && g.members.every((m) => m.memberEpoch === g.assignmentEpoch && m.assignment.length > 0)
        },
        { what: `${n} settled members` },
      )
    const one = start('member-one', 'instance-one')
    const two = start('member-two')
    try {
      await settled(2)
      const d = await describeJson('epochs-g')
      expect(d.type).toBe('consumer')
      expect(d.groupEpoch).toBe(d.assignmentEpoch)
      const byClient = new Map(d.members.map((m) => [m.clientId, m]))
      expect(byClient.get('member-one')!.instanceId).toBe('instance-one')
      expect(byClient.get('member-one')!.memberId).toBe(one.c.groupMetadata().memberId)
      expect(byClient.get('member-two')!.instanceId).toBeNull()
      for (const m of d.members) {
        expect(m.subscribedTopics).toEqual(['epochs'])
        expect(m.targetAssignment).toEqual(m.assignment)
      }
      expect(d.members.flatMap((m) => m.assignment.epochs!).sort()).toEqual([0, 1, 2, 3])

      const human = await samsa([...b, 'groups', 'describe', 'epochs-g'])
      expect(human.code).toBe(0)
      expect(human.stdout).toMatch(new RegExp(`^Group: epochs-g  State: Stable  Members: 2  Total lag: \\d+  Type: consumer  Group epoch: ${d.groupEpoch}  Assignment epoch: ${d.assignmentEpoch}  Assignor: uniform\n`))
      expect(human.stdout).toMatch(/MEMBER-ID\s+INSTANCE-ID\s+CLIENT-ID\s+HOST\s+EPOCH\s+SUBSCRIPTION\s+ASSIGNMENT\s+TARGET-ASSIGNMENT/)
      const row = human.stdout.split('\n').find((l) => l.includes('member-one'))!
      const a = byClient.get('member-one')!.assignment.epochs!.join(',')
      expect(row).toMatch(new RegExp(`instance-one\\s+member-one\\s+/127\\.0\\.0\\.1\\s+${d.assignmentEpoch}\\s+epochs\\s+epochs:${a}\\s+epochs:${a}$`))
      expect(human.stdout).toMatch(/TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG/)

      // A member joining moves the group epoch; describe shows the new target at once.
      const three = start('member-three')
      await settled(3)
      const after = await describeJson('epochs-g')
      expect(after.groupEpoch).toBeGreaterThan(d.groupEpoch!)
      expect(after.members.flatMap((m) => m.targetAssignment.epochs ?? []).sort()).toEqual([0, 1, 2, 3])
      await three.stop()
    } finally {
      await one.stop()
      await two.stop()
      await admin.close()
    }
  })
})
