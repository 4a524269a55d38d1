// Physical ceilings measured in the same run as the systems: loopback TCP bandwidth and sequential
// file writes with and without fdatasync, in the directory the brokers write to.
import { closeSync, fdatasyncSync, openSync, rmSync, writeSync } from 'node:fs'
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
