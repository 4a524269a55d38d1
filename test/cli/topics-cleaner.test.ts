// `samsa topics describe --data-dir`: the log cleaner's state of a compacted topic's partitions,
// read from the broker's data directory, next to what the broker answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { ensureBuilt, jsonLines, samsa } from './harness.js'
import { CleanerStateFile } from '../../storage/cleaner-state.js'
import { nodeFileIO } from '../../storage/file-io.js'

let tb: TestBroker
let b: string[]

beforeAll(async () => {
  ensureBuilt()
  tb = await startTestBroker({ 'log.cleaner.backoff.ms': '100' })
  b = ['--bootstrap-server', tb.address]
}, 60_000)

afterAll(async () => {
  await tb?.stop()
})

interface Described {
  partitions: Array<{ partition: number; sizeBytes: number | null }>
  cleaner: { writtenMs: number; partitions: Array<{ partition: number; lastRunMs: number; bytesReclaimed: number; dirtyRatio: number; uncleanableReason?: string }> }
}

describe('samsa topics describe --data-dir', () => {
  it('shows the dirty ratio, last cleaning and bytes reclaimed of a compacted topic', async () => {
    const created = await samsa([...b, 'topics', 'create', 'prices', '-p', '1', '-c', 'cleanup.policy=compact', '-c', 'segment.bytes=1024', '-c', 'min.cleanable.dirty.ratio=0.01'])
    expect(created.code).toBe(0)
    const lines = Array.from({ length: 200 }, (_, i) => `k${i % 4}:${'v'.repeat(20)}${i}`).join('\n') + '\n'
    expect((await samsa([...b, 'produce', 'prices', '-K', ':', '--batch-size', '10'], { input: lines })).code).toBe(0)
    // The cleaner runs every 100 ms; wait until its state file reports a cleaning of the partition.
    const deadline = Date.now() + 20_000
    const state = new CleanerStateFile(nodeFileIO, tb.dataDir)
    while ((state.read()?.partitions.find((p) => p.topic === 'prices')?.lastRunMs ?? -1) < 0) {
      if (Date.now() > deadline) throw new Error('the cleaner did not clean prices')
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const text = await samsa([...b, 'topics', 'describe', 'prices', '--data-dir', tb.dataDir])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/Cleaner \(state of \d{4}-\d\d-\d\dT/)
    expect(text.stdout).toMatch(/PARTITION\s+DIRTY\s+FIRST-DIRTY\s+LAST-CLEANED\s+RECLAIMED\s+DELETE-HORIZON\s+UNCLEANABLE/)
    expect(text.stdout).toMatch(/\n\s*0\s+\d+\.\d%\s+\d+\s+\d{4}-\d\d-\d\dT\S+\s+[\d.]+ \w?i?B\s+-\s+-\s*\n/)
    const [d] = jsonLines<Described>((await samsa([...b, '--json', 'topics', 'describe', 'prices', '--data-dir', tb.dataDir])).stdout)
    const p = d!.cleaner.partitions[0]!
    expect(p.partition).toBe(0)
    expect(p.lastRunMs).toBeGreaterThan(0)
    expect(p.bytesReclaimed).toBeGreaterThan(0)
    expect(p.uncleanableReason).toBeUndefined()
    // Without --data-dir nothing of the cleaner is claimed.
    const [plain] = jsonLines<Described>((await samsa([...b, '--json', 'topics', 'describe', 'prices'])).stdout)
    expect(plain!.cleaner).toBeUndefined()
  }, 60_000)
})
