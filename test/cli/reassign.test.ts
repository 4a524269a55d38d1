// `samsa reassign` against a single broker, where nothing can move: the one broker as target is
// accepted (nothing changes), another broker id is refused with Kafka's error, there is nothing
// to list or cancel, and the modes are exclusive. The cluster case (a real move, listing and
// cancelling one in flight) is in test/cluster/reassignment.test.ts.
import { describe, expect, it } from 'vitest'
import { jsonLines, samsa, useBrokerWithTopics } from './harness.js'

const env = useBrokerWithTopics([{ topic: 'ra-topic', numPartitions: 1 }])

async function nodeId(): Promise<number> {
  const admin = env.kafka.admin()
  await admin.connect()
  try {
    return (await admin.describeCluster()).brokers[0]!.nodeId
  } finally {
    await admin.disconnect()
  }
}

describe('samsa reassign', () => {
  it('accepts the broker itself as the target and refuses an unknown broker', async () => {
    const id = await nodeId()
    const ok = await samsa([...env.b, '--json', 'reassign', '--topic', 'ra-topic', '--partition', '0', '--replicas', String(id)])
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect(jsonLines(ok.stdout)).toEqual([{ topic: 'ra-topic', partition: 0, replicas: [id], result: 'started' }])

    const bad = await samsa([...env.b, 'reassign', '--topic', 'ra-topic', '--partition', '0', '--replicas', `${id},${id + 100}`])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('INVALID_REPLICA_ASSIGNMENT')
    expect(bad.stderr).toContain(`broker ${id + 100}`)
  })

  it('lists nothing and has nothing to cancel', async () => {
    const list = await samsa([...env.b, 'reassign', '--list'])
    expect(list.code).toBe(0)
    expect(list.stdout).toBe('')
    const cancel = await samsa([...env.b, 'reassign', '--topic', 'ra-topic', '--partition', '0', '--cancel'])
    expect(cancel.code).not.toBe(0)
    expect(cancel.stderr).toContain('NO_REASSIGNMENT_IN_PROGRESS')
  })

  it('takes exactly one of --replicas, --list and --cancel, and checks its numbers', async () => {
    const both = await samsa([...env.b, 'reassign', '--list', '--cancel'])
    expect(both.code).toBe(64)
    expect(both.stderr).toContain('exactly one of')
    const noPartition = await samsa([...env.b, 'reassign', '--topic', 'ra-topic', '--replicas', '1'])
    expect(noPartition.code).toBe(64)
    const badIds = await samsa([...env.b, 'reassign', '--topic', 'ra-topic', '--partition', '0', '--replicas', '1,x'])
    expect(badIds.code).toBe(64)
    expect(badIds.stderr).toContain('--replicas')
    const throttleAlone = await samsa([...env.b, 'reassign', '--topic', 'ra-topic', '--partition', '0', '--cancel', '--throttle', '1000'])
    expect(throttleAlone.code).toBe(64)
    expect(throttleAlone.stderr).toContain('--throttle goes with --replicas')
    const badRate = await samsa([...env.b, 'reassign', '--topic', 'ra-topic', '--partition', '0', '--replicas', '1', '--throttle', 'fast'])
    expect(badRate.code).toBe(64)
    expect(badRate.stderr).toContain('--throttle')
    const verifyAlone = await samsa([...env.b, 'reassign', '--verify'])
    expect(verifyAlone.code).toBe(64)
    expect(verifyAlone.stderr).toContain('--verify needs --topic')
  })
})
