import fs from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { KafkaStorageError } from '../../storage/errors.js'
import { MetadataStore, offsetKey } from '../../storage/metadata-store.js'
import { fillDisk, mountTmpfs, tmpfsUnavailable, unmountTmpfs } from '../helpers/tmpfs.js'
import { tempDir } from './helpers.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
})

const off = (offset: number) => ({ offset, leaderEpoch: 0, metadata: null, commitTimestamp: 1, expireTimestamp: -1 })

describe('MetadataStore', () => {
  it('persists topics, offsets and kv entries across reopen', async () => {
    const dir = tempDir()
    dirs.push(dir)
    let store = MetadataStore.open(dir)
    await store.putTopic({ name: 'a', topicId: '00000000-0000-4000-8000-000000000001', partitions: 3, configs: { 'retention.ms': '1' }, createdAt: 5 })
    await store.putTopic({ name: 'b', topicId: '00000000-0000-4000-8000-000000000002', partitions: 1, configs: {}, createdAt: 6 })
    await store.commitOffsets('g1', [
      { topic: 'a', partition: 0, ...off(10) },
      { topic: 'a', partition: 2, ...off(12), metadata: 'm' },
    ])
    await store.commitOffsets('g2', [{ topic: 'b', partition: 0, ...off(1) }])
    await store.commitOffsets('g', [{ topic: 'b', partition: 0, ...off(7) }])
    await store.put('producer-id-block', { next: 1000 })
    await store.close()

    store = MetadataStore.open(dir)
    expect(store.listTopics().map((t) => t.name)).toEqual(['a', 'b'])
    expect(store.getTopic('a')).toMatchObject({ partitions: 3, configs: { 'retention.ms': '1' } })
    const g1 = store.fetchOffsets('g1')
    expect(g1.size).toBe(2)
    expect(g1.get(offsetKey('a', 2))).toEqual({ ...off(12), metadata: 'm' })
    expect(store.fetchOffsets('g').size).toBe(1)
    expect(store.listOffsetGroups()).toEqual(['g', 'g1', 'g2'])
    expect(store.get<{ next: number }>('producer-id-block')).toEqual({ next: 1000 })

    expect(await store.deleteOffsets('g1', [{ topic: 'a', partition: 0 }])).toBe(1)
    expect([...store.fetchOffsets('g1').keys()]).toEqual([offsetKey('a', 2)])
    expect(await store.deleteOffsets('g1')).toBe(1)
    expect(store.listOffsetGroups()).toEqual(['g', 'g2'])
    await store.deleteTopic('a')
    await store.delete('producer-id-block')
    expect(store.getTopic('a')).toBeUndefined()
    expect(store.get('producer-id-block')).toBeUndefined()
    await store.close()
  })

  it('keeps offsets of long group and topic names, and groups whose names hold separators', async () => {
    const dir = tempDir()
    dirs.push(dir)
    const store = MetadataStore.open(dir)
    // Names past lmdb's short-key fast path (real consumer groups often are this long).
    const group = `rdkafkatest_rnd${'9'.repeat(16)}_0014_offset_commit_group`
    const topic = `rdkafkatest_rnd${'a'.repeat(16)}_0014_partitioned_topic`
    const odd = 'team/billing\u0000v2 %'
    await store.commitOffsets(group, [{ topic, partition: 3, ...off(42) }])
    await store.commitOffsets(odd, [{ topic, partition: 0, ...off(7) }])
    await store.commitOffsets(`${group}x`, [{ topic, partition: 3, ...off(99) }])
    expect(store.fetchOffsets(group).get(offsetKey(topic, 3))?.offset).toBe(42)
    expect(store.fetchOffsets(group).size).toBe(1)
    expect(store.fetchOffsets(odd).get(offsetKey(topic, 0))?.offset).toBe(7)
    expect(store.listOffsetGroups().sort()).toEqual([group, `${group}x`, odd].sort())
    expect(await store.deleteOffsets(group, [{ topic }])).toBe(1)
    expect(store.fetchOffsets(group).size).toBe(0)
    expect(store.fetchOffsets(`${group}x`).size).toBe(1)
    await store.close()
  })
})

