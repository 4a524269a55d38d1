// Crash consistency with a real process: a child appends durably and reports each acknowledged
// append; it is killed with SIGKILL at various points, and every acknowledged record must be
// present, with its content, after recovery. The child runs the storage sources compiled by tsc
// into a private directory (only storage/ and the protocol files it imports).
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { batchSizeAt } from '../../protocol/record-batch.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { config, tempDir } from './helpers.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const buildDir = path.join(root, '.cache', `storage-kill9-${process.pid}`)
const fixture = path.join(root, 'test/storage/fixtures/durable-appender.mjs')
let dataRoot = ''

beforeAll(() => {
  execFileSync(
    process.execPath,
    [
      path.join(root, 'node_modules/typescript/bin/tsc'),
      '--ignoreConfig',
      'storage/partition-log.ts',
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
  dataRoot = tempDir()
})

afterAll(() => {
  fs.rmSync(buildDir, { recursive: true, force: true })
  if (dataRoot) fs.rmSync(dataRoot, { recursive: true, force: true })
})

interface Ack {
  base: number
  last: number
  seq: number
}

function runAndKill(dir: string, killAfterAcks: number, concurrency: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture, buildDir, dir, String(concurrency)], { stdio: ['ignore', 'pipe', 'pipe'] })
    const acks: Ack[] = []
    let buffered = ''
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        const [kind, a, b, c] = line.split(' ')
        if (kind === 'ack') acks.push({ base: Number(a), last: Number(b), seq: Number(c) })
        if (acks.length >= killAfterAcks && child.exitCode === null && !child.killed) child.kill('SIGKILL')
      }
    })
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}: ${stderr}`))
      else resolve(acks)
    })
  })
}

describe('kill -9 during durable appends', () => {
  it('keeps every acknowledged append across repeated crashes', async () => {
    const dir = path.join(dataRoot, 't-0')
    const expected = new Map<number, string>()
    for (const [killAt, concurrency] of [
      [1, 1],
      [25, 1],
      [200, 4],
      [60, 16],
      [500, 8],
    ] as const) {
      const acks = await runAndKill(dir, killAt, concurrency)
      expect(acks.length).toBeGreaterThanOrEqual(killAt)
      for (const a of acks) for (let o = a.base; o <= a.last; o++) expected.set(o, `${a.seq}:${o - a.base}`)
      const log = PartitionLog.open({ dir, topic: 't', partition: 0, config: config({ 'segment.bytes': '16384' }), recoveryPoint: 0, hadCleanShutdown: false })
      const found = new Map<number, string>()
      let next = 0
      while (next < log.logEndOffset) {
        const bytes = (await log.read(next, 1 << 20)).records
        let last = next - 1
        for (let pos = 0; pos < bytes.length; pos += batchSizeAt(bytes, pos)) {
          for (const r of iterateRecords(bytes, pos)) {
            found.set(r.offset, Buffer.from(r.value!).toString())
            last = r.offset
          }
        }
        expect(last).toBeGreaterThanOrEqual(next)
        next = last + 1
      }
      // offsets are contiguous from 0 and every acknowledged record is there with its content
      expect(found.size).toBe(log.logEndOffset)
      for (const [offset, value] of expected) expect(found.get(offset), `offset ${offset}`).toBe(value)
      // records that were written but not acknowledged may survive; keep them in the expectation
      for (const [offset, value] of found) if (!expected.has(offset)) expected.set(offset, value)
      await log.close()
    }
  })
})
