// File I/O behind a small interface so tests can inject faults. Small reads and ftruncate are
// synchronous: for the page cache a direct syscall is cheaper than a round trip through the libuv
// thread pool. Appends (pwritev) and large reads (a fetch of megabytes) have asynchronous variants,
// so the copy into or out of the page cache runs on another core; the synchronous pwrite stays for
// the cleaner, recovery and the loop-write mode of appends. fsync is asynchronous because it waits
// on the device and must not stall the loop.
import fs from 'node:fs'
import path from 'node:path'

export type OpenFlags = 'r' | 'r+' | 'w+' | 'wx+'

export interface FileStat {
  size: number
  isDirectory: boolean
  mtimeMs: number
}

export interface FileIO {
  open(file: string, flags: OpenFlags): number
  close(fd: number): void
  /** pread: bytes read, 0 at end of file. */
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number
  /** pread on the libuv thread pool: large reads copy out of the page cache off the event loop. */
  readAsync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number>
  /** pwrite: bytes written; may be fewer than `length`. */
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number
  /**
   * pwritev on the libuv thread pool: bytes written, possibly fewer than all of `bufs` (the rest
   * failed or did not fit). The buffers must not change until the promise settles.
   */
  writevAsync(fd: number, bufs: readonly Uint8Array[], position: number): Promise<number>
  fsync(fd: number): Promise<void>
  fdatasync(fd: number): Promise<void>
  /** Makes created, renamed and deleted entries of a directory durable. */
  fsyncDir(dir: string): Promise<void>
  ftruncate(fd: number, length: number): void
  fsize(fd: number): number
  rename(from: string, to: string): void
  unlink(file: string): void
  readdir(dir: string): string[]
  stat(file: string): FileStat | undefined
  mkdir(dir: string): void
  /** Recursive removal; asynchronous so large directories can go in the background. */
  rm(target: string): Promise<void>
  readFile(file: string): Buffer | undefined
  statfs(dir: string): { totalBytes: number; usableBytes: number }
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())))
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())))
}

