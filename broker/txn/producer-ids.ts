// Producer id allocation. Ids are handed out from blocks reserved in the metadata store: the end
// of a block is stored before its first id is used, so ids never repeat across restarts (a crash
// only skips the rest of the current block), as Kafka's ProducerIdManager does with its blocks.
// In a cluster the blocks must be unique across brokers: a ProducerIdBlockSource (etcd, in cluster
// mode) reserves them instead, as Kafka reserved them in ZooKeeper or from its controller. Two
// brokers handing out the same id would let one producer's batch pass for a retry of another's.
import { PRODUCER_ID_NEXT_BLOCK_KEY } from '../../storage/metadata-keys.js'

export interface ProducerIdStore {
  get<T>(key: string): T | undefined
  put(key: string, value: unknown): Promise<void>
}

export const PRODUCER_ID_BLOCK_SIZE = 1000

/**
 * The current block is used up and the next could not be stored (a full disk). Kafka's broker
 * answers COORDINATOR_LOAD_IN_PROGRESS while it waits for a block, which clients retry.
 */
export class ProducerIdsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ProducerIdsUnavailableError'
  }
}

/** Reserves blocks shared by several brokers: the first id of a block of `size`, at or above `floor`. */
export interface ProducerIdBlockSource {
  reserve(size: number, floor: number): Promise<number>
}

export class ProducerIdManager {
  private next = 0
  private blockEnd = 0
  private allocating: Promise<void> | undefined
  private source: ProducerIdBlockSource | undefined

  constructor(
    private readonly store: ProducerIdStore,
    private readonly blockSize = PRODUCER_ID_BLOCK_SIZE,
  ) {}

  async generate(): Promise<number> {
    while (this.next >= this.blockEnd) {
      this.allocating ??= this.reserveBlock().finally(() => (this.allocating = undefined))
      await this.allocating
    }
    return this.next++
  }

  /**
   * From now on blocks come from `source`; the rest of the current block is dropped. Blocks start
   * above every id this broker handed out on its own, so ids written before it joined stay unique.
   */
  useBlockSource(source: ProducerIdBlockSource): void {
    this.source = source
    this.next = this.blockEnd = 0
  }

  private async reserveBlock(): Promise<void> {
    const local = this.store.get<number>(PRODUCER_ID_NEXT_BLOCK_KEY) ?? 0
    let start: number
    try {
      start = this.source === undefined ? local : await this.source.reserve(this.blockSize, local)
      await this.store.put(PRODUCER_ID_NEXT_BLOCK_KEY, start + this.blockSize)
    } catch (err) {
      throw new ProducerIdsUnavailableError('no block of producer ids could be reserved', { cause: err })
    }
    this.next = start
    this.blockEnd = start + this.blockSize
  }
}
