// DirDeleter: Kafka's asynchronous log deletion. A directory to delete (a deleted topic's
// partition, a leftover the metadata store does not know) is first renamed to
// `<name>.<uuid>-delete`, which takes it out of the data dir's namespace at once, and then removed
// in the background; a `-delete` directory found at start-up is removed the same way.
//
// Concurrency: one event loop; removals run on the libuv pool and drain() waits for them all.
import { randomUUID } from 'node:crypto'
import type { FileIO } from './file-io.js'
import type { Logger } from './logger.js'

export const DELETE_DIR_SUFFIX = '-delete'

export class DirDeleter {
  private readonly pending = new Set<Promise<void>>()

  constructor(
    private readonly io: FileIO,
    private readonly logger: Logger,
  ) {}

  renameAndRemove(dir: string): void {
    const target = `${dir}.${randomUUID().replaceAll('-', '')}${DELETE_DIR_SUFFIX}`
    try {
      this.io.rename(dir, target)
    } catch (err) {
      this.logger.warn({ err, dir }, 'could not rename directory for deletion')
      return
    }
    this.removeInBackground(target)
  }

  removeInBackground(dir: string): void {
    const p = this.io
      .rm(dir)
      .catch((err: unknown) => this.logger.warn({ err, dir }, 'background removal failed'))
      .finally(() => this.pending.delete(p))
    this.pending.add(p)
  }

  /** Resolves once every removal started so far is done. */
  async drain(): Promise<void> {
    await Promise.all(this.pending)
  }
}
