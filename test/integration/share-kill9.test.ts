// A broker killed with SIGKILL in the middle of share-group consumption (KIP-932), with the
// acknowledgements riding on ShareFetch as the project's ShareConsumer sends them: after the
// restart no record whose acceptance was answered is delivered again, the records a member held
// unacknowledged come back with their delivery count one higher than the last delivery's, every
// record delivered again has a higher count than before, and the group consumes the rest to the
// end of the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdminClient } from '../../broker/client/admin-client.js'
import { ShareConsumer, type AcknowledgementResult, type AcknowledgeType, type ShareRecord } from '../../broker/client/share-consumer.js'
import { kafkaClient } from '../helpers/broker.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { setGroupConfig } from '../helpers/share-wire.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { waitFor } from '../helpers/wait.js'
import { createTopics, WireClient } from '../helpers/wire.js'

const TOPIC = 'kill9-work'
const GROUP = 'sg-kill9'
const PARTITIONS = 2
const PER_PARTITION = 1000

const key = (r: { partition: number; offset: number }): string => `${r.partition}:${r.offset}`

/** What the consumers saw before the crash. */
class Ledger {
  /** Highest delivery count seen per record. */
  readonly seen = new Map<string, number>()
  /** Acknowledgement type sent per record, until its answer comes. */
  readonly sent = new Map<string, AcknowledgeType>()
  /** Records whose acceptance the broker answered with no error. */
  readonly accepted = new Set<string>()
  /** Records held by the member that stopped acknowledging. */
  readonly held = new Set<string>()

  delivered(r: ShareRecord): void {
    this.seen.set(key(r), Math.max(this.seen.get(key(r)) ?? 0, r.deliveryCount))
  }

  answered(result: AcknowledgementResult): void {
    for (const offset of result.offsets) {
      const k = key({ partition: result.partition, offset })
      if (result.error === null && this.sent.get(k) === 'accept') this.accepted.add(k)
      this.sent.delete(k)
    }
  }
}

function shareConsumer(address: string, ledger: Ledger | null): ShareConsumer {
  return new ShareConsumer({
    bootstrap: [address],
    groupId: GROUP,
    acknowledgementMode: 'explicit',
    maxWaitMs: 100,
    maxRecords: 100,
    onAcknowledgementCommit: (result) => ledger?.answered(result),
  })
}

describe('share consumption across a SIGKILL', () => {
  let dataDir: string
  const children: ChildBroker[] = []

  beforeAll(async () => {
    await ensureBuilt()
    dataDir = await makeTempDir('samsa-share-kill9-mid-')
  }, 200_000)

  afterAll(async () => {
    for (const c of children) await c.kill().catch(() => {})
    await removeDir(dataDir)
  })

  it('keeps answered acceptances done and held records with their delivery counts', async () => {
    const before = await startChildBroker(dataDir)
    children.push(before)
    const wire = await WireClient.connect(before.address)
    await createTopics(wire, [{ name: TOPIC, partitions: PARTITIONS }])
    await setGroupConfig(wire, GROUP, { 'share.auto.offset.reset': 'earliest' })
    wire.close()
    const producer = kafkaClient(before.address).producer()
    await producer.connect()
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < PER_PARTITION; i += 50) {
        await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 50 }, (_, j) => ({ partition: p, value: `p${p}-${i + j}` })) })
      }
    }
    await producer.disconnect()

    // Two members: `steady` acknowledges until the broker dies under it; `stopper` accepts most and
    // releases some, then keeps its last poll's records unacknowledged and stops.
    const ledger = new Ledger()
    const steady = shareConsumer(before.address, ledger)
    const stopper = shareConsumer(before.address, ledger)
    await Promise.all([steady.connect(), stopper.connect()])
    let running = true
    let stopperDone = false
    let steadyPollsAfterStop = 0
    const settle = (c: ShareConsumer, r: ShareRecord): void => {
      const type: AcknowledgeType = r.offset % 7 === 0 && r.deliveryCount === 1 ? 'release' : 'accept'
      ledger.sent.set(key(r), type)
      c.acknowledge(r, type)
    }
    const steadyLoop = (async () => {
      steady.subscribe([TOPIC])
      while (running) {
        const records = await steady.poll().catch(() => [] as ShareRecord[])
        for (const r of records) {
          ledger.delivered(r)
          settle(steady, r)
        }
        if (stopperDone && records.length > 0) steadyPollsAfterStop++
      }
    })()
    const stopperLoop = (async () => {
      stopper.subscribe([TOPIC])
      for (;;) {
        const records = await stopper.poll()
        for (const r of records) ledger.delivered(r)
        if (records.length > 0 && ledger.accepted.size >= PER_PARTITION / 2) {
          for (const r of records) ledger.held.add(key(r))
          stopperDone = true
          return
        }
        for (const r of records) settle(stopper, r)
      }
    })()
    await stopperLoop
    // Killed while `steady` is fetching and acknowledging.
    await waitFor(() => steadyPollsAfterStop >= 2, { timeoutMs: 30_000, what: 'the steady member to keep consuming' })
    await before.kill()
    running = false
    await steadyLoop
    void steady.close().catch(() => {})
    void stopper.close().catch(() => {})
    expect(ledger.held.size).toBeGreaterThan(0)
    expect(ledger.accepted.size).toBeGreaterThanOrEqual(PER_PARTITION / 2)
    for (const k of ledger.held) expect(ledger.accepted.has(k)).toBe(false)

    const after = await startChildBroker(dataDir)
    children.push(after)
    const admin = new AdminClient({ bootstrap: [after.address] })
    const next = shareConsumer(after.address, null)
    await next.connect()
    next.subscribe([TOPIC])
    const redelivered = new Map<string, number>()
    try {
      await waitFor(async () => {
        for (const r of await next.poll()) {
          redelivered.set(key(r), r.deliveryCount)
          next.acknowledge(r, 'accept')
        }
        await next.commitSync()
        const offsets = await admin.describeShareGroupOffsets(GROUP, [TOPIC])
        return offsets.length === PARTITIONS && offsets.every((o) => o.startOffset === PER_PARTITION)
      }, { timeoutMs: 60_000, intervalMs: 0, what: 'the share group to reach the end of the log' })
    } finally {
      await next.close()
      await admin.close()
    }

    // No answered acceptance is delivered again.
    expect([...ledger.accepted].filter((k) => redelivered.has(k))).toEqual([])
    // The held records come back, each one delivery further than when it was held.
    for (const k of ledger.held) expect([k, redelivered.get(k)]).toEqual([k, ledger.seen.get(k)! + 1])
    // Whatever was delivered before and comes again has its count raised, never reset.
    for (const [k, count] of redelivered) if (ledger.seen.has(k)) expect(count).toBeGreaterThan(ledger.seen.get(k)!)
    // Every record of the log was delivered before the crash or after it.
    for (let p = 0; p < PARTITIONS; p++) {
      for (let o = 0; o < PER_PARTITION; o++) {
        const k = key({ partition: p, offset: o })
        expect(ledger.seen.has(k) || redelivered.has(k)).toBe(true)
      }
    }
  }, 120_000)
})
