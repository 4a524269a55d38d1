// A data directory written by the previous release (test/fixtures/release-data-dir.tgz, made by
// make-release-data-dir.mjs with that release's broker and kafkajs) upgrades in place: its committed
// offsets move from the metadata store to __consumer_offsets, its transactions to
// __transaction_state and carry over (the one left open is aborted with its offsets), and after
// another restart everything is read from the new places alone.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { open } from 'lmdb'
import { afterAll, describe, expect, it } from 'vitest'
import { Kafka, logLevel } from 'kafkajs'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { readPartition } from '../helpers/read-partition.js'

const FIXTURE = path.join(import.meta.dirname, '../fixtures/release-data-dir.tgz')

async function offsetsOf(address: string, groupId: string): Promise<Record<number, string>> {
  const admin = new Kafka({ brokers: [address], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: ['orders'] })
    return Object.fromEntries(t!.partitions.map((p) => [p.partition, p.offset]))
  } finally {
    await admin.disconnect()
  }
}

function offsetsLeftInMetadataStore(dataDir: string): number {
  const root = open({ path: path.join(dataDir, 'metadata'), maxDbs: 8, readOnly: true })
  try {
    return root.openDB<unknown, string>({ name: 'offsets' }).getKeysCount()
  } finally {
    void root.close()
  }
}

/** The transaction state keys (the id list, one state per id) still in the metadata store. */
function transactionStateLeftInMetadataStore(dataDir: string): string[] {
  const root = open({ path: path.join(dataDir, 'metadata'), maxDbs: 8, readOnly: true })
  try {
    const kv = root.openDB<unknown, string>({ name: 'kv' })
    return [...kv.getKeys()].filter((k) => k === 'txn.ids' || k.startsWith('txn.state/'))
  } finally {
    void root.close()
  }
}

describe('upgrading a data directory of the previous release', () => {
  let parent = ''
  let broker: RunningBroker | undefined
  afterAll(async () => {
    await broker?.stop()
    await removeDir(parent)
  })

  it('moves committed offsets to __consumer_offsets and keeps transactions', async () => {
    parent = await makeTempDir('samsa-upgrade-')
    execFileSync('tar', ['-xzf', FIXTURE, '-C', parent])
    const dataDir = path.join(parent, 'data')
    expect(offsetsLeftInMetadataStore(dataDir)).toBe(4)
    expect(transactionStateLeftInMetadataStore(dataDir)).toEqual(expect.arrayContaining(['txn.ids', 'txn.state/etl-1', 'txn.state/etl-2']))

    broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
    expect(await offsetsOf(broker.address, 'billing')).toEqual({ 0: '10', 1: '5', 2: '0' })
    // etl-1's committed transaction carried offset 7; etl-2's was left open and is aborted at start.
    expect(await offsetsOf(broker.address, 'etl')).toEqual({ 0: '-1', 1: '-1', 2: '7' })
    const kafka = new Kafka({ brokers: [broker.address], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    try {
      expect(await admin.listTopics()).toEqual(expect.arrayContaining(['__consumer_offsets', '__transaction_state']))
    } finally {
      await admin.disconnect()
    }
    // The aborted transaction's record is there, and read_committed readers move past it.
    const orders0 = await readPartition(broker.address, 'orders', 0)
    expect(orders0.records.map(([, v]) => v)).toContain('left-open')
    const consumer = kafka.consumer({ groupId: 'reader', readUncommitted: false })
    await consumer.connect()
    const seen: string[] = []
    await consumer.subscribe({ topic: 'orders', fromBeginning: true })
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(String(message.value)) })
    const deadline = Date.now() + 20_000
    while (seen.length < 32 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    await consumer.disconnect()
    expect(seen).toContain('committed-in-txn')
    expect(seen).toContain('idle-committed')
    expect(seen).not.toContain('left-open')
    expect(seen).toHaveLength(32)

    // A transactional id of the release keeps its producer id, with the epoch bumped.
    const again = kafka.producer({ transactionalId: 'etl-1', maxInFlightRequests: 1, idempotent: true })
    await again.connect()
    const t = await again.transaction()
    await t.sendOffsets({ consumerGroupId: 'etl', topics: [{ topic: 'orders', partitions: [{ partition: 1, offset: '3' }] }] })
    await t.commit()
    await again.disconnect()
    await broker.stop()
    broker = undefined

    // Everything now comes from __consumer_offsets: the metadata store holds no offsets any more.
    expect(offsetsLeftInMetadataStore(dataDir)).toBe(0)
    // ... and no transaction state: it is read from __transaction_state.
    expect(transactionStateLeftInMetadataStore(dataDir)).toEqual([])
    broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
    expect(await offsetsOf(broker.address, 'billing')).toEqual({ 0: '10', 1: '5', 2: '0' })
    expect(await offsetsOf(broker.address, 'etl')).toEqual({ 0: '-1', 1: '3', 2: '7' })
    expect(await offsetsOf(broker.address, 'reader')).toEqual({ 0: expect.any(String), 1: expect.any(String), 2: expect.any(String) })
  }, 60_000)
})
