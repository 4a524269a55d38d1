// The cleaner with transactions and delete horizons, as Kafka's LogCleaner: aborted data removed,
// committed transactional records compacted, markers kept while their transaction has data and
// removed after delete.retention.ms once it has none, the .txnindex of cleaned segments rebuilt,
// each producer's last batch kept (empty if need be), and delete horizons that survive a restart.
// The property test drives random puts, tombstones, idempotent writes and interleaved
// transactions over a small key space and reads the log back as a read_committed consumer would.
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { ControlType, readControlRecord } from '../../protocol/control-records.js'
import {
  batchSizeAt,
  hasDeleteHorizon,
  isControl,
  isTransactional,
  readAttributes,
  readBaseOffset,
  readBaseTimestamp,
  readLastOffset,
  readProducerId,
  readRecordCount,
} from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { iterateRecords } from '../../protocol/record-reader.js'
import { FaultyFileIO, type FileIO, nodeFileIO } from '../../storage/file-io.js'
import { LogCleaner } from '../../storage/log-cleaner.js'
import { finishInterruptedSwaps } from '../../storage/segment-swap.js'
import { PartitionLog } from '../../storage/partition-log.js'
import { config, tempDir } from './helpers.js'

const dirs: string[] = []
const open: PartitionLog[] = []
afterEach(async () => {
  for (const l of open.splice(0)) await l.close().catch(() => {})
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never
const T0 = 1_700_000_000_000
const RETENTION = 60_000

function openLog(dir: string, io: FileIO = nodeFileIO): PartitionLog {
  const log = PartitionLog.open({
    dir: path.join(dir, 't-0'),
    topic: 't',
    partition: 0,
    io,
    recoveryPoint: 0,
    config: config({ 'cleanup.policy': 'compact', 'segment.bytes': '700', 'min.cleanable.dirty.ratio': '0.01', 'delete.retention.ms': String(RETENTION) }),
  })
  open.push(log)
  return log
}

function cleanerFor(dir: string, log: PartitionLog, io: FileIO = nodeFileIO): LogCleaner {
  return new LogCleaner({ dataDir: dir, io, logger: silent, logs: () => [log], dedupeBufferSize: 1 << 20 })
}

/** Stops the world at the n-th file change once armed, as a kill -9 would; everything after fails. */
function killAt(inner: FaultyFileIO, at: number): FileIO & { armed: boolean; killed: boolean; changes: number; trace: string[] } {
  const k = { armed: false, killed: false, changes: 0, trace: [] as string[] }
  const alive = () => {
    if (k.killed) throw new Error('killed')
  }
  const change = (kind: string) => {
    alive()
    if (!k.armed) return
    k.trace.push(kind)
    if (++k.changes === at) {
      k.killed = true
      throw new Error('killed')
    }
  }
  return Object.assign(k, {
    ...(Object.fromEntries(['close', 'fsize', 'readdir', 'stat', 'mkdir', 'rm', 'readFile', 'statfs'].map((m) => [m, (...a: unknown[]) => (inner as never as Record<string, (...x: unknown[]) => unknown>)[m]!(...a)])) as unknown as FileIO),
    open: (f: string, fl: string) => (alive(), inner.open(f, fl as never)),
    read: (...a: Parameters<FileIO['read']>) => (alive(), inner.read(...a)),
    readAsync: (...a: Parameters<FileIO['readAsync']>) => (alive(), inner.readAsync(...a)),
    write: (...a: Parameters<FileIO['write']>) => (change('write'), inner.write(...a)),
    fsync: async (fd: number) => (change('fsync'), inner.fsync(fd)),
    fdatasync: async (fd: number) => (change('fdatasync'), inner.fdatasync(fd)),
    fsyncDir: async (d: string) => (change('fsyncDir'), inner.fsyncDir(d)),
    ftruncate: (...a: Parameters<FileIO['ftruncate']>) => (change('ftruncate'), inner.ftruncate(...a)),
    rename: (a: string, b: string) => (change('rename'), inner.rename(a, b)),
    unlink: (f: string) => (change('unlink'), inner.unlink(f)),
  }) as never
}

async function reopen(dir: string, log: PartitionLog): Promise<PartitionLog> {
  await log.close()
  open.splice(open.indexOf(log), 1)
  return openLog(dir)
}

interface Rec {
  offset: number
  key: string
  value: string | null
  timestamp: number
}

interface Batch {
  baseOffset: number
  lastOffset: number
  producerId: number
  control: boolean
  transactional: boolean
  /** Abort or Commit for a marker with its record; undefined otherwise. */
  marker: 'abort' | 'commit' | undefined
  horizon: number | undefined
  records: Rec[]
}

/** Every batch of the log, as stored. */
async function batches(log: PartitionLog): Promise<Batch[]> {
  const out: Batch[] = []
  let next = log.logStartOffset
  while (next < log.logEndOffset) {
    const res = await log.read(next, 1 << 20)
    const buf = res.records
    if (buf.length === 0) break
    for (let p = 0; p < buf.length; p += batchSizeAt(buf, p)) {
      const attributes = readAttributes(buf, p)
      const control = isControl(attributes)
      const records: Rec[] = []
      let marker: Batch['marker']
      for (const r of iterateRecords(buf, p)) {
        if (control) {
          const type = readControlRecord(r)?.type
          marker = type === ControlType.Abort ? 'abort' : type === ControlType.Commit ? 'commit' : undefined
          continue
        }
        records.push({ offset: r.offset, key: Buffer.from(r.key!).toString(), value: r.value === null ? null : Buffer.from(r.value).toString(), timestamp: r.timestamp })
      }
      out.push({
        baseOffset: readBaseOffset(buf, p),
        lastOffset: readLastOffset(buf, p),
        producerId: readProducerId(buf, p),
        control,
        transactional: isTransactional(attributes),
        marker,
        horizon: hasDeleteHorizon(attributes) ? readBaseTimestamp(buf, p) : undefined,
        records,
      })
      expect(readRecordCount(buf, p)).toBe(control ? (marker === undefined ? 0 : 1) : records.length)
      next = readLastOffset(buf, p) + 1
    }
    res.release()
  }
  return out
}

/** What a read_committed consumer gets (Kafka's consumer filtering with the fetch's aborted transactions). */
async function readCommitted(log: PartitionLog): Promise<Rec[]> {
  const aborted = log.abortedTransactions(log.logStartOffset, log.lastStableOffset).sort((a, b) => a.firstOffset - b.firstOffset)
  const abortedProducers = new Set<number>()
  const out: Rec[] = []
  for (const b of await batches(log)) {
    if (b.lastOffset >= log.lastStableOffset) break
    while (aborted.length > 0 && aborted[0]!.firstOffset <= b.lastOffset) abortedProducers.add(aborted.shift()!.producerId)
    if (b.control) {
      if (b.marker === 'abort') abortedProducers.delete(b.producerId)
      continue
    }
    if (b.transactional && abortedProducers.has(b.producerId)) continue
    out.push(...b.records)
  }
  return out
}

// ---- a small model of what is written ---------------------------------------------------------

type Op =
  | { kind: 'put'; key: number; value: string | null }
  | { kind: 'idem'; key: number; value: string | null }
  | { kind: 'txn'; pid: number; key: number; value: string | null }
  | { kind: 'end'; pid: number; commit: boolean }
  | { kind: 'roll' }
  | { kind: 'restart' }

interface Written extends Rec {
  /** Producer id of a transactional write; -1 otherwise. */
  txn: number
  aborted: boolean
}

const IDEMPOTENT = 100
const TXN_PIDS = [200, 201, 202]

class Writer {
  readonly written: Written[] = []
  private readonly seq = new Map<number, number>()
  private readonly openTxn = new Map<number, Written[]>()
  private clock = T0 - 10_000_000
  lastIdempotent: Buffer | undefined
  lastIdempotentOffset = -1

  constructor(public log: PartitionLog) {}

  private nextSeq(pid: number): number {
    const s = this.seq.get(pid) ?? 0
    this.seq.set(pid, s + 1)
    return s
  }

  async apply(op: Op): Promise<void> {
    if (op.kind === 'roll') {
      this.log.roll()
      return
    }
    if (op.kind === 'end') {
      const txn = this.openTxn.get(op.pid)
      if (txn === undefined) return
      this.openTxn.delete(op.pid)
      await this.log.appendTxnMarker({ producerId: op.pid, producerEpoch: 0, coordinatorEpoch: 0, commit: op.commit }, { durable: false })
      if (!op.commit) for (const w of txn) w.aborted = true
      return
    }
    if (op.kind === 'restart') return
    const timestamp = this.clock++
    const key = `k${op.key}`
    const record = { key, value: op.value, timestamp }
    let bytes: Buffer
    let txn = -1
    if (op.kind === 'put') bytes = encodeBatch([record])
    else if (op.kind === 'idem') bytes = encodeBatch([record], { producerId: IDEMPOTENT, producerEpoch: 0, baseSequence: this.nextSeq(IDEMPOTENT) })
    else {
      txn = op.pid
      bytes = encodeBatch([record], { producerId: op.pid, producerEpoch: 0, baseSequence: this.nextSeq(op.pid), transactional: true })
    }
    const { baseOffset } = await this.log.append(bytes)
    const w: Written = { offset: baseOffset, key, value: op.value, timestamp, txn, aborted: false }
    this.written.push(w)
    if (op.kind === 'idem') {
      this.lastIdempotent = bytes
      this.lastIdempotentOffset = baseOffset
    }
    if (txn >= 0) {
      const list = this.openTxn.get(txn) ?? []
      list.push(w)
      this.openTxn.set(txn, list)
    }
  }

  async endAll(): Promise<void> {
    for (const pid of [...this.openTxn.keys()]) await this.apply({ kind: 'end', pid, commit: true })
  }

  /** What compaction up to `end` leaves visible: per key, the latest committed record below `end`, then everything committed from `end` on. */
  model(end: number, tombstonesGone: boolean): Rec[] {
    const visible = this.written.filter((w) => !w.aborted)
    const latest = new Map<string, number>()
    for (const w of visible) if (w.offset < end) latest.set(w.key, w.offset)
    return visible
      .filter((w) => w.offset >= end || (latest.get(w.key) === w.offset && !(tombstonesGone && w.value === null)))
      .map(({ offset, key, value, timestamp }) => ({ offset, key, value, timestamp }))
  }
}

const value = fc.option(fc.string({ maxLength: 8 }), { freq: 4, nil: null })
const key = fc.integer({ min: 0, max: 5 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('put' as const), key, value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('idem' as const), key, value }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('txn' as const), pid: fc.constantFrom(...TXN_PIDS), key, value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('end' as const), pid: fc.constantFrom(...TXN_PIDS), commit: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'roll' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
)

async function cleanAll(cleaner: LogCleaner, now: number): Promise<void> {
  while ((await cleaner.runOnce(now)) > 0);
}

/** Every marker left holding its record follows data of its transaction still in the log. */
function expectMarkersOnlyWithData(all: Batch[]): void {
  const dataSinceMarker = new Map<number, boolean>()
  for (const b of all) {
    if (!b.transactional) continue
    if (!b.control) dataSinceMarker.set(b.producerId, true)
    else {
      if (b.marker !== undefined) expect(dataSinceMarker.get(b.producerId) ?? false, `marker at ${b.baseOffset} outlived its transaction`).toBe(true)
      dataSinceMarker.delete(b.producerId)
    }
  }
}

describe('log cleaner: transactions and delete horizons', () => {
  it('rebuilds the .txnindex of cleaned segments, then stamps the emptied abort marker and removes it at its horizon', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const log = openLog(dir)
    const txn = (pid: number, seq: number, v: string) =>
      encodeBatch([{ key: 'k', value: v, timestamp: T0 + seq }], { producerId: pid, producerEpoch: 0, baseSequence: seq, transactional: true })
    for (let seq = 0; seq < 3; seq++) await log.append(txn(5000, seq, `aborted${seq}`))
    log.roll()
    const abort = await log.appendTxnMarker({ producerId: 5000, producerEpoch: 0, coordinatorEpoch: 0, commit: false })
    await log.append(txn(5000, 3, 'kept'))
    await log.appendTxnMarker({ producerId: 5000, producerEpoch: 0, coordinatorEpoch: 0, commit: true })
    for (let i = 0; i < 8; i++) await log.append(encodeBatch([{ key: `p${i % 2}`, value: `plain${i}`, timestamp: T0 + 10 + i }]))
    log.roll()
    const indexed = () => log.segmentList.flatMap((s) => s.txnIndex.all().map((t) => ({ ...t })))
    expect(indexed()).toEqual([{ producerId: 5000, firstOffset: 0, lastOffset: abort.baseOffset, lastStableOffset: abort.baseOffset + 1 }])
    const cleaner = cleanerFor(dir, log)
    expect(await cleaner.runOnce(T0)).toBe(1)
    // The data is gone; the marker stays, and the cleaned segment holding it indexes its transaction.
    let all = await batches(log)
    expect(all.flatMap((b) => b.records).filter((r) => r.value!.startsWith('aborted'))).toEqual([])
    expect(all.find((b) => b.baseOffset === abort.baseOffset)).toMatchObject({ marker: 'abort', horizon: undefined })
    expect(indexed()).toEqual([{ producerId: 5000, firstOffset: 0, lastOffset: abort.baseOffset, lastStableOffset: abort.baseOffset + 1 }])
    expect(fs.readdirSync(path.join(dir, 't-0')).filter((n) => n.includes('.cleaned') || n.includes('.swap'))).toEqual([])
    // The next cleaning sees no data of it: the entry goes and the marker is stamped with a horizon.
    await log.append(encodeBatch([{ key: 'p0', value: 'more', timestamp: T0 + 30 }]))
    log.roll()
    expect(await cleaner.runOnce(T0)).toBe(1)
    expect(indexed()).toEqual([])
    all = await batches(log)
    expect(all.find((b) => b.baseOffset === abort.baseOffset)).toMatchObject({ marker: 'abort', horizon: T0 + RETENTION })
    expect(await readCommitted(log)).toEqual((await batches(log)).flatMap((b) => b.records))
    // At the horizon the cleaner runs by itself and the marker goes; the committed transaction's marker stays.
    expect(await cleaner.runOnce(T0 + RETENTION)).toBe(1)
    all = await batches(log)
    expect(all.some((b) => b.baseOffset === abort.baseOffset)).toBe(false)
    expect(all.filter((b) => b.control).map((b) => b.marker)).toEqual(['commit'])
    expect(all.flatMap((b) => b.records).map((r) => r.value)).toEqual(['kept', 'plain7', 'more'])
  })

  it('stamping a delete horizon leaves record timestamps, ListOffsets by time and the largest timestamp as they were', async () => {
    const dir = tempDir()
    dirs.push(dir)
    let log = openLog(dir)
    for (let i = 0; i < 12; i++) {
      await log.append(encodeBatch([{ key: `k${i % 3}`, value: i % 4 === 3 ? null : `v${i}`, timestamp: T0 - 1000 + i * 10 }]))
    }
    log.roll()
    const before = await batches(log)
    const max = log.maxTimestampOffset()
    const cleaner = cleanerFor(dir, log)
    expect(await cleaner.runOnce(T0)).toBe(1)
    const after = await batches(log)
    // Tombstones kept are in batches whose base timestamp is now the horizon, far after their records.
    const stamped = after.filter((b) => b.horizon !== undefined)
    expect(stamped.length).toBeGreaterThan(0)
    for (const b of stamped) expect(b.horizon).toBe(T0 + RETENTION)
    const records = after.flatMap((b) => b.records)
    const original = new Map(before.flatMap((b) => b.records).map((r) => [r.offset, r]))
    for (const r of records) expect(r).toEqual(original.get(r.offset))
    // ListOffsets by timestamp answers with the first surviving record at or after the time, before and after a restart.
    for (const reopened of [false, true]) {
      if (reopened) log = await reopen(dir, log)
      for (const b of before) {
        const ts = b.records[0]!.timestamp
        const first = records.find((r) => r.timestamp >= ts)!
        expect(await log.offsetForTimestamp(ts)).toEqual({ offset: first.offset, timestamp: first.timestamp })
      }
      expect(log.maxTimestampOffset()).toEqual(max)
    }
  })

  it('read_committed after cleaning is the latest committed value per key; aborted data, then tombstones and empty markers go; horizons survive restarts (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 50 }), async (ops) => {
        const dir = tempDir()
        dirs.push(dir)
        const w = new Writer(openLog(dir))
        for (const op of ops) {
          await w.apply(op)
          if (op.kind === 'restart') w.log = await reopen(dir, w.log)
        }
        await w.endAll()
        w.log.roll()
        const end = w.log.activeSegment.baseOffset

        // First cleaning: aborted data goes, committed records are compacted, tombstones and markers stay.
        let cleaner = cleanerFor(dir, w.log)
        await cleanAll(cleaner, T0)
        const check = async (tombstonesGone: boolean): Promise<Batch[]> => {
          const all = await batches(w.log)
          const raw = all.flatMap((b) => b.records)
          for (let i = 1; i < raw.length; i++) expect(raw[i]!.offset).toBeGreaterThan(raw[i - 1]!.offset)
          // Every record left is one written, with its offset and timestamp, and none aborted.
          const byOffset = new Map(w.written.map((x) => [x.offset, x]))
          for (const r of raw) {
            const orig = byOffset.get(r.offset)
            expect(orig).toBeDefined()
            expect(orig!.aborted).toBe(false)
            expect({ key: orig!.key, value: orig!.value, timestamp: orig!.timestamp }).toEqual({ key: r.key, value: r.value, timestamp: r.timestamp })
          }
          expect(await readCommitted(w.log)).toEqual(w.model(end, tombstonesGone))
          return all
        }
        await check(false)

        // A later cleaning stamps the markers whose transactions have no data left; restarts keep every horizon.
        w.log = await reopen(dir, w.log)
        cleaner = cleanerFor(dir, w.log)
        await w.log.append(encodeBatch([{ key: 'filler', value: 'a', timestamp: T0 }]))
        w.log.roll()
        await cleanAll(cleaner, T0)
        const stamped = new Map((await batches(w.log)).filter((b) => b.horizon !== undefined).map((b) => [b.baseOffset, b.horizon]))
        for (const h of stamped.values()) expect(h).toBe(T0 + RETENTION)
        w.log = await reopen(dir, w.log)
        cleaner = cleanerFor(dir, w.log)
        await w.log.append(encodeBatch([{ key: 'filler', value: 'b', timestamp: T0 }]))
        w.log.roll()
        await cleanAll(cleaner, T0 + RETENTION / 2)
        for (const b of await batches(w.log)) if (stamped.has(b.baseOffset)) expect(b.horizon).toBe(stamped.get(b.baseOffset))

        // After a restart and at the horizon the cleaner cleans by itself (nothing is dirty): tombstones and empty markers go.
        w.log = await reopen(dir, w.log)
        cleaner = cleanerFor(dir, w.log)
        const horizonDue = stamped.size > 0
        expect(await cleaner.runOnce(T0 + RETENTION - 1)).toBe(0)
        expect(await cleaner.runOnce(T0 + RETENTION)).toBe(horizonDue ? 1 : 0)
        await cleanAll(cleaner, T0 + RETENTION)
        const fillerEnd = w.log.activeSegment.baseOffset
        const all = await batches(w.log)
        expect(all.filter((b) => b.records.some((r) => r.value === null) && b.baseOffset < end)).toEqual([])
        expect(all.filter((b) => b.control && b.marker !== undefined && b.horizon !== undefined)).toEqual([])
        const visible = await readCommitted(w.log)
        const filler = visible.filter((r) => r.key === 'filler')
        expect(visible.filter((r) => r.key !== 'filler')).toEqual(w.model(end, true).filter((r) => r.key !== 'filler'))
        expect(filler.map((r) => r.value)).toEqual(['b'])
        expect(fillerEnd).toBeGreaterThan(end)

        // Markers whose data went in that last cleaning go one delete.retention.ms later; then none is left without data.
        await w.log.append(encodeBatch([{ key: 'filler', value: 'c', timestamp: T0 }]))
        w.log.roll()
        await cleanAll(cleaner, T0 + RETENTION)
        await cleanAll(cleaner, T0 + 2 * RETENTION)
        const final = await batches(w.log)
        expectMarkersOnlyWithData(final)
        expect(final.filter((b) => b.control && b.marker !== undefined && b.horizon !== undefined)).toEqual([])

        // The idempotent producer's last batch is still known: a retry is answered with its offset.
        if (w.lastIdempotent !== undefined) expect((await w.log.append(w.lastIdempotent)).baseOffset).toBe(w.lastIdempotentOffset)
      }),
      { numRuns: 20, seed: 534, endOnFailure: true },
    )
  }, 60_000)

  it('a kill -9 at each step of the swaps of a cleaning round with transactions: read_committed never shows aborted data or loses committed data', async () => {
    const setup = async (): Promise<{ dir: string; expected: Rec[]; committed: Rec[] }> => {
      const dir = tempDir()
      dirs.push(dir)
      const w = new Writer(openLog(dir))
      for (let i = 0; i < 30; i++) {
        await w.apply({ kind: 'txn', pid: TXN_PIDS[i % 2]!, key: i % 4, value: `t${i}` })
        await w.apply({ kind: 'put', key: (i * 3) % 5, value: i % 7 === 0 ? null : `p${i}` })
        if (i % 5 === 4) await w.apply({ kind: 'end', pid: TXN_PIDS[i % 2]!, commit: i % 3 !== 0 })
      }
      await w.endAll()
      w.log.roll()
      const expected = w.model(w.log.activeSegment.baseOffset, false)
      const committed = w.written.filter((x) => !x.aborted).map(({ offset, key, value, timestamp }) => ({ offset, key, value, timestamp }))
      await w.log.close()
      open.splice(open.indexOf(w.log), 1)
      return { dir, expected, committed }
    }
    const round = async (at: number): Promise<{ killed: boolean; trace: string[] }> => {
      const { dir, expected, committed } = await setup()
      const faulty = new FaultyFileIO()
      const io = killAt(faulty, at)
      const log = openLog(dir, io)
      io.armed = true
      await cleanerFor(dir, log, io)
        .runOnce(T0)
        .catch(() => 0)
      if (io.killed) faulty.crash()
      open.splice(open.indexOf(log), 1)
      const reopened = openLog(dir)
      const got = await readCommitted(reopened)
      // Everything compaction keeps is there once; anything more is a committed original.
      for (const e of expected) expect(got.filter((g) => g.offset === e.offset)).toEqual([e])
      for (const g of got) expect(committed).toContainEqual(g)
      expect(fs.readdirSync(path.join(dir, 't-0')).filter((n) => n.endsWith('.cleaned') || n.endsWith('.swap'))).toEqual([])
      // The next round finishes the job.
      await cleanAll(cleanerFor(dir, reopened), T0)
      expect(await readCommitted(reopened)).toEqual(expected)
      return { killed: io.killed, trace: io.trace }
    }
    const dry = await round(Number.MAX_SAFE_INTEGER)
    expect(dry.trace.filter((k) => k === 'rename').length).toBeGreaterThan(4)
    // Every step of the first two groups' swaps (the .txnindex and .log renames, the deletions, the fsyncs), and the first write.
    const secondGroupDone = dry.trace.indexOf('fsyncDir', dry.trace.indexOf('fsyncDir') + 1)
    for (const [i, kind] of dry.trace.entries()) {
      if (i > secondGroupDone) break
      if (kind === 'write' && i !== dry.trace.indexOf('write')) continue
      if (kind === 'ftruncate') continue
      expect((await round(i + 1)).killed).toBe(true)
    }
  }, 120_000)

  it('a crash during the swap keeps the old .txnindex (not committed) or installs the cleaned one (committed)', () => {
    const f = (base: number, suffix: string) => `${String(base).padStart(20, '0')}${suffix}`
    const setup = (files: Record<string, string>): string => {
      const dir = tempDir()
      dirs.push(dir)
      for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content)
      return dir
    }
    const read = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8')]))
    // Before the commit point: the cleaned files go, the old segment stays whole.
    let dir = setup({ [f(0, '.log')]: '', [f(0, '.txnindex')]: 'old', [f(0, '.log.cleaned')]: '', [f(0, '.txnindex.swap')]: 'new' })
    finishInterruptedSwaps(nodeFileIO, dir)
    expect(read(dir)).toEqual({ [f(0, '.log')]: '', [f(0, '.txnindex')]: 'old' })
    // Committed, old files not yet deleted: the cleaned index replaces the old one.
    dir = setup({ [f(0, '.log')]: '', [f(0, '.txnindex')]: 'old', [f(0, '.log.swap')]: '', [f(0, '.txnindex.swap')]: 'new' })
    finishInterruptedSwaps(nodeFileIO, dir)
    expect(read(dir)).toEqual({ [f(0, '.log')]: '', [f(0, '.txnindex')]: 'new' })
    // Committed, cleaned index already in place: it stays.
    dir = setup({ [f(0, '.txnindex')]: 'new', [f(0, '.log.swap')]: '' })
    finishInterruptedSwaps(nodeFileIO, dir)
    expect(read(dir)).toEqual({ [f(0, '.log')]: '', [f(0, '.txnindex')]: 'new' })
    // Committed with an empty cleaned index: no .txnindex is left.
    dir = setup({ [f(0, '.log')]: '', [f(0, '.txnindex')]: 'old', [f(0, '.log.swap')]: '', [f(0, '.txnindex.swap')]: '' })
    finishInterruptedSwaps(nodeFileIO, dir)
    expect(read(dir)).toEqual({ [f(0, '.log')]: '' })
  })
})
