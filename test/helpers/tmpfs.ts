// A small file system a test can fill: a tmpfs mounted at a fresh directory (root on Linux only),
// and a filler file that takes its last byte.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmdirSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/** Mounts a tmpfs of `size` (e.g. '16m') at a new directory; a string says why it cannot. */
export function mountTmpfs(size: string): string | { dir: string } {
  if (process.platform !== 'linux') return 'needs Linux tmpfs'
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs'
  const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-tmpfs-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' })
    return { dir }
  } catch (err) {
    rmdirSync(dir)
    return `mounting a tmpfs is not permitted here: ${(err as Error).message.split('\n')[0]}`
  }
}

/** Why no tmpfs can be mounted here, or undefined when one can (probed by mounting one). */
export function tmpfsUnavailable(): string | undefined {
  const m = mountTmpfs('1m')
  if (typeof m === 'string') return m
  unmountTmpfs(m.dir)
  return undefined
}

export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
    rmdirSync(dir)
  } catch {
    // left for the system's temporary-file cleanup
  }
}

/** Writes `file` until the file system refuses another byte. */
export function fillDisk(file: string): void {
  const fd = openSync(file, 'w')
  try {
    for (const chunk of [1 << 20, 1 << 16, 4096, 512, 1]) {
      const buf = Buffer.alloc(chunk, 0x5a)
      try {
        for (;;) writeSync(fd, buf)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
      }
    }
  } finally {
    closeSync(fd)
  }
}
