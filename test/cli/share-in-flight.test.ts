// `samsa groups describe` of a share group shows each partition's in-flight state from Samsa's
// own DescribeShareGroupOffsets tagged field: records a member holds acquired (IN-FLIGHT) and
// records released back inside the window (AVAILABLE), read with the project's ShareConsumer
// holding records without acknowledging them.
import { afterEach, describe, expect, it } from 'vitest'
import { AlterConfigOp, ConfigResourceType } from '../../broker/client/admin-client.js'
import { ShareConsumer, type ShareRecord } from '../../broker/client/share-consumer.js'
import { samsa } from './harness.js'
import { describeJson, earliest, produce, useShareBroker } from './share-harness.js'

const env = useShareBroker(['sh-flight'])
const b = env.b
const GROUP = 'sh-flight-g'
let consumer: ShareConsumer | undefined

afterEach(async () => {
  await consumer?.close()
  consumer = undefined
})

/** The share partition row of the text table, split into its columns. */
async function tableRow(): Promise<{ header: string[]; row: string[] }> {
  const r = await samsa([...b, 'groups', 'describe', GROUP])
  expect(r.stderr).toBe('')
  const lines = r.stdout.split('\n')
  const header = lines.find((l) => l.startsWith('TOPIC'))!.trim().split(/\s+/)
  const row = lines.find((l) => l.startsWith('sh-flight '))!.trim().split(/\s+/)
  return { header, row }
}

describe('samsa groups describe: in-flight records of a share group', () => {
  it('shows the records a member holds acquired, then released ones as available and none acquired', async () => {
    await earliest(GROUP)
    // Locks long enough that nothing expires while the CLI runs.
    await env.admin.incrementalAlterConfigs({ type: ConfigResourceType.Group, name: GROUP }, [{ name: 'share.record.lock.duration.ms', op: AlterConfigOp.Set, value: '60000' }])
    await produce('sh-flight', ['a', 'b', 'c', 'd', 'e'])

    consumer = new ShareConsumer({ bootstrap: [env.b[1]!], groupId: GROUP, acknowledgementMode: 'explicit', maxWaitMs: 200 })
    await consumer.connect()
    consumer.subscribe(['sh-flight'])
    const held: ShareRecord[] = []
    while (held.length < 5) held.push(...(await consumer.poll()))
    expect(held.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4])

    // All five acquired, none acknowledged.
    const offsets = await env.admin.describeShareGroupOffsets(GROUP)
    expect(offsets).toEqual([{ topic: 'sh-flight', partition: 0, startOffset: 0, error: null, inFlight: { acquired: 5, available: 0, endOffset: 5 } }])
    let d = await describeJson(b, GROUP)
    expect(d.partitions).toEqual([{ topic: 'sh-flight', partition: 0, startOffset: 0, logEndOffset: 5, lag: 5, inFlight: 5, available: 0, members: 1 }])
    let t = await tableRow()
    expect(t.header).toEqual(['TOPIC', 'PARTITION', 'START-OFFSET', 'LOG-END-OFFSET', 'LAG', 'IN-FLIGHT', 'AVAILABLE', 'MEMBERS'])
    expect(t.row).toEqual(['sh-flight', '0', '0', '5', '5', '5', '0', '1'])

    // Accept the first three, release the last two: nothing acquired, two waiting inside the window.
    for (const r of held) consumer.acknowledge(r, r.offset < 3 ? 'accept' : 'release')
    const results = await consumer.commitSync()
    expect(results.every((x) => x.error === null)).toBe(true)
    d = await describeJson(b, GROUP)
    expect(d.partitions).toEqual([{ topic: 'sh-flight', partition: 0, startOffset: 3, logEndOffset: 5, lag: 2, inFlight: 0, available: 2, members: 1 }])
    t = await tableRow()
    expect(t.row).toEqual(['sh-flight', '0', '3', '5', '2', '0', '2', '1'])
    expect((await env.admin.describeShareGroupOffsets(GROUP))[0]!.inFlight).toEqual({ acquired: 0, available: 2, endOffset: 5 })
  })
})