const noTmpfs = tmpfsUnavailable()

describe.skipIf(noTmpfs !== undefined)(`MetadataStore on a full disk${noTmpfs ? ` (skipped: ${noTmpfs})` : ''}`, () => {
  it('refuses writes with KafkaStorageError and no unhandled rejection, then takes them again once there is room', async () => {
    const mount = mountTmpfs('4m')
    if (typeof mount === 'string') throw new Error(mount)
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    const filler = path.join(mount.dir, 'filler')
    try {
      const store = MetadataStore.open(path.join(mount.dir, 'metadata'))
      await store.putTopic({ name: 'a', topicId: '00000000-0000-4000-8000-000000000001', partitions: 1, configs: {}, createdAt: 1 })
      fillDisk(filler)
      // Each write needs pages the file does not have yet (lmdb reuses freed pages where it can).
      const big = 'x'.repeat(64 * 1024)
      const refused = [
        store.put('big', big),
        store.putTopic({ name: 'b', topicId: '00000000-0000-4000-8000-000000000002', partitions: 1, configs: { big }, createdAt: 2 }),
        store.commitOffsets('g', Array.from({ length: 16 }, (_, p) => ({ topic: 'a', partition: p, ...off(p), metadata: big }))),
      ]
      for (const write of refused) await expect(write).rejects.toBeInstanceOf(KafkaStorageError)
      expect(store.getTopic('b')).toBeUndefined()
      expect(store.fetchOffsets('g').size).toBe(0)
      await new Promise((r) => setTimeout(r, 50))
      expect(unhandled).toEqual([])

      fs.rmSync(filler)
      await store.put('big', big)
      await store.putTopic({ name: 'b', topicId: '00000000-0000-4000-8000-000000000002', partitions: 1, configs: {}, createdAt: 2 })
      expect(store.get('big')).toBe(big)
      expect(store.listTopics().map((t) => t.name)).toEqual(['a', 'b'])
      await store.close()
    } finally {
      process.off('unhandledRejection', onUnhandled)
      unmountTmpfs(mount.dir)
    }
  })

  it('commits a write taken before the disk filled: its pages were reserved ahead, so lmdb never meets the full disk', async () => {
    const mount = mountTmpfs('4m')
    if (typeof mount === 'string') throw new Error(mount)
    try {
      const store = MetadataStore.open(path.join(mount.dir, 'metadata'))
      await store.put('k', 1)
      const big = 'x'.repeat(64 * 1024)
      // lmdb starts committing on the next turn of the event loop: the disk is full by then, and
      // the value's pages lie past the end of what lmdb has written so far.
      const write = store.put('big', big)
      fillDisk(path.join(mount.dir, 'filler'))
      await write
      expect(store.get('big')).toBe(big)
      await expect(store.put('more', 1)).rejects.toBeInstanceOf(KafkaStorageError)
      await store.close()
      const again = MetadataStore.open(path.join(mount.dir, 'metadata'))
      expect(again.get('big')).toBe(big)
      await again.close()
    } finally {
      unmountTmpfs(mount.dir)
    }
  })

  it('closes after a refused write without waiting for a flush that never comes', async () => {
    const mount = mountTmpfs('4m')
    if (typeof mount === 'string') throw new Error(mount)
    try {
      const store = MetadataStore.open(path.join(mount.dir, 'metadata'))
      await store.put('k', 1)
      fillDisk(path.join(mount.dir, 'filler'))
      await expect(store.put('big', 'x'.repeat(64 * 1024))).rejects.toBeInstanceOf(KafkaStorageError)
      await store.close()
    } finally {
      unmountTmpfs(mount.dir)
    }
  })
})
