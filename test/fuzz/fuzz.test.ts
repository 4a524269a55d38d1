// Mutation fuzzing over real client frames (./corpus, captured from kafkajs, librdkafka and
// kafka-python) against a broker in a child process, while a kafkajs control client produces with
// acks=all and consumes on a topic of its own. The broker must not crash, grow past a memory
// bound, stall the control client, lose, duplicate or reorder an acknowledged record, or store a
// batch that a real consumer cannot read to the end.
//
//   SAMSA_FUZZ_FRAMES=300000 npx vitest run test/fuzz     a longer run (default: FRAMES below)
//   SAMSA_FUZZ_SEED=1234 | random                         another seed (the seed is printed)
//   SAMSA_FUZZ_CONNECTIONS=812,813 | 0-1454               replay only those connections of a seed
//   SAMSA_FUZZ_RSS_MB, SAMSA_FUZZ_STALL_MS                 the memory and stall bounds
//
// A failure names the seed and the connections in flight, and writes their frames (as sent) to
// a file, so the same bytes can be sent again.
import { writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startChildBroker, ensureBuilt, type ChildBroker } from '../helpers/child-broker.js'
import { assertAvailable, probePythonModule, skipNote } from '../helpers/external-clients.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { splitAddress } from '../helpers/wire.js'
import { ControlClient } from './control-client.js'
import { loadCorpus } from './corpus.js'
import { runConnection } from './fuzz-connection.js'
import { planConnection, type ConnectionPlan } from './plan.js'
import { listPartitions, readWithKafkajs, readWithLibrdkafka } from './read-to-end.js'
import { Rng } from './rng.js'

/** Sized for well under a minute of fuzzing on two shared cores. */
const FRAMES = Number(process.env.SAMSA_FUZZ_FRAMES ?? 15_000)
const SEED = parseSeed(process.env.SAMSA_FUZZ_SEED)
const REPLAY = parseConnections(process.env.SAMSA_FUZZ_CONNECTIONS)
const RSS_LIMIT_MB = Number(process.env.SAMSA_FUZZ_RSS_MB ?? 768)
const STALL_MS = Number(process.env.SAMSA_FUZZ_STALL_MS ?? 5000)
const WORKERS = 8
const CONTROL_TOPIC = 'samsa-control'

function parseSeed(s: string | undefined): number {
  if (s === 'random') return (Math.random() * 2 ** 32) >>> 0
  return s === undefined ? 0x5a45a : Number(s) >>> 0
}

/** `812,813` or `0-1454`: connection indices to replay, in order, one at a time. */
function parseConnections(s: string | undefined): number[] | undefined {
  if (!s) return undefined
  return s.split(',').flatMap((part) => {
    const [from, to] = part.split('-').map(Number)
    return to === undefined ? [from!] : Array.from({ length: to - from! + 1 }, (_, i) => from! + i)
  })
}

function rssMb(pid: number): Promise<number> {
  return readFile(`/proc/${pid}/status`, 'utf8').then(
    (s) => Number(/VmRSS:\s+(\d+)/.exec(s)?.[1] ?? 0) / 1024,
    () => 0,
  )
}

const confluent = probePythonModule('confluent_kafka')
let broker: ChildBroker | undefined
let dataDir: string | undefined
/** Cleared once the run passes; a failed run leaves its data directory for inspection. */
let keepDataDir = true

afterAll(async () => {
  await broker?.kill().catch(() => {})
  if (keepDataDir && dataDir) console.log(`fuzz: data directory kept for inspection: ${dataDir}`)
  else await removeDir(dataDir)
})

