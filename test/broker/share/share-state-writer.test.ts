// Group commit of share-partition states: writes issued while one is in flight go together in the
// next transaction with the latest snapshot of each key, and a failed commit rejects its callers
// and keeps their states for the next write.
import { describe, expect, it } from 'vitest'
import { ShareStateWriter, type ShareStateStore } from '../../../broker/share/share-state-writer.js'
import type { ShareStateRecord } from '../../../storage/metadata-store.js'

class SlowStore implements ShareStateStore {
  readonly transactions: Array<Map<string, ShareStateRecord | null>> = []
  failNext = false
  private release: Array<() => void> = []

  writeShareStates(entries: ReadonlyMap<string, ShareStateRecord | null>): Promise<void> {
    this.transactions.push(new Map(entries))
    const fail = this.failNext
    this.failNext = false
    return new Promise((resolve, reject) => this.release.push(() => (fail ? reject(new Error('disk full')) : resolve())))
  }

  listShareStates(): Array<{ key: string; value: ShareStateRecord }> {
    return []
  }

  /** Lets the oldest pending transaction commit (or fail). */
  async commitOne(): Promise<void> {
    this.release.shift()!()
    await new Promise((r) => setImmediate(r))
  }
}

const state = (startOffset: number): ShareStateRecord => ({ startOffset, stateEpoch: 0, leaderEpoch: 0, stateBatches: [] })

describe('ShareStateWriter', () => {
  it('groups the writes made while a commit is in flight into one transaction, latest snapshot first', async () => {
    const store = new SlowStore()
    const writer = new ShareStateWriter(store)
    const done: string[] = []
    const first = writer.write('a', state(1)).then(() => done.push('a1'))
    const second = writer.write('a', state(2)).then(() => done.push('a2'))
    const third = writer.write('b', state(7)).then(() => done.push('b7'))
    expect(store.transactions).toHaveLength(1)
    await store.commitOne()
    expect(done).toEqual(['a1'])
    expect(store.transactions).toHaveLength(2)
    expect(store.transactions[1]).toEqual(new Map([['a', state(2)], ['b', state(7)]]))
    await store.commitOne()
    await Promise.all([first, second, third])
    expect(done).toEqual(['a1', 'a2', 'b7'])
    expect(writer.commits).toBe(2)
  })

  it('a failed commit rejects its callers and the next write carries their states', async () => {
    const store = new SlowStore()
    const writer = new ShareStateWriter(store)
    store.failNext = true
    const failed = expect(writer.write('a', state(1))).rejects.toThrow('disk full')
    await store.commitOne()
    await failed
    const next = writer.write('b', state(2))
    expect(store.transactions[1]).toEqual(new Map([['a', state(1)], ['b', state(2)]]))
    await store.commitOne()
    await next
  })
})
