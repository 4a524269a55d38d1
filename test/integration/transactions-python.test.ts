// confluent-kafka (librdkafka) transactions, driven by ./python/confluent-kafka-txn.py: commit,
// abort, read_committed versus read_uncommitted reads, and fencing of a zombie producer.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { assertAvailable, probePythonModule, PYTHON, skipNote } from '../helpers/external-clients.js'
import { expectSuccess, run } from '../helpers/run.js'

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python')
const confluent = probePythonModule('confluent_kafka')
let tb: TestBroker

describe.skipIf(confluent.skip)(`confluent-kafka transactions${skipNote(confluent)}`, () => {
  beforeAll(async () => {
    assertAvailable(confluent)
    tb = await startTestBroker()
  })
  afterAll(async () => {
    await tb?.stop()
  })

  it('commits, aborts, fences a zombie, and read_committed sees only committed records', async () => {
    const r = expectSuccess(
      'confluent-kafka-txn.py',
      await run(PYTHON, [path.join(scripts, 'confluent-kafka-txn.py'), tb.address, 'ck-txn'], { timeoutMs: 120_000 }),
    )
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!)
    const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)
    expect(out.committed).toEqual([...names('c1-', 6), ...names('c2-', 6), ...names('s-', 2)].sort())
    expect(out.uncommitted).toEqual([...names('ab-', 6), ...names('c1-', 6), ...names('c2-', 6), ...names('s-', 2), ...names('zombie-', 2)].sort())
    expect(out.fenced).not.toBeNull()
    expect(out.fenced.fatal).toBe(true)
  })
})
