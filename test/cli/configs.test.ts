import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { ensureBuilt, jsonLines, samsa, TEST_BROKER_CONFIG } from './harness.js'

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

interface ConfigRow {
  name: string
  value: string | null
  source: string
}

describe('samsa configs', () => {
  it('adds and deletes topic configs without touching the others', async () => {
    expect((await samsa([...b, 'topics', 'create', 'cfg', '-c', 'retention.ms=1000'])).code).toBe(0)
    const add = await samsa([...b, 'configs', 'alter', '--entity-type', 'topic', '--entity-name', 'cfg', '--add-config', 'segment.bytes=1048576,max.message.bytes=2000000'])
    expect(add.stderr).toBe('')
    expect(add.code).toBe(0)
    let rows = jsonLines<ConfigRow>((await samsa([...b, '--json', 'configs', 'describe', '--entity-type', 'topic', '--entity-name', 'cfg'])).stdout)
    const overrides = (r: ConfigRow[]) => Object.fromEntries(r.filter((x) => x.source === 'topic').map((x) => [x.name, x.value]))
    expect(overrides(rows)).toEqual({ 'retention.ms': '1000', 'segment.bytes': '1048576', 'max.message.bytes': '2000000' })

    const del = await samsa([...b, 'configs', 'alter', '--entity-type', 'topic', '--entity-name', 'cfg', '--delete-config', 'retention.ms'])
    expect(del.code).toBe(0)
    expect(del.stdout).toBe('topic cfg: retention.ms removed\n')
    rows = jsonLines<ConfigRow>((await samsa([...b, '--json', 'configs', 'describe', '--entity-type', 'topic', '--entity-name', 'cfg'])).stdout)
    expect(overrides(rows)).toEqual({ 'segment.bytes': '1048576', 'max.message.bytes': '2000000' })

    const table = await samsa([...b, 'configs', 'describe', '--entity-type', 'topic', '--entity-name', 'cfg'])
    expect(table.stdout).toMatch(/^NAME\s+VALUE\s+SOURCE\s+READ-ONLY\n/)
    expect(table.stdout).toMatch(/\nsegment\.bytes\s+1048576\s+topic\s+no\n/)

    const missing = await samsa([...b, 'configs', 'alter', '--entity-type', 'topic', '--entity-name', 'cfg', '--delete-config', 'nope.ms'])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe("samsa: config 'nope.ms' is not set on topic 'cfg'\n")
  })

  it('describes every broker config with --all', async () => {
    const r = await samsa([...b, '--json', 'configs', 'describe', '--entity-type', 'broker', '--all'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const names = jsonLines<ConfigRow>(r.stdout).map((x) => x.name)
    expect(names).toContain('num.partitions')
    expect(names).toContain('log.retention.ms')
  })

  it('alters a dynamic broker config', async () => {
    const r = await samsa([...b, 'configs', 'alter', '--entity-type', 'broker', '--entity-name', String(broker.nodeId), '--add-config', 'num.partitions=4'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const rows = jsonLines<ConfigRow>((await samsa([...b, '--json', 'configs', 'describe', '--entity-type', 'broker'])).stdout)
    expect(rows.find((x) => x.name === 'num.partitions')?.value).toBe('4')
    const unknown = await samsa([...b, 'configs', 'describe', '--entity-type', 'broker', '--entity-name', '999'])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^samsa: unknown broker '999'/)
  })

  it('sets, describes and removes a share group\'s dead-letter topic and retry back-off', async () => {
    const add = await samsa([
      ...b, 'configs', 'alter', '--entity-type', 'group', '--entity-name', 'billing',
      '--add-config', 'errors.deadletterqueue.topic.name=dlq.billing,samsa.share.retry.backoff.initial.ms=500',
    ])
    expect(add.stderr).toBe('')
    expect(add.stdout).toBe('group billing: errors.deadletterqueue.topic.name = dlq.billing\ngroup billing: samsa.share.retry.backoff.initial.ms = 500\n')
    const rows = jsonLines<ConfigRow>((await samsa([...b, '--json', 'configs', 'describe', '--entity-type', 'group', '--entity-name', 'billing'])).stdout)
    expect(rows.map((r) => [r.name, r.value, r.source])).toEqual([
      ['errors.deadletterqueue.topic.name', 'dlq.billing', 'group'],
      ['samsa.share.retry.backoff.initial.ms', '500', 'group'],
    ])
    // The name must start with errors.deadletterqueue.topic.name.prefix (dlq.), as KIP-1191 has it.
    const bad = await samsa([...b, 'configs', 'alter', '--entity-type', 'group', '--entity-name', 'billing', '--add-config', 'errors.deadletterqueue.topic.name=billing-dead'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/errors\.deadletterqueue\.topic\.name\.prefix \(dlq\.\)/)
    const del = await samsa([...b, 'configs', 'alter', '--entity-type', 'group', '--entity-name', 'billing', '--delete-config', 'samsa.share.retry.backoff.initial.ms'])
    expect(del.stdout).toBe('group billing: samsa.share.retry.backoff.initial.ms removed\n')
  })

  it('rejects an unknown entity type', async () => {
    const r = await samsa([...b, 'configs', 'describe', '--entity-type', 'user'])
    expect(r.code).toBe(64)
    expect(r.stderr).toBe("samsa: unknown entity type 'user' (topic, broker or group)\n")
  })
})
