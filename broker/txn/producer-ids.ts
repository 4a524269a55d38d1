// Producer id allocation. Ids are handed out from blocks reserved in the metadata store: the end
// of a block is stored before its first id is used, so ids never repeat across restarts (a crash
// only skips the rest of the current block), as Kafka's ProducerIdManager does with its blocks.
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

export class ProducerIdManager {
  private next = 0
  private blockEnd = 0
  private allocating: Promise<void> | undefined

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

  private async reserveBlock(): Promise<void> {
    const start = this.store.get<number>(PRODUCER_ID_NEXT_BLOCK_KEY) ?? 0
    try {
      await this.store.put(PRODUCER_ID_NEXT_BLOCK_KEY, start + this.blockSize)
    } catch (err) {
      throw new ProducerIdsUnavailableError('no block of producer ids could be reserved', { cause: err })
    }
    this.next = start
    this.blockEnd = start + this.blockSize
  }
}
