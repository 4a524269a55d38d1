// Physical ceilings measured in the same run as the systems: loopback TCP bandwidth and sequential
// file writes with and without fdatasync, in the directory the brokers write to.
import { closeSync, fdatasyncSync, openSync, readFileSync, rmSync, statfsSync, writeSync } from 'node:fs'
import { open } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startService, stopService } from './procs.js'
import { MiB, type Ceiling } from './results.js'

const here = path.dirname(fileURLToPath(import.meta.url))

/**
 * Streams 256 KiB writes over `connections` sockets to a sink in its own process for `seconds`.
 * Both ends share the machine with nothing else of ours, so this is what one sender can push.
 */
export async function loopbackCeiling(seconds: number, connections: number): Promise<Ceiling> {
  const sink = await startService(process.execPath, [path.join(here, '../load/sink-child.js')], /listening on (.+):(\d+)/)
  const port = Number(sink.match[2])
  try {
    const chunk = Buffer.alloc(256 * 1024, 7)
    const sockets = await Promise.all(
      Array.from({ length: connections }, () => new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s))
        s.once('error', reject)
      })),
    )
    let bytes = 0
    const started = performance.now()
    const end = started + seconds * 1000
    await Promise.all(
      sockets.map(async (s) => {
        while (performance.now() < end) {
          bytes += chunk.length
          if (!s.write(chunk)) await new Promise((r) => s.once('drain', r))
        }
        s.destroy()
      }),
    )
    const elapsed = (performance.now() - started) / 1000
    return { name: 'loopback TCP', mibPerSec: bytes / elapsed / MiB, note: `${connections} connections, 256 KiB writes, sink in its own process` }
  } finally {
    await stopService(sink.child)
  }
}

/**
 * Sequential writes to one file in `dir`. Without sync the figure is the page cache's; with
 * `syncEvery`, each write is followed by fdatasync, which is what an fsync-per-request log pays.
 */
export function diskCeiling(dir: string, seconds: number, maxBytes: number, chunkBytes: number, sync: boolean): Ceiling {
  const file = path.join(dir, `ceiling-${sync ? 'sync' : 'nosync'}.bin`)
  const chunk = Buffer.alloc(chunkBytes, 0x5a)
  const fd = openSync(file, 'w')
  let bytes = 0
  const started = performance.now()
  const end = started + seconds * 1000
  try {
    while (performance.now() < end && bytes < maxBytes) {
      bytes += writeSync(fd, chunk)
      if (sync) fdatasyncSync(fd)
    }
  } finally {
    closeSync(fd)
    rmSync(file, { force: true })
  }
  const elapsed = (performance.now() - started) / 1000
  const kib = chunkBytes / 1024
  return sync
    ? { name: 'disk write + fdatasync', mibPerSec: bytes / elapsed / MiB, note: `${kib} KiB writes, fdatasync after each (${Math.round(bytes / chunkBytes / elapsed)} syncs/s)` }
    : { name: 'disk write (page cache)', mibPerSec: bytes / elapsed / MiB, note: `${kib} KiB writes, no sync` }
}

/**
 * Bytes of dirty page cache at which Linux starts writing back in the background and, soon after,
 * throttles writers to the device's pace: vm.dirty_background_bytes, or vm.dirty_background_ratio
 * percent of the memory that can hold page cache (approximated by MemAvailable). Undefined when
 * /proc is not there to say.
 */
export function dirtyBackgroundBytes(): number | undefined {
  try {
    const bytes = Number(readFileSync('/proc/sys/vm/dirty_background_bytes', 'utf8'))
    if (bytes > 0) return bytes
    const ratio = Number(readFileSync('/proc/sys/vm/dirty_background_ratio', 'utf8'))
    const available = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))
    if (!available || !(ratio > 0)) return undefined
    return (Number(available[1]) * 1024 * ratio) / 100
  } catch {
    return undefined
  }
}

/**
 * Sequential 1 MiB writes past the kernel's dirty-page threshold: first that many bytes untimed,
 * then `seconds` timed. A log server producing for longer than the page cache absorbs runs at
 * this pace, whatever its network can carry. The file is removed at once, which discards its dirty
 * pages instead of leaving them to be written back during the next measurement. Undefined when the
 * threshold is unknown or the disk lacks room for twice what this writes.
 */
export function sustainedDiskCeiling(dir: string, seconds: number, maxBytes: number): Ceiling | undefined {
  const threshold = dirtyBackgroundBytes()
  if (threshold === undefined) return undefined
  const chunk = Buffer.alloc(1024 * 1024, 0x5a)
  const fill = Math.ceil(threshold / chunk.length) * chunk.length
  const fs = statfsSync(dir)
  if (fs.bavail * fs.bsize < 2 * (fill + maxBytes)) return undefined
  const file = path.join(dir, 'ceiling-sustained.bin')
  const fd = openSync(file, 'w')
  let bytes = 0
  let elapsed = 0
  try {
    for (let filled = 0; filled < fill; ) filled += writeSync(fd, chunk)
    const started = performance.now()
    const end = started + seconds * 1000
    while (performance.now() < end && bytes < maxBytes) bytes += writeSync(fd, chunk)
    elapsed = (performance.now() - started) / 1000
  } finally {
    closeSync(fd)
    rmSync(file, { force: true })
  }
  return {
    name: 'disk write sustained, buffered',
    mibPerSec: bytes / elapsed / MiB,
    note: `one writer, 1024 KiB writes, no sync, timed after the first ${(fill / MiB / 1024).toFixed(1)} GiB (the kernel's dirty background threshold), where the kernel throttles the writer`,
  }
}

/**
 * Several files written at once, each fdatasynced after every `chunkBytes`, for `seconds`: the
 * device's own pace with several flushes queued, as a log that flushes its partitions in the
 * background keeps it. Files are removed at the end.
 */
export async function parallelSyncCeiling(dir: string, seconds: number, files: number, chunkBytes: number): Promise<Ceiling> {
  const chunk = Buffer.alloc(chunkBytes, 0x5a)
  let bytes = 0
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(
    Array.from({ length: files }, async (_, i) => {
      const file = path.join(dir, `ceiling-parallel-${i}.bin`)
      const fh = await open(file, 'w')
      try {
        while (performance.now() < end) {
          for (let n = 0; n < chunkBytes; ) n += (await fh.write(chunk, n, chunkBytes - n)).bytesWritten
          await fh.datasync()
          bytes += chunkBytes
        }
      } finally {
        await fh.close()
        rmSync(file, { force: true })
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  return { name: 'disk write sustained, fdatasync', mibPerSec: bytes / elapsed / MiB, note: `${files} files at once, ${chunkBytes / MiB} MiB writes, fdatasync after each` }
}
