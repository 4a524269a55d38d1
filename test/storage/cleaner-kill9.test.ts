// Crash safety of log compaction with a real process: a child runs one cleaning round over a data
// directory and kills itself with SIGKILL at a named point of the round (fixtures/cleaning-round.ts:
// its file layer dies before or after the nth call of one kind on one kind of file, or halfway
// through a write). The test then opens the directory as a restarted broker would and checks what
// compaction promises: every record the round keeps is there once, with its offset, key, value and
// timestamp; nothing else is there but original records; offsets increase; the cleaner checkpoint is
// the old or the new one, never torn, and a new one only once the whole round is on disk; and the
// next round brings the log to exactly what compaction keeps.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { CLEANER_OFFSET_CHECKPOINT } from '../../storage/log-cleaner.js'
import { LogManager } from '../../storage/log-manager.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { model, readAll, type Written } from './compaction-model.js'
import { tempDir } from './helpers.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const buildDir = path.join(root, '.cache', `cleaner-kill9-${process.pid}`)
const fixture = path.join(buildDir, 'test/storage/fixtures/cleaning-round.js')
const BROKER = { 'log.cleaner.backoff.ms': '3600000' }
const TOPIC = { 'cleanup.policy': 'compact', 'segment.bytes': '600', 'min.cleanable.dirty.ratio': '0.01' }

interface KillPoint {
  name: string
  when: 'before' | 'after' | 'torn'
  op: 'open' | 'write' | 'fsync' | 'rename' | 'unlink'
  file: string
  nth: number
}

const CLEANED = '\\.log\\.cleaned$'
const SWAP = '\\.log\\.swap$'
const SEGMENT_LOG = '^\\d{20}\\.log$'
const CHECKPOINT_TMP = `^${CLEANER_OFFSET_CHECKPOINT}\\.tmp$`

/** The steps of a round (segment-cleaner.ts, segment-swap.ts, checkpoint.ts), in the order they happen. */
const POINTS: KillPoint[] = [
  { name: 'offset map built, no output yet', when: 'before', op: 'open', file: CLEANED, nth: 1 },
  { name: 'mid-write of .cleaned (a torn batch)', when: 'torn', op: 'write', file: CLEANED, nth: 2 },
  { name: '.cleaned written, not fsynced', when: 'before', op: 'fsync', file: CLEANED, nth: 1 },
  { name: '.cleaned complete', when: 'before', op: 'rename', file: CLEANED, nth: 1 },
  { name: 'renamed to .swap, old segments all there', when: 'after', op: 'rename', file: CLEANED, nth: 1 },
  { name: 'first old segment log deleted', when: 'after', op: 'unlink', file: SEGMENT_LOG, nth: 1 },
  { name: 'half of the group deleted', when: 'after', op: 'unlink', file: SEGMENT_LOG, nth: 2 },
  { name: 'old segments deleted, .swap not renamed', when: 'before', op: 'rename', file: SWAP, nth: 1 },
  { name: '.swap renamed to .log, indexes not rebuilt', when: 'after', op: 'rename', file: SWAP, nth: 1 },
  { name: 'first group swapped, second group renamed to .swap', when: 'after', op: 'rename', file: CLEANED, nth: 2 },
  { name: 'every group swapped, checkpoint not written', when: 'before', op: 'open', file: CHECKPOINT_TMP, nth: 1 },
  { name: 'checkpoint half written', when: 'torn', op: 'write', file: CHECKPOINT_TMP, nth: 1 },
  { name: 'checkpoint written, not renamed', when: 'before', op: 'rename', file: CHECKPOINT_TMP, nth: 1 },
  { name: 'checkpoint renamed into place', when: 'after', op: 'rename', file: CHECKPOINT_TMP, nth: 1 },
]

let work = ''
let template = ''
let written: Written[] = []
/** The first dirty offset after the setup's cleaning, and the end of the crashed round. */
let oldCheckpoint = 0
let newCheckpoint = 0

const T0 = 1_700_000_000_000

/**
 * `rounds` batches of two records over `keys` keys, a tombstone now and then; with `soloEvery`, every
 * so many batches the second record has a key of its own, which no later record supersedes.
 */
async function write(log: PartitionLog, rounds: number, keys: number, salt: string, soloEvery = 0): Promise<Written[]> {
  const out: Written[] = []
  for (let i = 0; i < rounds; i++) {
    const solo = soloEvery > 0 && i % soloEvery === 0
    const records = [
      { key: `k${i % keys}`, value: i % 7 === 3 ? null : `${salt}${i}`, timestamp: T0 + log.logEndOffset * 10 },
      { key: solo ? `solo-${salt}${i}` : `k${(i * 3 + 1) % keys}`, value: `${salt}${i}-${'x'.repeat(i % 20)}`, timestamp: T0 + log.logEndOffset * 10 + 1 },
    ]
    const { baseOffset } = await log.append(encodeBatch(records))
    records.forEach((r, n) => out.push({ offset: baseOffset + n, ...r }))
  }
  return out
}

function runChild(dataDir: string, mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, dataDir, mode], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

