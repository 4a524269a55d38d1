// Offset checkpoint files, in Kafka's text format (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint):
//   0                       version
//   2                       entry count
//   orders 0 1520           topic partition offset
//   orders 1 977
// Written to a temporary file, fsynced, renamed over the old one, and the directory fsynced, so
// a crash leaves either the old or the new file whole; a write that fails leaves the old file.
import path from 'node:path'
import type { FileIO } from './file-io.js'

export class OffsetCheckpointFile {
  constructor(
    private readonly io: FileIO,
    readonly file: string,
  ) {}

  /** Entries keyed `${topic}-${partition}`; empty when the file is missing or unreadable. */
  read(): Map<string, number> {
    const out = new Map<string, number>()
    const data = this.io.readFile(this.file)
    if (data === undefined) return out
    const lines = data.toString('utf8').split('\n')
    if (lines[0]?.trim() !== '0') return out
    const count = Number(lines[1])
    for (let i = 0; i < count; i++) {
      const parts = (lines[2 + i] ?? '').trim().split(' ')
      if (parts.length !== 3) return new Map()
      const offset = Number(parts[2])
      if (!Number.isSafeInteger(offset)) return new Map()
      out.set(`${parts[0]}-${parts[1]}`, offset)
    }
    return out
  }

  async write(entries: Iterable<{ topic: string; partition: number; offset: number }>): Promise<void> {
    const lines: string[] = []
    for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`)
    const body = Buffer.from(`0\n${lines.length}\n${lines.join('\n')}${lines.length ? '\n' : ''}`)
    await writeFileAtomically(this.io, this.file, body)
  }
}

/**
 * Replaces `file` with `body` so that a crash leaves the old or the new content whole: a temporary
 * file, fsynced, renamed over it, and the directory fsynced. A write that fails leaves the old file.
 */
export async function writeFileAtomically(io: FileIO, file: string, body: Uint8Array): Promise<void> {
  const tmp = file + '.tmp'
  const fd = io.open(tmp, 'w+')
  try {
    let off = 0
    while (off < body.length) off += io.write(fd, body, off, body.length - off, off)
    await io.fsync(fd)
  } catch (err) {
    // A full disk: the old file stays, and a half-written one must not hold on to space.
    io.close(fd)
    removeQuietly(io, tmp)
    throw err
  }
  io.close(fd)
  io.rename(tmp, file)
  await io.fsyncDir(path.dirname(file))
}

function removeQuietly(io: FileIO, file: string): void {
  try {
    io.unlink(file)
  } catch {
    // already gone, or the next write replaces it
  }
}
