// What one fuzz connection sends: a few corpus frames, most of them mutated, and how it behaves
// on the socket. A plan depends only on the run's seed and the connection's index.
import { ApiKey } from '../../protocol/generated/index.js'
import { mutateProduceBatch } from './batch-mutators.js'
import type { CorpusFrame } from './corpus.js'
import { FRAME_MUTATORS } from './mutators.js'
import { Rng } from './rng.js'

/**
 * - `read`: sends everything at once and reads responses until they stop coming.
 * - `trickle`: the same bytes in small pieces with pauses, across frame boundaries.
 * - `no-read`: sends, never reads, holds the connection a while, then drops it.
 */
export type SocketMode = 'read' | 'trickle' | 'no-read'

export interface ConnectionPlan {
  index: number
  mode: SocketMode
  frames: Buffer[]
  /** One line per frame: client, api/version, mutations applied. */
  labels: string[]
}

const TOTAL_WEIGHT = FRAME_MUTATORS.reduce((n, [, , w]) => n + w, 0)

function pickMutator(rng: Rng): (typeof FRAME_MUTATORS)[number] {
  let x = rng.int(TOTAL_WEIGHT)
  for (const m of FRAME_MUTATORS) if ((x -= m[2]) < 0) return m
  return FRAME_MUTATORS[0]!
}

export function planConnection(seed: number, index: number, corpus: readonly CorpusFrame[]): ConnectionPlan {
  const rng = Rng.forConnection(seed, index)
  const mode: SocketMode = rng.chance(0.05) ? 'no-read' : rng.chance(0.1) ? 'trickle' : 'read'
  const frames: Buffer[] = []
  const labels: string[] = []
  const count = rng.chance(0.1) ? rng.range(8, 24) : rng.range(1, 5)
  const produce = corpus.filter((f) => f.apiKey === ApiKey.Produce)
  for (let i = 0; i < count; i++) {
    // a third of the frames are Produce requests, which carry the records a consumer must read
    const source = rng.chance(0.33) ? rng.pick(produce) : rng.pick(corpus)
    let bytes = source.bytes
    const applied: string[] = []
    if (rng.chance(0.85)) {
      const rounds = rng.chance(0.8) ? 1 : rng.range(2, 3)
      // a frame cut shorter than a request header is mutated no further
      for (let k = 0; k < rounds && bytes.length >= 12; k++) {
        if (bytes.length >= 12 && bytes.readInt16BE(4) === ApiKey.Produce && rng.chance(0.6)) {
          const m = mutateProduceBatch(bytes, rng)
          if (m) {
            bytes = m.frame
            applied.push(`batch:${m.what}`)
            continue
          }
        }
        const [name, mutate] = pickMutator(rng)
        bytes = mutate(bytes, rng, corpus)
        applied.push(name)
      }
    }
    frames.push(bytes)
    labels.push(`${source.client} ${source.apiKey}/v${source.apiVersion} ${applied.length ? applied.join('+') : 'as captured'}`)
  }
  return { index, mode, frames, labels }
}
