import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { CLEAN_SHUTDOWN_FILE, LogManager } from '../../storage/log-manager.js'
import { offsetKey } from '../../storage/metadata-store.js'
import { batch, readAllOffsets, tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

function dataDir(): string {
  const d = tempDir()
  dirs.push(d)
  return d
}

describe('LogManager', () => {
  it('creates topics with partitions, validates names, configs and duplicates', async () => {
    const m = await LogManager.open({ dataDir: dataDir(), brokerConfig: { 'num.partitions': '2' } })
    const t = await m.createTopic('orders', 3, { 'retention.ms': '1000' })
    expect(t.topicId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(m.getTopicById(t.topicId)?.name).toBe('orders')
    expect(m.partitions().length).toBe(3)
    expect(m.partition('orders', 2)!.config.retentionMs).toBe(1000)
    expect((await m.createTopic('defaults', -1)).partitions).toBe(2)
    await expect(m.createTopic('orders', 1)).rejects.toMatchObject({ kafkaError: 'TOPIC_ALREADY_EXISTS' })
    for (const bad of ['', '.', '..', 'a b', 'x'.repeat(250), 'ü']) {
      await expect(m.createTopic(bad, 1)).rejects.toMatchObject({ kafkaError: 'INVALID_TOPIC_EXCEPTION' })
    }
    await expect(m.createTopic('c1', 1, { 'no.such.config': '1' })).rejects.toMatchObject({ kafkaError: 'INVALID_CONFIG' })
    await expect(m.createTopic('c2', 1, { 'retention.ms': 'soon' })).rejects.toMatchObject({ kafkaError: 'INVALID_CONFIG' })
    await expect(m.createTopic('c3', 1, { 'cleanup.policy': 'shred' })).rejects.toMatchObject({ kafkaError: 'INVALID_CONFIG' })
    expect(m.getTopic('c1')).toBeUndefined()
    await m.close()
  })

  it('persists topics, data, offsets and log start offsets across a clean restart', async () => {
    const dir = dataDir()
    let m = await LogManager.open({ dataDir: dir })
    await m.createTopic('t', 2, { 'segment.bytes': '500' })
    for (let i = 0; i < 20; i++) await m.partition('t', i % 2)!.append(batch(2, { valueSize: 30 }))
    await m.partition('t', 0)!.deleteRecordsBefore(7)
    await m.metadata.commitOffsets('g', [{ topic: 't', partition: 1, offset: 5, leaderEpoch: -1, metadata: null, commitTimestamp: 1, expireTimestamp: -1 }])
    await m.close()
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true)

    m = await LogManager.open({ dataDir: dir })
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false)
    expect(m.listTopics().map((t) => t.name)).toEqual(['t'])
    expect(m.partition('t', 0)!.logEndOffset).toBe(20)
    expect(m.partition('t', 0)!.logStartOffset).toBe(7)
    expect(m.partition('t', 1)!.logEndOffset).toBe(20)
    expect(m.partition('t', 1)!.recoveryPoint).toBe(20)
    expect(m.metadata.fetchOffsets('g').get(offsetKey('t', 1))?.offset).toBe(5)
    expect(await readAllOffsets(m.partition('t', 1)!)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    await m.close()
  })

  it('opens the topics openLater names after open() resolves, keeping their checkpoint entries until then', async () => {
    const dir = dataDir()
    let m = await LogManager.open({ dataDir: dir })
    await m.createTopic('__state', 3)
    await m.createTopic('t', 1)
    for (let p = 0; p < 3; p++) await m.partition('__state', p)!.append(batch(p + 1))
    await m.partition('__state', 2)!.deleteRecordsBefore(2)
    await m.close()

    m = await LogManager.open({ dataDir: dir, openLater: (topic) => topic.startsWith('__') })
    // Open: the other topics; the named one is known (ids, counts) but has no logs yet.
    expect(m.partition('t', 0)).toBeDefined()
    expect(m.partition('__state', 0)).toBeUndefined()
    expect(m.getTopic('__state')?.partitions).toBe(3)
    expect(m.partitionCount).toBe(4)
    // A checkpoint written meanwhile keeps what was read for the partitions still to open.
    await m.writeCheckpoints()
    const logStarts = fs.readFileSync(path.join(dir, 'log-start-offset-checkpoint'), 'utf8')
    expect(logStarts).toContain('__state 2 2')
    await m.whenOpen()
    expect([0, 1, 2].map((p) => m.partition('__state', p)!.logEndOffset)).toEqual([1, 2, 3])
    expect(m.partition('__state', 2)!.logStartOffset).toBe(2)
    // Opened from a clean stop: not rescanned.
    expect(m.partition('__state', 1)!.recoveryPoint).toBe(2)
    await m.close()

    // Closed before they open: what was not opened is left as it was, and opens on the next start.
    m = await LogManager.open({ dataDir: dir, openLater: (topic) => topic.startsWith('__') })
    await m.close()
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(true)
    m = await LogManager.open({ dataDir: dir })
    expect([0, 1, 2].map((p) => m.partition('__state', p)!.logEndOffset)).toEqual([1, 2, 3])
    expect(m.partition('__state', 2)!.logStartOffset).toBe(2)
    await m.close()

    // After an unclean stop, a partition closed before it opened has not been recovered: the next
    // start must not trust it, so the close writes no clean-shutdown marker.
    fs.unlinkSync(path.join(dir, CLEAN_SHUTDOWN_FILE))
    fs.appendFileSync(path.join(dir, '__state-1', '00000000000000000000.log'), Buffer.alloc(100, 7))
    m = await LogManager.open({ dataDir: dir, openLater: (topic) => topic.startsWith('__') })
    await m.close()
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false)
    m = await LogManager.open({ dataDir: dir })
    expect(m.partition('__state', 1)!.logEndOffset).toBe(2)
    expect(fs.statSync(path.join(dir, '__state-1', '00000000000000000000.log')).size).toBe(m.partition('__state', 1)!.sizeInBytes)
    await m.close()
  })

  it('recovers after an unclean stop and keeps the log start offset', async () => {
    const dir = dataDir()
    let m = await LogManager.open({ dataDir: dir })
    await m.createTopic('t', 1)
    const log = m.partition('t', 0)!
    for (let i = 0; i < 10; i++) await log.append(batch(1))
    await log.deleteRecordsBefore(4)
    await m.close()
    fs.unlinkSync(path.join(dir, CLEAN_SHUTDOWN_FILE))
    fs.appendFileSync(path.join(dir, 't-0', '00000000000000000000.log'), Buffer.alloc(100, 7))
    m = await LogManager.open({ dataDir: dir })
    expect(m.partition('t', 0)!.logEndOffset).toBe(10)
    expect(m.partition('t', 0)!.logStartOffset).toBe(4)
    expect(fs.statSync(path.join(dir, 't-0', '00000000000000000000.log')).size).toBe(m.partition('t', 0)!.sizeInBytes)
    await m.close()
  })

  it('deletes topics by renaming their directories away, and removes orphan directories on open', async () => {
    const dir = dataDir()
    let m = await LogManager.open({ dataDir: dir })
    await m.createTopic('gone', 2)
    await m.createTopic('kept', 1)
    await m.partition('gone', 0)!.append(batch(1))
    await m.deleteTopic('gone')
    expect(m.getTopic('gone')).toBeUndefined()
    expect(m.partition('gone', 0)).toBeUndefined()
    expect(fs.existsSync(path.join(dir, 'gone-0'))).toBe(false)
    await expect(m.deleteTopic('gone')).rejects.toMatchObject({ kafkaError: 'UNKNOWN_TOPIC_OR_PARTITION' })
    // recreating starts empty
    await m.createTopic('gone', 1)
    expect(m.partition('gone', 0)!.logEndOffset).toBe(0)
    await m.close()
    // a crash after the store forgot a topic leaves its directory behind; a missing dir is recreated
    fs.mkdirSync(path.join(dir, 'orphan-0'))
    fs.rmSync(path.join(dir, 'kept-0'), { recursive: true })
    m = await LogManager.open({ dataDir: dir })
    await m.close()
    const names = fs.readdirSync(dir)
    expect(names).not.toContain('orphan-0')
    expect(names.filter((n) => n.endsWith('-delete'))).toEqual([])
    expect(names).toContain('kept-0')
  })

  it('deletes one partition\'s data, leaving an empty log in its place, also after a restart', async () => {
    const dir = dataDir()
    let m = await LogManager.open({ dataDir: dir })
    await m.createTopic('t', 2, { 'segment.bytes': '500' })
    for (let i = 0; i < 20; i++) await m.partition('t', i % 2)!.append(batch(2, { valueSize: 30 }))
    const files = fs.readdirSync(path.join(dir, 't-1')).filter((f) => f.endsWith('.log'))
    expect(files.length).toBeGreaterThan(1)
    await m.deletePartitionData('t', 1)
    expect(m.partition('t', 1)!.logEndOffset).toBe(0)
    expect(m.partition('t', 1)!.sizeInBytes).toBe(0)
    expect(m.partition('t', 0)!.logEndOffset).toBe(20)
    const left = fs.readdirSync(path.join(dir, 't-1')).filter((f) => f.endsWith('.log'))
    expect(left.every((f) => fs.statSync(path.join(dir, 't-1', f)).size === 0)).toBe(true)
    await m.partition('t', 1)!.append(batch(1))
    await expect(m.deletePartitionData('t', 5)).rejects.toMatchObject({ kafkaError: 'UNKNOWN_TOPIC_OR_PARTITION' })
    await m.close()

    m = await LogManager.open({ dataDir: dir })
    expect(m.partition('t', 1)!.logEndOffset).toBe(1)
    expect(m.partition('t', 0)!.logEndOffset).toBe(20)
    await m.close()
  })

  it('adds partitions and rejects shrinking', async () => {
    const m = await LogManager.open({ dataDir: dataDir() })
    await m.createTopic('p', 1)
    await m.createPartitions('p', 3)
    expect(m.getTopic('p')!.partitions).toBe(3)
    expect(m.partition('p', 2)).toBeDefined()
    await expect(m.createPartitions('p', 2)).rejects.toMatchObject({ kafkaError: 'INVALID_PARTITIONS' })
    await expect(m.createPartitions('nope', 2)).rejects.toMatchObject({ kafkaError: 'UNKNOWN_TOPIC_OR_PARTITION' })
    const summary = m.logDirSummary()
    expect(summary.partitions.length).toBe(3)
    expect(summary.totalBytes).toBeGreaterThan(0)
    await m.close()
  })

  it('writes no clean-shutdown marker when a partition went offline', async () => {
    const { FaultyFileIO } = await import('../../storage/file-io.js')
    const io = new FaultyFileIO()
    const dir = dataDir()
    const m = await LogManager.open({ dataDir: dir, io })
    await m.createTopic('t', 1)
    io.failNextSync()
    await expect(m.partition('t', 0)!.append(batch(1), { durable: true })).rejects.toMatchObject({ kafkaError: 'KAFKA_STORAGE_ERROR' })
    await m.close()
    expect(fs.existsSync(path.join(dir, CLEAN_SHUTDOWN_FILE))).toBe(false)
  })
})

