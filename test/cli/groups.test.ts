import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { CLI_MAIN, ensureBuilt, jsonLines, samsa, TEST_BROKER_CONFIG } from './harness.js'

let broker: RunningBroker
let b: string[]

beforeAll(async () => {
  ensureBuilt()
  broker = await startBroker({ port: 0, config: TEST_BROKER_CONFIG })
  b = ['--bootstrap-server', broker.address]
})

afterAll(async () => {
  await broker?.stop()
})

interface GroupJson {
  group: string
  state: string
  totalLag: number
  partitions: { topic: string; partition: number; committedOffset: number | null; logEndOffset: number; lag: number | null }[]
}

async function describeGroup(group: string): Promise<GroupJson> {
  const r = await samsa([...b, '--json', 'groups', 'describe', group])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return jsonLines<GroupJson>(r.stdout)[0]
}

const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`)

describe('samsa groups', () => {
  it('tracks a group through consume, lag, reset-offsets and delete', async () => {
    expect((await samsa([...b, 'topics', 'create', 'ledger', '--partitions', '2'])).code).toBe(0)
    expect((await samsa([...b, 'produce', 'ledger'], { input: lines(0, 10).join('\n') })).code).toBe(0)

    const first = await samsa([...b, 'consume', 'ledger', '--group', 'billing', '--from-beginning', '--exit-at-end'])
    expect(first.code).toBe(0)
    expect(first.stdout.split('\n').filter(Boolean).sort()).toEqual(lines(0, 10).sort())

    const list = await samsa([...b, 'groups', 'list'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/GROUP\s+STATE\s+MEMBERS/)
    expect(list.stdout).toMatch(/\nbilling\s+Empty\s+0/)
    expect(list.stdout).not.toMatch(/samsa-cli-/)

    let d = await describeGroup('billing')
    expect(d.state).toBe('Empty')
    expect(d.totalLag).toBe(0)
    expect(d.partitions.reduce((n, p) => n + (p.committedOffset ?? 0), 0)).toBe(10)

    expect((await samsa([...b, 'produce', 'ledger'], { input: lines(10, 15).join('\n') })).code).toBe(0)
    d = await describeGroup('billing')
    expect(d.totalLag).toBe(5)
    const human = await samsa([...b, 'groups', 'describe', 'billing'])
    expect(human.stdout).toMatch(/Group: billing\s+State: Empty\s+Members: 0\s+Total lag: 5/)
    expect(human.stdout).toMatch(/TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG/)

    // Only new records are delivered to the group now.
    const second = await samsa([...b, 'consume', 'ledger', '--group', 'billing', '--exit-at-end'])
    expect(second.stdout.split('\n').filter(Boolean).sort()).toEqual(lines(10, 15).sort())

    const dry = await samsa([...b, 'groups', 'reset-offsets', 'billing', '--topic', 'ledger', '--to-earliest'])
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/GROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+NEW-OFFSET/)
    expect(dry.stderr).toMatch(/dry run/)
    expect((await describeGroup('billing')).totalLag).toBe(0)

    const reset = await samsa([...b, 'groups', 'reset-offsets', 'billing', '--topic', 'ledger', '--to-earliest', '--execute'])
    expect(reset.stderr).toBe('')
    expect(reset.code).toBe(0)
    expect((await describeGroup('billing')).totalLag).toBe(15)
    const replay = await samsa([...b, 'consume', 'ledger', '--group', 'billing', '--exit-at-end'])
    expect(replay.stdout.split('\n').filter(Boolean).sort()).toEqual(lines(0, 15).sort())

    const shifted = await samsa([...b, '--json', 'groups', 'reset-offsets', 'billing', '--topic', 'ledger:0', '--shift-by', '-2', '--execute'])
    expect(shifted.code).toBe(0)
    const [plan] = jsonLines<{ partition: number; current: number; target: number }>(shifted.stdout)
    expect(plan.partition).toBe(0)
    expect(plan.target).toBe(plan.current - 2)
    const afterShift = await samsa([...b, 'consume', 'ledger', '--group', 'billing', '--exit-at-end'])
    expect(afterShift.stdout.split('\n').filter(Boolean)).toHaveLength(2)

    const toOffset = await samsa([...b, 'groups', 'reset-offsets', 'billing', '--topic', 'ledger', '--to-offset', '1', '--execute'])
    expect(toOffset.code).toBe(0)
    const offsets = (await describeGroup('billing')).partitions.map((p) => p.committedOffset)
    expect(offsets).toEqual([1, 1])

    const deleted = await samsa([...b, 'groups', 'delete', 'billing'])
    expect(deleted.code).toBe(0)
    expect(deleted.stdout).toBe("deleted group 'billing'\n")
    expect((await samsa([...b, 'groups', 'list'])).stdout).not.toMatch(/billing/)
    // Seventeen CLI processes in a row: on a busy two-core machine each start costs seconds.
  }, 150_000)

  it('resets to a point in time', async () => {
    expect((await samsa([...b, 'topics', 'create', 'clock', '--partitions', '1'])).code).toBe(0)
    await samsa([...b, 'produce', 'clock'], { input: 'old-1\nold-2\n' })
    await new Promise((r) => setTimeout(r, 50))
    const cut = new Date().toISOString()
    await new Promise((r) => setTimeout(r, 50))
    await samsa([...b, 'produce', 'clock'], { input: 'new-1\nnew-2\nnew-3\n' })
    const r = await samsa([...b, 'groups', 'reset-offsets', 'replayer', '--topic', 'clock', '--to-datetime', cut, '--execute'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const consumed = await samsa([...b, 'consume', 'clock', '--group', 'replayer', '--exit-at-end'])
    expect(consumed.stdout).toBe('new-1\nnew-2\nnew-3\n')
  })

  it('refuses to reset or delete a group with active members', async () => {
    expect((await samsa([...b, 'topics', 'create', 'busy'])).code).toBe(0)
    const child = spawn(process.execPath, [CLI_MAIN, ...b, 'consume', 'busy', '--group', 'live'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const deadline = Date.now() + 20_000
      let state = ''
      while (state !== 'Stable' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200))
        const r = await samsa([...b, '--json', 'groups', 'list'])
        state = jsonLines<{ group: string; state: string }>(r.stdout).find((g) => g.group === 'live')?.state ?? ''
      }
      expect(state).toBe('Stable')
      const del = await samsa([...b, 'groups', 'delete', 'live'])
      expect(del.code).toBe(1)
      expect(del.stderr).toBe("samsa: group 'live' is not empty (it has active members)\n")
      const reset = await samsa([...b, 'groups', 'reset-offsets', 'live', '--topic', 'busy', '--to-earliest', '--execute'])
      expect(reset.code).toBe(1)
      expect(reset.stderr).toMatch(/^samsa: group 'live' is not empty \(state Stable, 1 member\(s\)\)/)
      const members = await samsa([...b, 'groups', 'describe', 'live', '--members'])
      // `samsa consume --group` speaks the consumer protocol (KIP-848) to a broker that offers it.
      expect(members.stdout).toMatch(/MEMBER-ID\s+INSTANCE-ID\s+CLIENT-ID\s+HOST\s+EPOCH\s+SUBSCRIPTION\s+ASSIGNMENT\s+TARGET-ASSIGNMENT/)
      expect(members.stdout).toMatch(/busy:0/)
    } finally {
      const closed = new Promise((r) => child.on('close', r))
      child.kill('SIGTERM')
      await closed
    }
  })

  it('names an unknown group', async () => {
    const r = await samsa([...b, 'groups', 'describe', 'ghost'])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("samsa: unknown group 'ghost'\n")
  })
})
