// The fuzz corpus: request frames real clients sent to the broker, one file per client in
// ./corpus, each the frames as they went over the wire (int32 size, then the request).
// Re-capture with `npm run build && node test/fuzz/capture/capture.mjs`.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export interface CorpusFrame {
  client: string
  apiKey: number
  apiVersion: number
  /** The whole frame, size prefix included. */
  bytes: Buffer
}

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus')

export function loadCorpus(): CorpusFrame[] {
  const frames: CorpusFrame[] = []
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.frames')).sort()) {
    const client = file.slice(0, -'.frames'.length)
    const buf = readFileSync(path.join(dir, file))
    let pos = 0
    while (pos + 4 <= buf.length) {
      const size = buf.readInt32BE(pos)
      if (size < 8 || pos + 4 + size > buf.length) throw new Error(`${file}: bad frame at byte ${pos}`)
      const bytes = buf.subarray(pos, pos + 4 + size)
      frames.push({ client, apiKey: bytes.readInt16BE(4), apiVersion: bytes.readInt16BE(6), bytes })
      pos += 4 + size
    }
    if (pos !== buf.length) throw new Error(`${file}: ${buf.length - pos} trailing bytes`)
  }
  return frames
}
