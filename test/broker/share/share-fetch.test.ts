// The share-fetch path over a real log and metadata store: a fetch from a large backlog reads and
// holds about what it delivers rather than its whole byte budget, and a ShareFetch that
// acknowledges records and acquires new ones persists both in one state write, which holds both.
import fs from 'node:fs'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import { FetchMemory } from '../../../broker/fetch-memory.js'
import { FetchWaiters } from '../../../broker/fetch-waiters.js'
import { acknowledge, type Acknowledgements } from '../../../broker/share/share-acknowledgements.js'
import { fetchShareRecords, type ShareFetchRound } from '../../../broker/share/share-fetch.js'
import { SharePartitionManager, type ShareSettings } from '../../../broker/share/share-partition-manager.js'
import { AcknowledgeType } from '../../../broker/share/share-partition.js'
import { LogManager } from '../../../storage/log-manager.js'
import type { ShareStateRecord } from '../../../storage/metadata-store.js'
import { batch, tempDir } from '../../storage/helpers.js'

const BATCHES = 40
const PER_BATCH = 100
const VALUE_BYTES = 1000

const settings: ShareSettings = {
  lockDurationMs: () => 30_000,
  autoOffsetReset: () => 'earliest',
  isolationLevel: () => 0,
  deadLetterTopic: () => null,
  copyRecord: () => false,
  retryDelayMs: () => 0,
  deliveryCountLimit: () => 5,
  maxRecordLocks: () => 2000,
}

let dir: string
let logs: LogManager
let manager: SharePartitionManager
let topicId: string
let transactions = 0
const memory = new FetchMemory(256 * 1024 * 1024)
const waiters = new FetchWaiters()

beforeAll(async () => {
  dir = tempDir('samsa-share-fetch-')
  logs = await LogManager.open({ dataDir: dir })
  topicId = (await logs.createTopic('backlog', 1)).topicId
  const log = logs.partition('backlog', 0)!
  for (let i = 0; i < BATCHES; i++) await log.append(batch(PER_BATCH, { valueSize: VALUE_BYTES }))
  const store = {
    writeShareStates(entries: ReadonlyMap<string, ShareStateRecord | null>): Promise<void> {
      transactions++
      return logs.metadata.writeShareStates(entries)
    },
    listShareStates: () => logs.metadata.listShareStates(),
  }
  manager = new SharePartitionManager({ logs, store, settings, logger: pino({ level: 'silent' }) })
})

afterAll(async () => {
  await manager?.close()
  await logs?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

function fetch(acks: Acknowledgements): Promise<ShareFetchRound> {
  return fetchShareRecords(manager, waiters, memory, {
    groupId: 'g',
    memberId: 'm',
    partitions: [{ topicId, partition: 0 }],
    maxRecords: 500,
    maxBytes: 50 * 1024 * 1024,
    maxWaitMs: 0,
    canRead: () => true,
  }, acks)
}

const none = (): Acknowledgements => ({ outcomes: new Map(), changed: [] })

describe('share fetch', () => {
  it('reads about what it acquires from a backlog, not the whole byte budget', async () => {
    const round = await fetch(none())
    try {
      const p = [...round.partitions.values()][0]!
      expect(p.acquired).toEqual([{ firstOffset: 0, lastOffset: 499, deliveryCount: 1 }])
      const delivered = p.records!.length
      expect(delivered).toBeGreaterThan(500 * VALUE_BYTES)
      // The read held for the response: the delivered batches and a little slack, not the
      // four-megabyte backlog.
      expect(memory.heldBytes).toBeGreaterThanOrEqual(delivered)
      expect(memory.heldBytes).toBeLessThan(2 * delivered)
    } finally {
      round.lease.release()
    }
  })

  it('persists the acknowledgements and the records acquired with them in one state write', async () => {
    const acks = acknowledge(manager, 'g', 'm', [{ topicId, partition: 0, batches: [{ firstOffset: 0, lastOffset: 499, acknowledgeTypes: [AcknowledgeType.Accept] }] }], () => true)
    const before = transactions
    const round = await fetch(acks)
    round.lease.release()
    expect(transactions - before).toBe(1)
    expect([...acks.outcomes.values()]).toEqual([{ errorCode: ErrorCode.NONE, errorMessage: null }])
    expect([...round.partitions.values()][0]!.acquired).toEqual([{ firstOffset: 500, lastOffset: 999, deliveryCount: 1 }])
    // What that one write stored: 0-499 done with, 500-999 delivered once.
    const stored = logs.metadata.listShareStates().map((s) => s.value)
    expect(stored).toHaveLength(1)
    expect(stored[0]!.startOffset).toBe(500)
    expect(stored[0]!.stateBatches).toEqual([[500, 999, 0, 1]])
  })
})
