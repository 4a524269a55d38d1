// The metadata store's room on disk. lmdb must never meet a full disk while it writes pages: when
// a page write fails, lmdb (3.5.6, mdb_page_flush) formats its error message past the end of a
// 100-byte heap buffer, the message's length depending on uninitialised stack values, and the
// process later aborts in malloc ("malloc assertion failure in sysmalloc"). So the store's data file
// is kept allocated ahead of lmdb's last page (zero bytes that lmdb overwrites as the store grows:
// its page writes land on blocks the file already owns) and a write goes to lmdb only when that
// room covers it:
//   - the file system must have RESERVE_BYTES available, or the disk counts as full and the write
//     is refused;
//   - the file must reach past lmdb's last page by the estimated size of every write still in
//     flight plus this one; when it does not, it is extended to that plus RESERVE_BYTES, under
//     lmdb's write lock so that no page write races the zeros, and a refused extension refuses the
//     write.
// A refused write is a KafkaStorageError and never reaches lmdb, so nothing stored changes. The
// estimate is generous (every page new, none reused from lmdb's free list); a write larger than
// its estimate could still make lmdb extend the file itself, and a file system that allocates on
// overwrite (copy-on-write, compressing) does not keep the zeros as room.
import fs from 'node:fs'
import { KafkaStorageError } from './errors.js'

/** Room kept ahead of the store's pages, and the least free space a write needs. */
export const RESERVE_BYTES = 256 * 1024

const ZEROS = Buffer.alloc(64 * 1024)
/** Pages one commit may copy besides its entries: tree paths of a named database, the root and the free list. */
const PAGES_PER_COMMIT = 12

export interface ReservedFile {
  /** The lmdb data file. */
  file: string
  pageSize: number
  /** Bytes lmdb's committed pages take (last page number + 1, times the page size). */
  used(): number
  /** Runs `fn` holding lmdb's write lock: no commit writes pages meanwhile. */
  locked(fn: () => void): void
}

export class MetadataReserve {
  /** Estimated bytes of the writes admitted and not yet settled. */
  private inFlight = 0

  constructor(private readonly store: ReservedFile) {}

  /** Extends the file to RESERVE_BYTES past the store's pages where the disk allows; false if it did not. */
  topUp(): boolean {
    return this.extendTo(this.store.used() + RESERVE_BYTES)
  }

  /**
   * Takes room for a write of `entries` (key and value pairs; a removal has value undefined), or
   * throws KafkaStorageError when the disk has none. Call the returned function once the write has
   * committed or failed.
   */
  admit(what: string, entries: ReadonlyArray<readonly [unknown, unknown]>): () => void {
    const available = freeBytes(this.store.file)
    if (available < RESERVE_BYTES) {
      throw new KafkaStorageError(`metadata store: ${what} refused: the disk is full (${available} bytes available)`)
    }
    const cost = commitCost(entries, this.store.pageSize)
    const needed = this.store.used() + this.inFlight + cost
    if (fileSize(this.store.file) < needed && !this.extendTo(needed + RESERVE_BYTES)) {
      throw new KafkaStorageError(`metadata store: ${what} refused: no room on disk for the store to grow`)
    }
    this.inFlight += cost
    let released = false
    return () => {
      if (!released) this.inFlight -= cost
      released = true
    }
  }

  /** Appends zeros up to `target` bytes; false when the file system runs out of room first. */
  private extendTo(target: number): boolean {
    let extended = true
    this.store.locked(() => {
      const fd = fs.openSync(this.store.file, 'r+')
      try {
        for (let at = fs.fstatSync(fd).size; at < target && extended; ) {
          const written = fs.writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, target - at), at)
          at += written
          extended = written > 0
        }
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        if (code !== 'ENOSPC' && code !== 'EDQUOT') throw err
        extended = false
      } finally {
        fs.closeSync(fd)
      }
    })
    return extended
  }
}

function freeBytes(file: string): number {
  const s = fs.statfsSync(file)
  return s.bavail * s.bsize
}

function fileSize(file: string): number {
  return fs.statSync(file).size
}

/** Pages a commit of `entries` may add to the file at most, in bytes. */
export function commitCost(entries: ReadonlyArray<readonly [unknown, unknown]>, pageSize: number): number {
  let bytes = PAGES_PER_COMMIT * pageSize
  for (const [key, value] of entries) {
    const size = roughSize(key) + roughSize(value)
    // Small entries share leaf pages (twice their size covers the splits); a large value takes
    // overflow pages of its own.
    bytes += size < pageSize / 4 ? 2 * size + 32 : (Math.ceil(size / pageSize) + 1) * pageSize
  }
  return bytes
}

/** An upper bound on a value's msgpack size (lmdb's encoding), without encoding it. */
function roughSize(v: unknown): number {
  if (typeof v === 'string') return Buffer.byteLength(v) + 5
  if (v === null || typeof v !== 'object') return 9
  if (ArrayBuffer.isView(v)) return v.byteLength + 5
  let n = 5
  if (v instanceof Map) for (const [k, x] of v) n += roughSize(k) + roughSize(x)
  else if (Array.isArray(v) || v instanceof Set) for (const x of v) n += roughSize(x)
  else for (const [k, x] of Object.entries(v)) n += roughSize(k) + roughSize(x)
  return n
}
