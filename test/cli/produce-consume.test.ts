import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import kafkajs from 'kafkajs'
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

async function createTopic(name: string, partitions = 1): Promise<void> {
  const r = await samsa([...b, 'topics', 'create', name, '--partitions', String(partitions)])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
}

/** 100k distinct lines with varied lengths and arbitrary non-newline bytes. */
function bigInput(lines: number): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < lines; i++) {
    const noise = randomBytes(i % 40)
    for (let j = 0; j < noise.length; j++) if (noise[j] === 0x0a) noise[j] = 0x20
    parts.push(Buffer.from(`${i}:`), noise, Buffer.from('\n'))
  }
  return Buffer.concat(parts)
}

describe('samsa produce / consume', () => {
  it('round-trips 100k lines byte for byte', async () => {
    await createTopic('bulk')
    const input = bigInput(100_000)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-cli-'))
    const file = path.join(dir, 'input.txt')
    writeFileSync(file, input)

    const produced = await samsa([...b, 'produce', 'bulk', '--file', file], { timeoutMs: 60_000 })
    expect(produced.code).toBe(0)
    expect(produced.stdout).toBe('')
    expect(produced.stderr).toMatch(/^produced 100000 record\(s\), .* to 'bulk' partition\(s\) 0 in [\d.]+s \(\d+ records\/s\)\n$/)

    const consumed = await samsa([...b, 'consume', 'bulk', '--from-beginning', '--exit-at-end'], { timeoutMs: 60_000 })
    expect(consumed.code).toBe(0)
    expect(consumed.stderr).toBe('consumed 100000 record(s)\n')
    expect(consumed.stdoutBytes.length).toBe(input.length)
    expect(consumed.stdoutBytes.equals(input)).toBe(true)
  })

  it('streams stdin with keys and headers, and prints them as JSON', async () => {
    await createTopic('keyed', 3)
    const produced = await samsa([...b, 'produce', 'keyed', '--key-separator', ':', '--headers', 'source=cli', '--header-separator', '|'], {
      input: 'n=1|alice:one\nn=2|bob:two\nn=3|alice:three\n',
    })
    expect(produced.code).toBe(0)
    const records = jsonLines<{ key: string; value: string; partition: number; offset: number; timestamp: number; headers: Record<string, string> }>(
      (await samsa([...b, '--json', 'consume', 'keyed', '--from-beginning', '--exit-at-end'])).stdout,
    )
    expect(records.map((r) => [r.key, r.value, r.headers]).sort()).toEqual(
      [
        ['alice', 'one', { source: 'cli', n: '1' }],
        ['alice', 'three', { source: 'cli', n: '3' }],
        ['bob', 'two', { source: 'cli', n: '2' }],
      ].sort(),
    )
    const alice = records.filter((r) => r.key === 'alice')
    expect(alice[0].partition).toBe(alice[1].partition)
    expect(alice[1].offset).toBeGreaterThan(alice[0].offset)
    expect(Math.abs(records[0].timestamp - Date.now())).toBeLessThan(60_000)

    const templated = await samsa([...b, 'consume', 'keyed', '--from-beginning', '--exit-at-end', '--format', '%k=%v %h'])
    expect(templated.stdout.split('\n').filter(Boolean).sort()).toEqual(['alice=one source=cli,n=1', 'alice=three source=cli,n=3', 'bob=two source=cli,n=2'])
  })

  it('reads one partition from an offset and stops after --max-messages', async () => {
    await createTopic('parts', 2)
    await samsa([...b, 'produce', 'parts', '--partition', '1'], { input: Array.from({ length: 10 }, (_, i) => `p1-${i}`).join('\n') })
    await samsa([...b, 'produce', 'parts', '--partition', '0'], { input: 'p0-0\np0-1\n' })
    const fromOffset = await samsa([...b, 'consume', 'parts', '--partition', '1', '--offset', '4', '--exit-at-end', '--format', '%p:%o %v'])
    expect(fromOffset.code).toBe(0)
    expect(fromOffset.stdout).toBe(['1:4 p1-4', '1:5 p1-5', '1:6 p1-6', '1:7 p1-7', '1:8 p1-8', '1:9 p1-9', ''].join('\n'))
    const limited = await samsa([...b, 'consume', 'parts', '--partition', '1', '--from-beginning', '--max-messages', '3'])
    expect(limited.code).toBe(0)
    expect(limited.stdout).toBe('p1-0\np1-1\np1-2\n')
    const bad = await samsa([...b, 'consume', 'parts', '--partition', '7', '--exit-at-end'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toBe("samsa: topic 'parts' has no partition 7 (partitions: 0-1)\n")
  })

  it('replays from a timestamp', async () => {
    await createTopic('timed', 2)
    const kafka = new kafkajs.Kafka({ brokers: [broker.address], logLevel: kafkajs.logLevel.NOTHING })
    const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner })
    await producer.connect()
    const t0 = Date.UTC(2024, 0, 1, 0, 0, 0)
    await producer.send({
      topic: 'timed',
      messages: Array.from({ length: 10 }, (_, i) => ({ value: `r${i}`, timestamp: String(t0 + i * 60_000), partition: i % 2 })),
    })
    await producer.disconnect()
    const r = await samsa([...b, 'consume', 'timed', '--from-time', '2024-01-01T00:05:00Z', '--exit-at-end', '--format', '%T %v'])
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual([5, 6, 7, 8, 9].map((i) => `${t0 + i * 60_000} r${i}`).sort())
    const beyond = await samsa([...b, 'consume', 'timed', '--from-time', '-1m', '--exit-at-end'])
    expect(beyond.code).toBe(0)
    expect(beyond.stdout).toBe('')
  })

  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
    it(`round-trips ${codec}-compressed batches`, async () => {
      const topic = `z-${codec}`
      await createTopic(topic)
      const lines = Array.from({ length: 500 }, (_, i) => `${codec} line ${i} ${'x'.repeat(i % 50)}`)
      const produced = await samsa([...b, 'produce', topic, '--compression', codec, '--batch-size', '100'], { input: lines.join('\n') + '\n' })
      expect(produced.stderr).toMatch(/^produced 500 record/)
      expect(produced.code).toBe(0)
      const consumed = await samsa([...b, 'consume', topic, '--from-beginning', '--exit-at-end'])
      expect(consumed.code).toBe(0)
      expect(consumed.stdout).toBe(lines.join('\n') + '\n')
    })
  }

  it('exits at once on an empty topic with --exit-at-end', async () => {
    await createTopic('empty')
    const r = await samsa([...b, 'consume', 'empty', '--from-beginning', '--exit-at-end'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('consumed 0 record(s)\n')
  })

  it('reports a JSON summary with --json', async () => {
    await createTopic('summary', 2)
    const r = await samsa([...b, '--json', 'produce', 'summary'], { input: 'a\nb\nc\nd\n' })
    const [s] = jsonLines<{ records: number; bytes: number; partitions: number[] }>(r.stdout)
    expect(s.records).toBe(4)
    expect(s.bytes).toBe(4)
    expect(s.partitions.length).toBeGreaterThan(0)
  })

  it('fails cleanly on bad produce options', async () => {
    const codec = await samsa([...b, 'produce', 'summary', '--compression', 'brotli'], { input: 'x\n' })
    expect(codec.code).toBe(64)
    expect(codec.stderr).toBe("samsa: unknown compression 'brotli' (none, gzip, snappy, lz4, zstd)\n")
    const sep = await samsa([...b, 'produce', 'summary', '--key-separator', ':'], { input: 'ok:1\nnokey\n' })
    expect(sep.code).toBe(1)
    expect(sep.stderr).toBe('samsa: line 2: no key separator found\n')
  })

  it('reads without a group: no rebalance delay, nothing left on the broker', async () => {
    // A long initial rebalance delay: joining any group would cost these 45 s, far beyond the bound
    // below, which only leaves room for a slow machine starting two CLI processes.
    const slow = await startBroker({ port: 0, config: { 'group.initial.rebalance.delay.ms': '45000' } })
    try {
      const sb = ['--bootstrap-server', slow.address]
      expect((await samsa([...sb, 'topics', 'create', 'direct', '--partitions', '3'])).code).toBe(0)
      await samsa([...sb, 'produce', 'direct'], { input: Array.from({ length: 30 }, (_, i) => `d${i}`).join('\n') })
      const started = Date.now()
      const r = await samsa([...sb, 'consume', 'direct', '--from-beginning', '--exit-at-end'])
      const elapsed = Date.now() - started
      expect(r.stderr).toBe('consumed 30 record(s)\n')
      expect(r.code).toBe(0)
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `d${i}`).sort())
      expect(elapsed).toBeLessThan(20_000)
      const admin = new kafkajs.Kafka({ brokers: [slow.address], logLevel: kafkajs.logLevel.NOTHING }).admin()
      await admin.connect()
      try {
        expect((await admin.listGroups()).groups).toEqual([])
      } finally {
        await admin.disconnect()
      }
    } finally {
      await slow.stop()
    }
  })

  it('resets an out-of-range offset to the end and says so', async () => {
    await createTopic('reset')
    await samsa([...b, 'produce', 'reset'], { input: 'old-0\nold-1\n' })
    const { spawn } = await import('node:child_process')
    const { CLI_MAIN } = await import('./harness.js')
    const child = spawn(process.execPath, [CLI_MAIN, ...b, 'consume', 'reset', '--partition', '0', '--offset', '50', '--max-messages', '1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    const exited = new Promise<number | null>((r) => child.on('close', r))
    const deadline = Date.now() + 20_000
    while (!err.includes('out of range') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    expect(err).toBe('partition 0: offset 50 is out of range, continuing at 2\n')
    await samsa([...b, 'produce', 'reset'], { input: 'new-2\n' })
    expect(await exited).toBe(0)
    expect(out).toBe('new-2\n')
    expect(err).toBe('partition 0: offset 50 is out of range, continuing at 2\nconsumed 1 record(s)\n')
  })

  it('stops a following consumer on SIGINT', async () => {
    await createTopic('follow')
    const { spawn } = await import('node:child_process')
    const { CLI_MAIN } = await import('./harness.js')
    const child = spawn(process.execPath, [CLI_MAIN, ...b, 'consume', 'follow', '--from-beginning'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    await samsa([...b, 'produce', 'follow'], { input: 'live-1\n' })
    const deadline = Date.now() + 20_000
    while (!out.includes('live-1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    expect(out).toBe('live-1\n')
    const exited = new Promise<number | null>((r) => child.on('close', r))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })
})
