// Decode + re-encode of a Produce v9 request carrying a 1 MiB records blob: the records must
// stay a view on the way in and a by-reference chunk on the way out.
import { randomBytes } from 'node:crypto'
import { Bench } from 'tinybench'
import { decodeProduceRequest, encodeProduceRequest } from '../../protocol/generated/produce.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'

const RECORDS = randomBytes(1024 * 1024)
const w = new Writer()
encodeProduceRequest(w, 9, {
  transactionalId: null,
  acks: -1,
  timeoutMs: 30000,
  topicData: [{ name: 'bench-topic', partitionData: [{ index: 0, records: RECORDS }] }],
})
const frame = w.toBuffer()
const out = new Writer()

const bench = new Bench({ time: 1000 })
bench.add('produce v9 decode + encode (1 MiB records)', () => {
  const r = new Reader(frame)
  const m = decodeProduceRequest(r, 9)
  if (r.bad) throw new Error(r.error)
  encodeProduceRequest(out, 9, m)
  out.finish()
})
bench.add('produce v9 decode only', () => {
  const r = new Reader(frame)
  decodeProduceRequest(r, 9)
})

await bench.run()
for (const task of bench.tasks) {
  const result = task.result as { throughput?: { mean: number }; hz?: number } | undefined
  const opsPerSec = result?.throughput?.mean ?? result?.hz ?? 0
  const mbPerSec = (opsPerSec * frame.length) / (1024 * 1024)
  console.log(`${task.name}: ${opsPerSec.toFixed(0)} ops/s, ${mbPerSec.toFixed(0)} MB/s`)
}
