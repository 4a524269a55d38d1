import fs from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { LogManager } from '../../storage/log-manager.js'
import { applyRetention } from '../../storage/retention.js'
import { batch, tempDir } from './helpers.js'

const managers: LogManager[] = []
const dirs: string[] = []
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close()
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

async function manager(brokerConfig: Record<string, string> = {}, retentionCheckIntervalMs = 3_600_000): Promise<LogManager> {
  const dataDir = tempDir()
  dirs.push(dataDir)
  const m = await LogManager.open({ dataDir, brokerConfig, retentionCheckIntervalMs })
  managers.push(m)
  return m
}

const now = Date.now()

describe('retention', () => {
  it('deletes segments whose newest record is older than retention.ms, never the active one', async () => {
    const m = await manager()
    await m.createTopic('old', 1, { 'segment.bytes': '400', 'retention.ms': '60000' })
    const log = m.partition('old', 0)!
    for (let i = 0; i < 10; i++) await log.append(batch(2, { valueSize: 40, base: now - 3_600_000 }))
    for (let i = 0; i < 6; i++) await log.append(batch(2, { valueSize: 40, base: now }))
    const fresh = log.segmentList.findIndex((s) => s.maxTimestampSoFar >= now)
    const firstFreshBase = log.segmentList[fresh]!.baseOffset
    expect(applyRetention(log, now)).toBe(fresh)
    expect(log.segmentList[0]!.baseOffset).toBe(firstFreshBase)
    expect(log.logStartOffset).toBe(firstFreshBase)
    // everything old: all but the active segment go
    const all = await m.createTopic('allold', 1, { 'segment.bytes': '400', 'retention.ms': '1000' })
    const log2 = m.partition(all.name, 0)!
    for (let i = 0; i < 10; i++) await log2.append(batch(2, { valueSize: 40, base: now - 3_600_000 }))
    applyRetention(log2, now)
    expect(log2.segmentCount).toBe(1)
    expect(log2.activeSegment.isEmpty).toBe(false)
  })

  it('deletes the oldest segments while the partition exceeds retention.bytes', async () => {
    const m = await manager()
    await m.createTopic('big', 1, { 'segment.bytes': '400', 'retention.bytes': '1000' })
    const log = m.partition('big', 0)!
    for (let i = 0; i < 20; i++) await log.append(batch(2, { valueSize: 40 }))
    expect(log.sizeInBytes).toBeGreaterThan(1000)
    applyRetention(log, now)
    expect(log.sizeInBytes).toBeGreaterThanOrEqual(1000 - 400)
    // removing one more segment would go below the limit
    expect(log.sizeInBytes - log.segmentList[0]!.size).toBeLessThan(1000)
    expect(log.activeSegment.isEmpty || log.segmentCount >= 1).toBe(true)
  })

  it('uses broker defaults unless the topic overrides them, and runs on the manager interval', async () => {
    const m = await manager({ 'log.retention.bytes': '800', 'log.segment.bytes': '400' }, 20)
    await m.createTopic('capped', 1)
    await m.createTopic('uncapped', 1, { 'retention.bytes': '-1' })
    for (const t of ['capped', 'uncapped']) {
      for (let i = 0; i < 20; i++) await m.partition(t, 0)!.append(batch(2, { valueSize: 40 }))
    }
    const uncappedSegments = m.partition('uncapped', 0)!.segmentCount
    const deadline = Date.now() + 2000
    while (m.partition('capped', 0)!.logStartOffset === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(m.partition('capped', 0)!.sizeInBytes).toBeLessThan(800 + 400)
    expect(m.partition('capped', 0)!.logStartOffset).toBeGreaterThan(0)
    expect(m.partition('uncapped', 0)!.segmentCount).toBe(uncappedSegments)
    expect(m.partition('uncapped', 0)!.logStartOffset).toBe(0)
  })

  it('takes effect when a topic config is altered live', async () => {
    const m = await manager()
    await m.createTopic('live', 1, { 'segment.bytes': '400' })
    const log = m.partition('live', 0)!
    for (let i = 0; i < 20; i++) await log.append(batch(2, { valueSize: 40 }))
    expect(applyRetention(log, now)).toBe(0)
    await m.alterTopicConfigs('live', { 'segment.bytes': '400', 'retention.bytes': '500' })
    expect(m.getTopic('live')!.configs['retention.bytes']).toBe('500')
    expect(applyRetention(log, now)).toBeGreaterThan(0)
  })

  it('deletes segments entirely below the log start offset', async () => {
    const m = await manager()
    await m.createTopic('lso', 1, { 'segment.bytes': '400' })
    const log = m.partition('lso', 0)!
    for (let i = 0; i < 20; i++) await log.append(batch(2, { valueSize: 40 }))
    const count = log.segmentCount
    await log.deleteRecordsBefore(log.segmentList[2]!.baseOffset)
    expect(log.segmentCount).toBe(count - 2)
  })
})
