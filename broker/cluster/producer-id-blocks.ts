// Producer id blocks for the whole cluster, from one etcd key (PRODUCER_ID_BLOCK_KEY: the first id
// of the next free block). A broker reserves a block with a transaction that compares the key's
// mod revision with what it read, so two brokers never get the same block.
import type { ProducerIdBlockSource } from '../txn/producer-ids.js'
import type { EtcdStore } from './etcd-store.js'
import { PRODUCER_ID_BLOCK_KEY } from './keys.js'

/** How often a reservation is retried when another broker won the race. */
const ATTEMPTS = 20

export class EtcdProducerIdBlocks implements ProducerIdBlockSource {
  constructor(private readonly store: EtcdStore) {}

  async reserve(size: number, floor: number): Promise<number> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const stored = await this.store.get(PRODUCER_ID_BLOCK_KEY)
      const start = Math.max(stored === undefined ? 0 : Number(stored.value), floor)
      const won = await this.store.writeIf([{ key: PRODUCER_ID_BLOCK_KEY, expect: stored?.modRevision ?? 'absent', value: String(start + size) }])
      if (won) return start
    }
    throw new Error(`no producer id block reserved in etcd after ${ATTEMPTS} attempts`)
  }
}
