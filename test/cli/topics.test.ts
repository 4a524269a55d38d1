import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { closedPort, ensureBuilt, jsonLines, samsa, TEST_BROKER_CONFIG } from './harness.js'

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

describe('samsa topics', () => {
  it('creates, lists, describes, alters, grows and deletes a topic', async () => {
    const created = await samsa([...b, 'topics', 'create', 'orders', '--partitions', '3', '--replication-factor', '1', '--config', 'retention.ms=86400000'])
    expect(created.stderr).toBe('')
    expect(created.code).toBe(0)
    expect(created.stdout).toBe("created topic 'orders' with 3 partition(s)\n")

    const list = await samsa([...b, 'topics', 'list'])
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/^TOPIC\s+PARTITIONS\n/)
    expect(list.stdout).toMatch(/\norders\s+3\n/)
    expect(jsonLines((await samsa([...b, '--json', 'topics', 'list'])).stdout)).toContainEqual({ topic: 'orders', partitions: 3 })

    const produced = await samsa([...b, 'produce', 'orders', '--partition', '1'], { input: 'a\nb\nc\n' })
    expect(produced.code).toBe(0)

    const described = await samsa([...b, 'topics', 'describe', 'orders'])
    expect(described.code).toBe(0)
    expect(described.stdout).toMatch(/Topic: orders\s+Partitions: 3\s+ReplicationFactor: 1\s+Messages: 3/)
    expect(described.stdout).toMatch(/Configs: retention\.ms=86400000/)
    expect(described.stdout).toMatch(/PARTITION\s+LEADER\s+REPLICAS\s+ISR\s+EARLIEST\s+LATEST\s+MESSAGES\s+SIZE/)
    const [d] = jsonLines<{ partitions: { partition: number; latestOffset: number; messages: number; sizeBytes: number | null }[]; configs: Record<string, string> }>(
      (await samsa([...b, '--json', 'topics', 'describe', 'orders'])).stdout,
    )
    expect(d.partitions.map((p) => [p.partition, p.latestOffset, p.messages])).toEqual([
      [0, 0, 0],
      [1, 3, 3],
      [2, 0, 0],
    ])
    expect(d.configs).toEqual({ 'retention.ms': '86400000' })
    if (d.partitions[1].sizeBytes !== null) expect(d.partitions[1].sizeBytes).toBeGreaterThan(0)

    const altered = await samsa([...b, 'topics', 'alter', 'orders', '--config', 'cleanup.policy=compact', '--delete-config', 'retention.ms'])
    expect(altered.stderr).toBe('')
    expect(altered.code).toBe(0)
    const afterAlter = jsonLines<{ configs: Record<string, string> }>((await samsa([...b, '--json', 'topics', 'describe', 'orders'])).stdout)[0]
    expect(afterAlter.configs).toEqual({ 'cleanup.policy': 'compact' })

    const grown = await samsa([...b, 'topics', 'add-partitions', 'orders', '2'])
    expect(grown.code).toBe(0)
    expect(grown.stdout).toBe('orders: 3 -> 5 partitions\n')

    const deleted = await samsa([...b, 'topics', 'delete', 'orders'])
    expect(deleted.code).toBe(0)
    expect((await samsa([...b, 'topics', 'list'])).stdout).not.toMatch(/orders/)
  })

  it('refuses to create a topic twice unless asked', async () => {
    expect((await samsa([...b, 'topics', 'create', 'dup', '-p', '1'])).code).toBe(0)
    const again = await samsa([...b, 'topics', 'create', 'dup', '-p', '1'])
    expect(again.code).toBe(1)
    expect(again.stderr).toBe("samsa: topic 'dup' already exists\n")
    expect((await samsa([...b, 'topics', 'create', 'dup', '-p', '1', '--if-not-exists'])).code).toBe(0)
  })

  it('names an unknown topic in one line', async () => {
    for (const args of [
      ['topics', 'describe', 'missing'],
      ['topics', 'delete', 'missing'],
      ['topics', 'alter', 'missing', '--config', 'retention.ms=1'],
      ['consume', 'missing', '--exit-at-end'],
    ]) {
      const r = await samsa([...b, ...args])
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr, args.join(' ')).toBe("samsa: unknown topic 'missing'\n")
      expect(r.stdout).toBe('')
    }
    expect((await samsa([...b, 'topics', 'delete', 'missing', '--if-exists'])).code).toBe(0)
  })

  it('reports an unreachable broker quickly, without a stack trace', async () => {
    const port = await closedPort()
    const started = Date.now()
    const r = await samsa(['--bootstrap-server', `127.0.0.1:${port}`, 'topics', 'list'])
    expect(r.code).toBe(69)
    expect(r.stderr).toBe(`samsa: cannot reach broker at 127.0.0.1:${port}: connection refused\n`)
    expect(Date.now() - started).toBeLessThan(10_000)
    const env = await samsa(['topics', 'list'], { env: { SAMSA_BOOTSTRAP: `127.0.0.1:${port}` } })
    expect(env.stderr).toContain(`127.0.0.1:${port}`)
    const verbose = await samsa(['--bootstrap-server', `127.0.0.1:${port}`, '--verbose', 'topics', 'list'])
    expect(verbose.stderr).toMatch(/\n\s+at /)
  })

  it('rejects bad arguments with a usage exit code', async () => {
    const r = await samsa([...b, 'topics', 'create', 'x', '--partitions', 'zero'])
    expect(r.code).toBe(64)
    expect(r.stderr).toMatch(/--partitions must be a positive integer/)
    expect((await samsa([...b, 'topics', 'frobnicate'])).code).toBe(64)
  })

  it('has help with examples for every command', async () => {
    for (const args of [[], ['serve'], ['topics'], ['topics', 'create'], ['produce'], ['consume'], ['groups'], ['groups', 'reset-offsets'], ['configs', 'alter']]) {
      const r = await samsa([...args, '--help'])
      expect(r.code, args.join(' ')).toBe(0)
      expect(r.stdout, args.join(' ')).toMatch(/Examples:\n\s+\$ .*samsa /)
    }
  })
})
