// FileHandle and DescriptorCache: the file descriptors of segment files (logs, indexes) are opened
// lazily and kept in one bounded, least-recently-used cache per process, so a broker with many
// partitions and segments holds a bounded number of descriptors whatever the soft RLIMIT_NOFILE
// (1024 by default) and the rest of the process (sockets, the metadata store) keeps room. A handle
// whose descriptor the cache closed opens its file again on next use.
//
// Concurrency: one event loop. fd() returns a descriptor valid until the next fd() call on any
// handle (which may evict it) or the next turn of the loop: use it at once, synchronously. Work
// that runs on the libuv pool (fsync, large reads) pins the handle first; a pinned descriptor is
// never evicted, and close() waits for the last unpin, so a queued operation never runs on a
// number the kernel may have handed to another file meanwhile.
//
// A file whose descriptor the cache closed is fsynced through a new one: Linux writes back the
// file's dirty pages either way, but a write-back error that happened while no descriptor was open
// is not reported to it. The cache closes the least recently used first, which are rarely written.
import fs from 'node:fs'
import type { FileIO } from './file-io.js'

const MIN_LIMIT = 16
const MAX_LIMIT = 8192

/** Half the soft limit on open files (Linux /proc), leaving the rest to sockets and the store. */
function defaultLimit(): number {
  let soft = 1024
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))
    if (m !== null) soft = m[1] === 'unlimited' ? MAX_LIMIT * 2 : Number(m[1])
  } catch {
    // not Linux: assume the common default
  }
  return Math.max(MIN_LIMIT, Math.min(MAX_LIMIT, Math.floor(soft / 2)))
}

function outOfDescriptors(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return code === 'EMFILE' || code === 'ENFILE'
}

export class DescriptorCache {
  /** Handles with an open descriptor, least recently used first (Map keeps insertion order). */
  private readonly open = new Map<FileHandle, true>()

  constructor(public limit: number = defaultLimit()) {}

  /** Descriptors held now. */
  get size(): number {
    return this.open.size
  }

  touch(h: FileHandle): void {
    this.open.delete(h)
    this.open.set(h, true)
  }

  opened(h: FileHandle): void {
    this.open.set(h, true)
    if (this.open.size > this.limit) this.evict(this.open.size - this.limit)
  }

  closed(h: FileHandle): void {
    this.open.delete(h)
  }

  /**
   * The process ran out of descriptors before the cache reached its limit: lower the limit below
   * what is held now and close a quarter of it. False when nothing could be closed.
   */
  shrink(): boolean {
    const before = this.open.size
    this.limit = Math.max(MIN_LIMIT, Math.floor(before * 0.75))
    return this.evict(Math.max(1, before - this.limit)) > 0
  }

  /** Closes up to `count` unpinned descriptors, least recently used first. */
  private evict(count: number): number {
    let closed = 0
    for (const h of this.open.keys()) {
      if (closed >= count) break
      if (h.release()) closed++
    }
    return closed
  }
}

/** The cache every handle uses unless given another: descriptors are a per-process resource. */
export const descriptorCache = new DescriptorCache()

export interface FileHandleOptions {
  /** Create the file when it is missing (never truncates an existing one). */
  create?: boolean
  /** The file is new: the first open creates it, truncating anything left at that name. */
  fresh?: boolean
  /** Open at once instead of on first use (a new file appears on disk now). */
  eager?: boolean
  cache?: DescriptorCache
}

/** One open descriptor of a handle; work on the libuv pool holds a pin on it. */
export interface Descriptor {
  readonly fd: number
  pins: number
  /** Closed for the handle already: the last unpin closes the descriptor. */
  closeAtUnpin: boolean
}

export class FileHandle {
  private current: Descriptor | undefined
  private closedForGood = false
  private readonly create: boolean
  private fresh: boolean
  private readonly cache: DescriptorCache

  constructor(
    private readonly io: FileIO,
    readonly file: string,
    opts: FileHandleOptions = {},
  ) {
    this.create = opts.create ?? false
    this.fresh = opts.fresh ?? false
    this.cache = opts.cache ?? descriptorCache
    if (opts.eager) this.fd()
  }

  /**
   * The open descriptor, opening the file if needed; use it at once (see the header). After
   * close(), work that pinned the descriptor before may still use it until it unpins.
   */
  fd(): number {
    const d = this.current
    if (d !== undefined) {
      if (!this.closedForGood) this.cache.touch(this)
      return d.fd
    }
    if (this.closedForGood) {
      const err = new Error(`EBADF: ${this.file} is closed`) as NodeJS.ErrnoException
      err.code = 'EBADF'
      throw err
    }
    let fd: number
    for (;;) {
      try {
        fd = this.openFile()
        break
      } catch (err) {
        if (!outOfDescriptors(err) || !this.cache.shrink()) throw err
      }
    }
    this.current = { fd, pins: 0, closeAtUnpin: false }
    this.cache.opened(this)
    return fd
  }

  private openFile(): number {
    if (this.fresh || (this.create && this.io.stat(this.file) === undefined)) {
      const fd = this.io.open(this.file, 'w+')
      this.fresh = false
      return fd
    }
    return this.io.open(this.file, 'r+')
  }

  get isOpen(): boolean {
    return this.current !== undefined
  }

  /** Opens if needed and keeps the descriptor open until the matching unpin(). */
  pin(): Descriptor {
    this.fd()
    const d = this.current!
    d.pins++
    return d
  }

  unpin(d: Descriptor): void {
    d.pins--
    if (d.pins > 0 || !d.closeAtUnpin) return
    if (this.current === d) this.current = undefined
    this.io.close(d.fd)
  }

  /** fsync (or fdatasync) on the libuv pool, pinned. */
  async sync(data = false): Promise<void> {
    const d = this.pin()
    try {
      if (data) await this.io.fdatasync(d.fd)
      else await this.io.fsync(d.fd)
    } finally {
      this.unpin(d)
    }
  }

  /** The cache's eviction: closes an unpinned descriptor; the next use opens the file again. */
  release(): boolean {
    const d = this.current
    if (d === undefined || d.pins > 0) return false
    this.current = undefined
    this.cache.closed(this)
    this.io.close(d.fd)
    return true
  }

  /**
   * The file is being removed or replaced: the next use opens it afresh, while work pinned on the
   * old descriptor finishes on it.
   */
  detach(): void {
    const d = this.current
    if (d === undefined) return
    this.current = undefined
    this.cache.closed(this)
    if (d.pins > 0) d.closeAtUnpin = true
    else this.io.close(d.fd)
  }

  /** Closes for good: now, or once the last pinned operation is done. */
  close(): void {
    this.closedForGood = true
    const d = this.current
    if (d === undefined) return
    this.cache.closed(this)
    if (d.pins > 0) {
      d.closeAtUnpin = true
      return
    }
    this.current = undefined
    this.io.close(d.fd)
  }
}
