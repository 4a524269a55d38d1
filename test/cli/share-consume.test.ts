// `samsa consume --share-group` (KIP-932) as users run it, against an in-process broker: --exec
// acknowledging by exit status (0 accept, 75 release, other reject), and a consumer killed with
// SIGKILL while its command holds records (they go to the next consumer once their locks expire,
// with delivery count 2).
import { spawn } from 'node:child_process'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/wait.js'
import { CLI_MAIN, samsa } from './harness.js'
import { describeJson, earliest, lines, produce, useShareBroker } from './share-harness.js'

const env = useShareBroker(['sh-exec', 'sh-kill', 'sh-int'])
const b = env.b

describe('samsa consume --share-group', () => {
  it('--exec acknowledges by exit status: 0 accept, 75 release, other reject', async () => {
    await earliest('sh-exec-g')
    await produce('sh-exec', ['ok', 'retry', 'bad'])
    const log = path.join(env.dir, 'exec.log')
    const script = `v=$(cat); echo "$SAMSA_OFFSET $SAMSA_DELIVERY_COUNT $v $SAMSA_TOPIC $SAMSA_PARTITION" >> ${log}
case "$v" in ok) exit 0;; retry) [ "$SAMSA_DELIVERY_COUNT" -ge 3 ] && exit 0; exit 75;; *) exit 1;; esac`
    const r = await samsa([...b, 'consume', 'sh-exec', '--share-group', 'sh-exec-g', '--exec', script, '--max-messages', '5'])
    expect(r.stderr).toContain('consumed 5 record(s)')
    expect(r.code).toBe(0)
    expect(lines(log)).toEqual(['0 1 ok sh-exec 0', '1 1 retry sh-exec 0', '2 1 bad sh-exec 0', '1 2 retry sh-exec 0', '1 3 retry sh-exec 0'])
    // Accepted and rejected alike are done with: nothing is left between the start offset and the end.
    const d = await describeJson(b, 'sh-exec-g')
    expect(d.type).toBe('share')
    expect(d.partitions).toEqual([{ topic: 'sh-exec', partition: 0, startOffset: 3, logEndOffset: 3, lag: 0, inFlight: 0, available: 0, members: 0 }])
  })

  it("a consumer killed while its command holds records: the next consumer gets them after lock expiry", async () => {
    await earliest('sh-kill-g')
    await produce('sh-kill', ['a', 'b', 'c'])
    await produce('sh-kill', ['d', 'e', 'f'])
    const marker = path.join(env.dir, 'kill.marker')
    const victim = spawn(process.execPath, [CLI_MAIN, ...b, 'consume', 'sh-kill', '--share-group', 'sh-kill-g', '--exec', `echo $SAMSA_OFFSET >> ${marker}; sleep 30`], {
      detached: true,
      stdio: 'ignore',
    })
    try {
      await waitFor(() => lines(marker).length > 0, { timeoutMs: 15_000, what: 'the first command to start' })
    } finally {
      // The CLI and its running command go together, without a chance to acknowledge anything.
      process.kill(-victim.pid!, 'SIGKILL')
    }
    const held = lines(marker).map(Number)
    const log = path.join(env.dir, 'kill.log')
    const r = await samsa([...b, 'consume', 'sh-kill', '--share-group', 'sh-kill-g', '--max-messages', '6', '--exec', `echo "$SAMSA_OFFSET $SAMSA_DELIVERY_COUNT" >> ${log}`])
    expect(r.code).toBe(0)
    const seen = new Map(lines(log).map((l) => l.split(' ').map(Number) as [number, number]))
    expect([...seen.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5])
    for (const o of held) expect(seen.get(o), `offset ${o}`).toBe(2)
    expect(lines(log)).toHaveLength(6)
  })

  it('Ctrl-C while a command runs releases its record for another delivery', async () => {
    await earliest('sh-int-g')
    await produce('sh-int', ['only'])
    const marker = path.join(env.dir, 'int.marker')
    const interrupted = spawn(process.execPath, [CLI_MAIN, ...b, 'consume', 'sh-int', '--share-group', 'sh-int-g', '--exec', `echo started >> ${marker}; sleep 30`], {
      detached: true,
      stdio: 'ignore',
    })
    const exited = new Promise((r) => interrupted.once('exit', r))
    await waitFor(() => lines(marker).length > 0, { timeoutMs: 15_000, what: 'the command to start' })
    // As a terminal's Ctrl-C does: SIGINT to the whole process group, the command included.
    process.kill(-interrupted.pid!, 'SIGINT')
    await exited
    const log = path.join(env.dir, 'int.log')
    const r = await samsa([...b, 'consume', 'sh-int', '--share-group', 'sh-int-g', '--max-messages', '1', '--exec', `echo "$SAMSA_OFFSET $SAMSA_DELIVERY_COUNT $(cat)" >> ${log}`])
    expect(r.code).toBe(0)
    expect(lines(log)).toEqual(['0 2 only'])
  })

  it('--exec needs --share-group', async () => {
    const r1 = await samsa([...b, 'consume', 'sh-admin', '--exec', 'true'])
    expect(r1.code).not.toBe(0)
    expect(r1.stderr).toMatch(/need --share-group/)
  })
})
