// A data directory in which the previous release kept share-partition state in its metadata store
// (test/fixtures/release-share-data-dir.tgz, made by make-release-share-data-dir.mjs with that
// release's broker and share consumer) upgrades in place: the state moves to __share_group_state
// once, at the first start, and the share group carries on where it was: the accepted records are
// not delivered again, the released one and those left acquired are, with their delivery counts.
// After another restart the state is read from __share_group_state alone.
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { open } from 'lmdb'
import { afterAll, describe, expect, it } from 'vitest'
import { ShareConsumer, type ShareRecord } from '../../broker/client/share-consumer.js'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'

const FIXTURE = path.join(import.meta.dirname, '../fixtures/release-share-data-dir.tgz')

function shareStatesInMetadataStore(dataDir: string): number {
  const root = open({ path: path.join(dataDir, 'metadata'), maxDbs: 8, readOnly: true })
  try {
    return root.openDB<unknown, string>({ name: 'share' }).getKeysCount()
  } finally {
    void root.close()
  }
}

/** Polls the group until `count` records came, accepting each; they are returned in offset order. */
async function consumeAndAccept(address: string, count: number): Promise<ShareRecord[]> {
  const consumer = new ShareConsumer({ bootstrap: [address], groupId: 'workers', acknowledgementMode: 'explicit', maxWaitMs: 200 })
  const got: ShareRecord[] = []
  try {
    await consumer.connect()
    consumer.subscribe(['jobs'])
    for (let i = 0; i < 200 && got.length < count; i++) {
      for (const r of await consumer.poll()) {
        got.push(r)
        consumer.acknowledge(r, 'accept')
      }
      for (const res of await consumer.commitSync()) expect(res.error).toBeNull()
    }
  } finally {
    await consumer.close()
  }
  return got.sort((a, b) => a.offset - b.offset)
}

describe('upgrading share-partition state of the previous release', () => {
  let parent = ''
  let broker: RunningBroker | undefined
  afterAll(async () => {
    await broker?.stop()
    await removeDir(parent)
  })

  it('moves it to __share_group_state; the group carries on where it was', async () => {
    parent = await makeTempDir('samsa-upgrade-share-')
    execFileSync('tar', ['-xzf', FIXTURE, '-C', parent])
    const dataDir = path.join(parent, 'data')
    expect(shareStatesInMetadataStore(dataDir)).toBe(1)

    broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
    expect(shareStatesInMetadataStore(dataDir)).toBe(0)
    await broker.stop()
    broker = undefined

    // Read back from __share_group_state alone: job-0 .. job-3 were accepted, job-4 released once,
    // job-5 .. job-9 acquired once when the release's broker was killed.
    broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
    const got = await consumeAndAccept(broker.address, 6)
    expect(got.map((r) => [r.value?.toString(), r.deliveryCount])).toEqual([
      ['job-4', 2],
      ['job-5', 2],
      ['job-6', 2],
      ['job-7', 2],
      ['job-8', 2],
      ['job-9', 2],
    ])
  }, 60_000)
})
