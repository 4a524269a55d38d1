// `samsa groups list|describe|reset-offsets` for a share group (KIP-932), with `samsa consume
// --share-group --ack reject` making its records done, a running member described, and the
// group's share.auto.offset.reset set with `samsa configs alter --entity-type group`.
import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { CLI_MAIN, jsonLines, samsa } from './harness.js'
import { describeJson, produce, useShareBroker } from './share-harness.js'

const env = useShareBroker(['sh-admin'])
const b = env.b

describe('samsa groups with share groups', () => {
  it('groups list, describe and reset-offsets of a share group', async () => {
    // A share group starts where its share.auto.offset.reset says; group configs are set before it exists.
    const set = await samsa([...b, 'configs', 'alter', '--entity-type', 'group', '--entity-name', 'sh-admin-g', '--add-config', 'share.auto.offset.reset=earliest'])
    expect(set.stderr).toBe('')
    expect(set.stdout).toBe('group sh-admin-g: share.auto.offset.reset = earliest\n')
    await produce('sh-admin', ['x', 'y', 'z'])
    // --ack reject: printed, then never delivered again.
    const first = await samsa([...b, 'consume', 'sh-admin', '--share-group', 'sh-admin-g', '--ack', 'reject', '--max-messages', '3'])
    expect(first.stdout).toBe('x\ny\nz\n')
    expect(await env.admin.describeShareGroupOffsets('sh-admin-g')).toEqual([{ topic: 'sh-admin', partition: 0, startOffset: 3, error: null, inFlight: { acquired: 0, available: 0, endOffset: 3 } }])

    // A running member shows up with its assignment; resetting is refused while it is there.
    const running = spawn(process.execPath, [CLI_MAIN, ...b, 'consume', 'sh-admin', '--share-group', 'sh-admin-g'], { stdio: 'ignore' })
    try {
      await waitFor(async () => (await env.admin.describeShareGroups(['sh-admin-g']))[0].members[0]?.assignment.length === 1, { what: 'the member to be assigned' })
      const d = await describeJson(b, 'sh-admin-g')
      expect(d.members).toHaveLength(1)
      expect(d.members[0].assignment).toEqual({ 'sh-admin': [0] })
      expect(d.partitions[0].members).toBe(1)
      const text = await samsa([...b, 'groups', 'describe', 'sh-admin-g'])
      expect(text.stdout).toMatch(/Type: share/)
      expect(text.stdout).toMatch(/START-OFFSET/)
      const list = await samsa([...b, '--json', 'groups', 'list'])
      expect(jsonLines(list.stdout)).toContainEqual(expect.objectContaining({ group: 'sh-admin-g', type: 'share', members: 1 }))
      const refused = await samsa([...b, 'groups', 'reset-offsets', 'sh-admin-g', '--topic', 'sh-admin', '--to-earliest', '--execute'])
      expect(refused.code).not.toBe(0)
      expect(refused.stderr).toMatch(/not empty/)
    } finally {
      running.kill('SIGINT')
      await new Promise((r) => running.once('exit', r))
    }
    await waitFor(async () => (await env.admin.describeShareGroups(['sh-admin-g']))[0].members.length === 0, { what: 'the member to leave' })
    const reset = await samsa([...b, '--json', 'groups', 'reset-offsets', 'sh-admin-g', '--topic', 'sh-admin', '--to-offset', '1', '--execute'])
    expect(reset.code).toBe(0)
    expect(jsonLines(reset.stdout)).toEqual([{ group: 'sh-admin-g', topic: 'sh-admin', partition: 0, current: 3, target: 1, executed: true }])
    expect(await env.admin.describeShareGroupOffsets('sh-admin-g')).toEqual([{ topic: 'sh-admin', partition: 0, startOffset: 1, error: null, inFlight: { acquired: 0, available: 0, endOffset: 1 } }])
    // From the new start offset the records are delivered again.
    const again = await samsa([...b, 'consume', 'sh-admin', '--share-group', 'sh-admin-g', '--max-messages', '2'])
    expect(again.stdout).toBe('y\nz\n')
  })
})