beforeAll(async () => {
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/typescript/bin/tsc'),
      '--ignoreConfig',
      'test/storage/fixtures/cleaning-round.ts',
      '--outDir', buildDir,
      '--rootDir', '.',
      '--module', 'nodenext',
      '--moduleResolution', 'nodenext',
      '--target', 'es2022',
      '--skipLibCheck',
      '--types', 'node',
    ],
    { cwd: root, stdio: 'pipe' },
  )
  // One data directory, copied for every kill point: a log cleaned once (so its older segments
  // are small and the next round merges several into one group), then more records of some of
  // its keys, so the round both keeps and removes records of the older segments.
  work = tempDir('samsa-cleaner-kill9-')
  template = path.join(work, 'template')
  const m = await LogManager.open({ dataDir: template, brokerConfig: BROKER })
  await m.createTopic('c', 1, TOPIC)
  const log = m.partition('c', 0)!
  written = [...(await write(log, 20, 10, 'a', 3)), ...(await write(log, 20, 5, 'b'))]
  expect(await m.cleaner!.runOnce()).toBe(1)
  oldCheckpoint = m.cleaner!.checkpoint(log)!
  written.push(...(await write(log, 40, 5, 'c')))
  newCheckpoint = log.activeSegment.baseOffset
  await m.close()
  expect(oldCheckpoint).toBeGreaterThan(0)
  expect(newCheckpoint).toBeGreaterThan(oldCheckpoint)
  // The round has records of the cleaned section both to keep and to remove.
  const cleanBefore = model(written, oldCheckpoint).filter((w) => w.offset < oldCheckpoint)
  const keptAfter = new Set(model(written, newCheckpoint).map((w) => w.offset))
  expect(cleanBefore.some((w) => keptAfter.has(w.offset))).toBe(true)
  expect(cleanBefore.some((w) => !keptAfter.has(w.offset))).toBe(true)
  startKills(3)
}, 120_000)

type ChildResult = Awaited<ReturnType<typeof runChild>>
/** Each point's child, started up front a few at a time (most of a child's time is its start-up). */
const killed = new Map<number, Promise<ChildResult>>()

function startKills(concurrency: number): void {
  let running = 0
  const waiting: Array<() => void> = []
  const slot = async <T>(f: () => Promise<T>): Promise<T> => {
    if (running >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve))
    running++
    try {
      return await f()
    } finally {
      running--
      waiting.shift()?.()
    }
  }
  for (const [i, point] of POINTS.entries()) {
    const { name: _, ...spec } = point
    killed.set(i, slot(() => runChild(copyTemplate(`kill-${i}`), JSON.stringify(spec))))
  }
}

afterAll(() => {
  fs.rmSync(buildDir, { recursive: true, force: true })
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

/** A copy of the prepared data directory. */
function copyTemplate(name: string): string {
  const dir = path.join(work, name)
  fs.cpSync(template, dir, { recursive: true })
  return dir
}

describe('kill -9 during a cleaning round', () => {
  it('the round goes through every named point, with a group of several segments', async () => {
    const r = await runChild(copyTemplate('trace'), 'trace')
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines.pop()).toBe('done 1')
    const trace = lines.map((l) => JSON.parse(l) as { op: string; file: string })
    for (const p of POINTS) {
      const calls = trace.filter((t) => t.op === p.op && new RegExp(p.file).test(t.file)).length
      expect(calls, p.name).toBeGreaterThanOrEqual(p.nth)
    }
    // The first group replaces more than one segment: its .swap waits while several logs go.
    const firstSwap = trace.findIndex((t) => t.op === 'rename' && new RegExp(CLEANED).test(t.file))
    const firstRename = trace.findIndex((t) => t.op === 'rename' && new RegExp(SWAP).test(t.file))
    const deleted = trace.slice(firstSwap, firstRename).filter((t) => t.op === 'unlink' && new RegExp(SEGMENT_LOG).test(t.file))
    expect(deleted.length).toBeGreaterThanOrEqual(2)
  }, 30_000)

  for (const [i, point] of POINTS.entries()) {
    it(`${point.when} ${point.op} #${point.nth} of ${point.file}: ${point.name}`, async () => {
      const dataDir = path.join(work, `kill-${i}`)
      const r = await killed.get(i)!
      expect(r.signal, `child did not die at the point: ${r.stdout}${r.stderr}`).toBe('SIGKILL')

      const m = await LogManager.open({ dataDir, brokerConfig: BROKER })
      try {
        const log = m.partition('c', 0)!
        expect(fs.readdirSync(log.dir).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap'))).toEqual([])
        const got = await readAll(log)
        const kept = model(written, newCheckpoint)
        // Every kept record is there exactly once, as written; anything else is an original record.
        const byOffset = new Map(got.map((g) => [g.offset, g]))
        for (const k of kept) expect(byOffset.get(k.offset), `offset ${k.offset}`).toEqual(k)
        for (const g of got) expect(written).toContainEqual(g)
        for (let j = 1; j < got.length; j++) expect(got[j]!.offset).toBeGreaterThan(got[j - 1]!.offset)
        // The checkpoint is the old one or the new one, and the new one only with the round complete.
        const checkpoint = m.cleaner!.checkpoint(log)
        expect([oldCheckpoint, newCheckpoint]).toContain(checkpoint)
        if (checkpoint === newCheckpoint) expect(got).toEqual(kept)
        // Below the checkpoint every key appears once, as the cleaner assumes of its clean section.
        const clean = got.filter((g) => g.offset < checkpoint!).map((g) => g.key)
        expect(new Set(clean).size).toBe(clean.length)

        // The next round finishes the job and checkpoints it.
        await m.cleaner!.runOnce()
        expect(await readAll(log)).toEqual(kept)
        expect(m.cleaner!.checkpoint(log)).toBe(newCheckpoint)
        expect(fs.readFileSync(path.join(dataDir, CLEANER_OFFSET_CHECKPOINT), 'utf8')).toBe(`0\n1\nc 0 ${newCheckpoint}\n`)
        expect(await m.cleaner!.runOnce()).toBe(0)
      } finally {
        await m.close()
      }
    }, 30_000)
  }
})