describe.skipIf(confluent.skip)(`fuzz over captured client frames${skipNote(confluent)}`, () => {
  it(`${REPLAY ? `replays ${REPLAY.length} connections` : `${FRAMES} frames`} of seed ${SEED}: no crash, memory bound, stall, lost record or unreadable batch`, { timeout: 120_000 + FRAMES * 10 }, async () => {
    assertAvailable(confluent)
    console.log(`fuzz: seed ${SEED} (SAMSA_FUZZ_SEED=${SEED} reproduces it), ${REPLAY ? `connections ${process.env.SAMSA_FUZZ_CONNECTIONS}` : `${FRAMES} frames`}`)
    const corpus = loadCorpus()
    expect(new Set(corpus.map((f) => f.client))).toEqual(new Set(['kafkajs', 'librdkafka', 'kafka-python']))
    await ensureBuilt()
    dataDir = await makeTempDir('samsa-fuzz-')
    const b = (broker = await startChildBroker(dataDir, { 'group.initial.rebalance.delay.ms': '0' }))
    const [host, port] = splitAddress(b.address)
    const pid = b.proc.pid!

    const control = new ControlClient(b.address, CONTROL_TOPIC)
    try {
      await control.start()

      const failures: string[] = []
      let maxRss = await rssMb(pid)
      let maxProducerWait = 0
      let maxConsumerWait = 0
      const monitor = setInterval(() => {
        if (b.proc.exitCode !== null || b.proc.signalCode !== null) failures.push(`broker exited (${b.proc.exitCode ?? b.proc.signalCode})`)
        const s = control.stalledFor()
        maxProducerWait = Math.max(maxProducerWait, s.producer)
        maxConsumerWait = Math.max(maxConsumerWait, s.consumer)
        if (s.producer > STALL_MS) failures.push(`control producer waiting ${s.producer} ms for an acknowledgement`)
        if (s.consumer > STALL_MS) failures.push(`control consumer ${s.consumer} ms behind an acknowledged record`)
        void rssMb(pid).then((mb) => {
          maxRss = Math.max(maxRss, mb)
          if (mb > RSS_LIMIT_MB) failures.push(`broker RSS ${mb.toFixed(0)} MB over the ${RSS_LIMIT_MB} MB bound`)
        })
      }, 200)

      // fuzz: WORKERS connections at a time, each from its own plan
      const inFlight = new Set<ConnectionPlan>()
      const recent: ConnectionPlan[] = []
      let suspects: ConnectionPlan[] = []
      const started = Date.now()
      let next = 0
      let frames = 0
      let responses = 0
      let closedByBroker = 0
      const queue = REPLAY ? [...REPLAY] : null
      const worker = async () => {
        while (failures.length === 0) {
          const index = queue ? queue.shift() : frames < FRAMES ? next++ : undefined
          if (index === undefined) return
          const plan = planConnection(SEED, index, corpus)
          frames += plan.frames.length
          inFlight.add(plan)
          const outcome = await runConnection(host, port, plan, Rng.forConnection(SEED ^ 0x50c4e7, index))
          inFlight.delete(plan)
          recent.push(plan)
          if (recent.length > 64) recent.shift()
          responses += outcome.responses
          if (outcome.closedByBroker) closedByBroker++
          if (failures.length > 0 && suspects.length === 0) suspects = [...inFlight, plan, ...recent.slice(-16)]
        }
      }
      await Promise.all(Array.from({ length: queue ? 1 : WORKERS }, worker))
      const fuzzMs = Date.now() - started
      await control.finish(STALL_MS)
      clearInterval(monitor)
      console.log(
        `fuzz: ${frames} frames on ${queue ? REPLAY!.length : next} connections in ${(fuzzMs / 1000).toFixed(1)} s; ` +
          `${responses} responses, ${closedByBroker} connections closed by the broker; broker max RSS ${maxRss.toFixed(0)} MB; ` +
          `control: ${control.acked.length} records acknowledged, longest send ${control.maxSendMs} ms, longest ack-to-consume ${control.maxLagMs()} ms`,
      )
      if (failures.length > 0) {
        const file = path.join(os.tmpdir(), `samsa-fuzz-${SEED}-suspects.frames`)
        writeFileSync(file, Buffer.concat(suspects.flatMap((p) => p.frames)))
        const described = suspects.map((p) => `  connection ${p.index} (${p.mode}):\n${p.labels.map((l) => `    ${l}`).join('\n')}`).join('\n')
        throw new Error(
          `${[...new Set(failures)].join('\n')}\nseed ${SEED}; connections in flight and just before (replay with SAMSA_FUZZ_SEED=${SEED} SAMSA_FUZZ_CONNECTIONS=<index>), ` +
            `frames written to ${file}:\n${described}\nbroker output:\n${b.output().slice(-6000)}`,
        )
      }

      // the control client saw every acknowledged record exactly once, in order, without stalling
      expect(control.errors).toEqual([])
      expect(control.acked.length).toBeGreaterThan(20)
      expect(control.problems()).toEqual([])
      expect(control.maxSendMs).toBeLessThan(STALL_MS)
      expect(control.maxLagMs()).toBeLessThan(STALL_MS)
      await control.close()

      // every partition of every topic reads to its end with librdkafka and with kafkajs
      const ends = await listPartitions(b.address)
      expect(ends.some((e) => e.topic === CONTROL_TOPIC)).toBe(true)
      const rd = await readWithLibrdkafka(b.address, 60)
      const byKey = new Map(rd.partitions.map((p) => [`${p.topic}/${p.partition}`, p]))
      const unreadable: string[] = []
      for (const e of ends) {
        const r = byKey.get(`${e.topic}/${e.partition}`)
        if (!r) unreadable.push(`${e.topic}/${e.partition}: not listed by librdkafka`)
        else if (r.eof !== e.end || r.errors.length > 0) {
          unreadable.push(`${e.topic}/${e.partition}: log end ${e.end}, librdkafka reached ${r.eof ?? 'no end'} after ${r.count} records (last offset ${r.last})${r.errors.length ? `, errors: ${r.errors.slice(0, 3).join('; ')}` : ''}`)
        }
      }
      expect(unreadable, `partitions librdkafka cannot read to the end (seed ${SEED}); its last log lines:\n${rd.logs.join('\n')}`).toEqual([])
      const js = await readWithKafkajs(b.address, rd.partitions, 60_000)
      const disagree = rd.partitions
        .map((p) => ({ p, d: js.delivered.get(`${p.topic}/${p.partition}`) }))
        .filter(({ p, d }) => !d || d.count !== p.count || d.last !== p.last)
        .map(({ p, d }) => `${p.topic}/${p.partition}: librdkafka ${p.count} records to offset ${p.last}, kafkajs ${d?.count ?? 0} to ${d?.last ?? null}`)
      expect(js.errors, `seed ${SEED}`).toEqual([])
      expect(disagree, `seed ${SEED}`).toEqual([])
      console.log(`fuzz: ${ends.length} partitions of ${new Set(ends.map((e) => e.topic)).size} topics read to their end by librdkafka and kafkajs`)

      // and it still stops cleanly
      const stopped = await b.stop(10_000)
      expect(stopped.code, b.output().slice(-4000)).toBe(0)
      keepDataDir = false
    } catch (err) {
      const e = err as Error
      const log = `${dataDir}.broker.log`
      writeFileSync(log, b.output())
      if (!e.message.includes('broker output')) e.message += `\nbroker output (last 6000 characters; all of it in ${log}):\n${b.output().slice(-6000)}`
      throw e
    } finally {
      await control.close()
    }
  })
})
