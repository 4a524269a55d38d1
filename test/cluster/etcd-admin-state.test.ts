// The admin state's etcd side on a real etcd, without brokers: two copies (two brokers' views of
// one cluster) changing one key in the same moment both keep their change, since each change is
// a compare-and-set on the revision read and the loser reads again; each copy hears the other's
// change through its watch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pino } from 'pino'
import { Etcd, etcdMissing } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { EtcdAdminState } from '../../broker/cluster/etcd-admin-state.js'

describe.skipIf(etcdMissing !== undefined)('admin state in etcd', () => {
  let etcd: Etcd
  beforeAll(async () => {
    etcd = await Etcd.start()
  }, 30_000)
  afterAll(async () => {
    await etcd?.stop()
  })

  it('keeps both of two changes made at once through two copies, and each copy sees both', async () => {
    const logger = pino({ level: 'silent' })
    const a = await EtcdAdminState.open([etcd.endpoint], '/admin-state-test', logger)
    const b = await EtcdAdminState.open([etcd.endpoint], '/admin-state-test', logger)
    const heardByB: string[] = []
    b.onChange((key) => heardByB.push(key))
    try {
      for (let i = 0; i < 10; i++) {
        // Both read before either writes: one write finds the key moved on and goes again.
        await Promise.all([a.update<string[]>('list', (c = []) => [...c, `a${i}`]), b.update<string[]>('list', (c = []) => [...c, `b${i}`])])
      }
      const expected = Array.from({ length: 10 }, (_, i) => [`a${i}`, `b${i}`]).flat().sort()
      // Whichever copy wrote last, the other hears of it through its watch.
      for (const copy of [a, b]) {
        await waitFor(() => (copy.get<string[]>('list')?.length ?? 0) >= expected.length, { what: 'the last change reaching both copies' })
        expect([...copy.get<string[]>('list')!].sort()).toEqual(expected)
      }
      expect(heardByB).toContain('list')
      expect(b.keys('li')).toEqual(['list'])
    } finally {
      await a.close()
      await b.close()
    }
  }, 20_000)
})