describe('creating partitions', () => {
  it('leaves nothing behind when creation fails part-way: the store never names partitions that do not exist', async () => {
    const { nodeFileIO } = await import('../../storage/file-io.js')
    const dir = dataDir()
    let failAt: string | undefined
    const io = {
      ...nodeFileIO,
      mkdir(d: string) {
        if (d === failAt) throw Object.assign(new Error(`EMFILE: too many open files, mkdir '${d}'`), { code: 'EMFILE' })
        nodeFileIO.mkdir(d)
      },
    }
    const m = await LogManager.open({ dataDir: dir, io })
    failAt = path.join(dir, 't-3')
    await expect(m.createTopic('t', 5)).rejects.toThrow(/EMFILE/)
    expect(m.getTopic('t')).toBeUndefined()
    expect(m.partitions()).toEqual([])
    await m.createTopic('g', 2)
    failAt = path.join(dir, 'g-4')
    await expect(m.createPartitions('g', 6)).rejects.toThrow(/EMFILE/)
    expect(m.getTopic('g')!.partitions).toBe(2)
    expect(m.partitions().length).toBe(2)
    await m.close()
    const live = fs.readdirSync(dir).filter((n) => /^[tg]-\d+$/.test(n)).sort()
    expect(live).toEqual(['g-0', 'g-1'])
    failAt = undefined
    const again = await LogManager.open({ dataDir: dir, io })
    expect(again.listTopics().map((t) => [t.name, t.partitions])).toEqual([['g', 2]])
    await again.createTopic('t', 5)
    expect(again.partitions().length).toBe(7)
    await again.close()
  })

  it('bounds partitions by max.broker.partitions', async () => {
    const m = await LogManager.open({ dataDir: dataDir(), brokerConfig: { 'max.broker.partitions': '10' } })
    await expect(m.createTopic('huge', 16_777_217)).rejects.toMatchObject({ kafkaError: 'INVALID_PARTITIONS' })
    await m.createTopic('a', 8)
    await expect(m.createTopic('b', 3)).rejects.toMatchObject({ kafkaError: 'POLICY_VIOLATION' })
    await expect(m.createPartitions('a', 11)).rejects.toMatchObject({ kafkaError: 'INVALID_PARTITIONS' })
    await expect(m.createPartitions('a', 10)).resolves.toBeUndefined()
    expect(m.listTopics().map((t) => [t.name, t.partitions])).toEqual([['a', 10]])
    await m.close()
  })
})