export const nodeFileIO: FileIO = {
  open: (file, flags) => fs.openSync(file, flags),
  close: (fd) => fs.closeSync(fd),
  read: (fd, buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
  readAsync: (fd, buf, offset, length, position) =>
    new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (err, n) => (err ? reject(err) : resolve(n)))),
  write: (fd, buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
  writevAsync: (fd, bufs, position) =>
    new Promise((resolve, reject) => fs.writev(fd, bufs as Uint8Array[], position, (err, n) => (err ? reject(err) : resolve(n)))),
  fsync: fsyncAsync,
  fdatasync: fdatasyncAsync,
  async fsyncDir(dir) {
    // Directories cannot be fsynced on every platform (Windows); losing that is acceptable there.
    let fd: number
    try {
      fd = fs.openSync(dir, 'r')
    } catch {
      return
    }
    try {
      await fsyncAsync(fd)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EISDIR' && (err as NodeJS.ErrnoException).code !== 'EPERM') throw err
    } finally {
      fs.closeSync(fd)
    }
  },
  ftruncate: (fd, length) => fs.ftruncateSync(fd, length),
  fsize: (fd) => fs.fstatSync(fd).size,
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (file) => fs.unlinkSync(file),
  readdir: (dir) => fs.readdirSync(dir),
  stat(file) {
    const st = fs.statSync(file, { throwIfNoEntry: false })
    return st === undefined ? undefined : { size: st.size, isDirectory: st.isDirectory(), mtimeMs: st.mtimeMs }
  },
  mkdir: (dir) => void fs.mkdirSync(dir, { recursive: true }),
  rm: (target) => fs.promises.rm(target, { recursive: true, force: true }),
  readFile(file) {
    try {
      return fs.readFileSync(file)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  },
  statfs(dir) {
    const s = fs.statfsSync(dir)
    return { totalBytes: s.blocks * s.bsize, usableBytes: s.bavail * s.bsize }
  },
}

function ioError(code: string, syscall: string): NodeJS.ErrnoException {
  const err = new Error(`${code}: injected fault, ${syscall}`) as NodeJS.ErrnoException
  err.code = code
  err.syscall = syscall
  return err
}

/**
 * Wraps a FileIO and injects faults: the next write fails, the next fsync fails, the next write
 * is cut short and then fails (a full disk mid-write), and `crash()`, which truncates every file
 * written through it back to its last fsynced length plus an optional torn part of the rest,
 * as a power loss would.
 */
export class FaultyFileIO implements FileIO {
  private writeFaults: Array<{ kind: 'fail'; code: string } | { kind: 'short'; bytes: number }> = []
  private syncFaults = 0
  /**
   * Open files by the descriptor numbers handed out, which are this wrapper's own: after crash()
   * closes every real descriptor, an owner's late close() or use of its number reaches nothing.
   */
  private readonly files = new Map<number, { real: number; path: string }>()
  private nextFd = 1 << 20
  /** Per path: bytes known durable (at last fsync) and the highest byte written since. */
  private readonly lengths = new Map<string, { synced: number; written: number }>()
  /** Counts of calls that reached the wrapped FileIO. */
  readonly stats = { writes: 0, syncs: 0 }

  constructor(private readonly inner: FileIO = nodeFileIO) {}

  failNextWrite(): void {
    this.writeFaults.push({ kind: 'fail', code: 'EIO' })
  }
  failNextSync(): void {
    this.syncFaults++
  }
  /** The next write stores only `bytes` bytes and then fails with ENOSPC. */
  shortNextWrite(bytes: number): void {
    this.writeFaults.push({ kind: 'short', bytes })
  }

  /**
   * Simulates a power loss: every file written through this wrapper loses what was not fsynced,
   * except the first `keepTorn(path, unsyncedBytes)` bytes of it (default 0).
   */
  crash(keepTorn: (file: string, unsyncedBytes: number) => number = () => 0): void {
    for (const f of this.files.values()) this.inner.close(f.real)
    this.files.clear()
    for (const [file, len] of this.lengths) {
      const st = this.inner.stat(file)
      if (st === undefined || len.written <= len.synced) continue
      const keep = Math.max(0, Math.min(len.written - len.synced, keepTorn(file, len.written - len.synced)))
      const fd = this.inner.open(file, 'r+')
      this.inner.ftruncate(fd, Math.min(st.size, len.synced + keep))
      this.inner.close(fd)
    }
    this.lengths.clear()
  }

  private real(fd: number): number {
    const f = this.files.get(fd)
    if (f === undefined) throw ioError('EBADF', 'use of a closed descriptor')
    return f.real
  }
  open(file: string, flags: OpenFlags): number {
    const real = this.inner.open(file, flags)
    const fd = this.nextFd++
    this.files.set(fd, { real, path: file })
    if (!this.lengths.has(file)) {
      const size = this.inner.fsize(real)
      this.lengths.set(file, { synced: size, written: size })
    }
    return fd
  }
  close(fd: number): void {
    const f = this.files.get(fd)
    if (f === undefined) return // closed by crash()
    this.files.delete(fd)
    this.inner.close(f.real)
  }
  read(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    return this.inner.read(this.real(fd), buf, offset, length, position)
  }
  readAsync(fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      return this.inner.readAsync(this.real(fd), buf, offset, length, position)
    } catch (err) {
      return Promise.reject(err)
    }
  }
  write(fd: number, buf: Uint8Array, offset: number, length: number, position: number): number {
    const fault = this.writeFaults.shift()
    if (fault?.kind === 'fail') throw ioError(fault.code, 'write')
    if (fault?.kind === 'short') {
      const n = this.inner.write(this.real(fd), buf, offset, Math.min(length, fault.bytes), position)
      this.noteWrite(fd, position + n)
      this.writeFaults.unshift({ kind: 'fail', code: 'ENOSPC' })
      if (n === 0) throw ioError('ENOSPC', 'write')
      return n
    }
    const n = this.inner.write(this.real(fd), buf, offset, length, position)
    this.stats.writes++
    this.noteWrite(fd, position + n)
    return n
  }
  async writevAsync(fd: number, bufs: readonly Uint8Array[], position: number): Promise<number> {
    const fault = this.writeFaults.shift()
    if (fault?.kind === 'fail') throw ioError(fault.code, 'writev')
    let take: Uint8Array[] = bufs as Uint8Array[]
    if (fault?.kind === 'short') {
      // Only the first `bytes` bytes reach the file; the next write (the rest) fails with ENOSPC.
      take = []
      let left = fault.bytes
      for (const b of bufs) {
        if (left <= 0) break
        take.push(b.length <= left ? b : b.subarray(0, left))
        left -= b.length
      }
      this.writeFaults.unshift({ kind: 'fail', code: 'ENOSPC' })
      if (take.length === 0) throw ioError('ENOSPC', 'writev')
    }
    const n = await this.inner.writevAsync(this.real(fd), take, position)
    this.stats.writes++
    this.noteWrite(fd, position + n)
    return n
  }
  private noteWrite(fd: number, end: number): void {
    const file = this.files.get(fd)?.path
    const len = file === undefined ? undefined : this.lengths.get(file)
    if (len !== undefined && end > len.written) len.written = end
  }
  private async syncCommon(fd: number, op: (fd: number) => Promise<void>): Promise<void> {
    if (this.syncFaults > 0) {
      this.syncFaults--
      throw ioError('EIO', 'fsync')
    }
    const file = this.files.get(fd)?.path
    const real = this.real(fd)
    const size = this.inner.fsize(real)
    this.stats.syncs++
    await op(real)
    const len = file === undefined ? undefined : this.lengths.get(file)
    if (len !== undefined) len.synced = Math.max(len.synced, Math.min(size, len.written))
  }
  fsync(fd: number): Promise<void> {
    return this.syncCommon(fd, (f) => this.inner.fsync(f))
  }
  fdatasync(fd: number): Promise<void> {
    return this.syncCommon(fd, (f) => this.inner.fdatasync(f))
  }
  fsyncDir(dir: string): Promise<void> {
    return this.inner.fsyncDir(dir)
  }
  ftruncate(fd: number, length: number): void {
    this.inner.ftruncate(this.real(fd), length)
    const file = this.files.get(fd)?.path
    const len = file === undefined ? undefined : this.lengths.get(file)
    if (len !== undefined) {
      len.written = Math.min(len.written, length)
      len.synced = Math.min(len.synced, length)
    }
  }
  fsize(fd: number): number {
    return this.inner.fsize(this.real(fd))
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to)
    const len = this.lengths.get(from)
    if (len !== undefined) {
      this.lengths.delete(from)
      this.lengths.set(to, len)
    }
    for (const f of this.files.values()) if (f.path === from) f.path = to
  }
  unlink(file: string): void {
    this.inner.unlink(file)
    this.lengths.delete(file)
  }
  readdir(dir: string): string[] {
    return this.inner.readdir(dir)
  }
  stat(file: string): FileStat | undefined {
    return this.inner.stat(file)
  }
  mkdir(dir: string): void {
    this.inner.mkdir(dir)
  }
  rm(target: string): Promise<void> {
    const prefix = target.endsWith(path.sep) ? target : target + path.sep
    for (const file of [...this.lengths.keys()]) if (file === target || file.startsWith(prefix)) this.lengths.delete(file)
    return this.inner.rm(target)
  }
  readFile(file: string): Buffer | undefined {
    return this.inner.readFile(file)
  }
  statfs(dir: string): { totalBytes: number; usableBytes: number } {
    return this.inner.statfs(dir)
  }
}