describe('data directory lock', () => {
  it('refuses a second log manager on the same directory until the first closes', async () => {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'samsa-lock-'))
    const first = await LogManager.open({ dataDir: dir })
    await expect(LogManager.open({ dataDir: dir })).rejects.toThrow(/in use by process/)
    await first.close()
    const second = await LogManager.open({ dataDir: dir })
    await second.close()
    await fs.promises.rm(dir, { recursive: true, force: true })
  })

  it('takes over a lock left by a process that no longer runs', async () => {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'samsa-lock-'))
    // Pid 2^22+1 is above Linux's pid_max default ceiling, so no process holds it.
    await fs.promises.writeFile(path.join(dir, '.lock'), `${2 ** 22 + 1}\n`)
    const m = await LogManager.open({ dataDir: dir })
    await m.close()
    await fs.promises.rm(dir, { recursive: true, force: true })
  })

  it('flushes appended data in the background within about a second by default (flush.ms 1000)', async () => {
    const m = await LogManager.open({ dataDir: dataDir(), brokerConfig: {} })
    await m.createTopic('steady', 1)
    const log = m.partition('steady', 0)!
    await log.append(batch(5))
    expect(log.logEndOffset).toBe(5)
    const deadline = Date.now() + 5000
    while (log.recoveryPoint < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    // Not acks=all: only the flush scheduler fsyncs this data, and moves the recovery point.
    expect(log.recoveryPoint).toBe(5)
    await m.close()
  })
})

