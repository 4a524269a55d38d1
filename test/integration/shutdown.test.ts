// Shutdown with requests parked: SIGTERM answers every parked Fetch and JoinGroup at once and the
// broker exits within a second or two, whatever maxWaitMs or rebalance timeout the clients asked for.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Reader } from '../../protocol/reader.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { FetchApi } from '../../protocol/generated/fetch.js'
import { JoinGroupApi } from '../../protocol/generated/join-group.js'
import { ErrorCode } from '../../protocol/errors.js'
import { decodeResponseHeader } from '../../protocol/generated/response-header.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { createTopics, WireClient } from '../helpers/wire.js'

beforeAll(() => ensureBuilt(), 180_000)

const dirs: string[] = []
const brokers: ChildBroker[] = []
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.kill().catch(() => {})
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** CPU time (user + system) the process has used, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

/** A Fetch v4 on a caught-up partition that parks for `maxWaitMs`, sent without waiting for its answer. */
function parkFetch(c: WireClient, topic: string, maxWaitMs: number): Promise<void> {
  const body = {
    replicaId: -1,
    maxWaitMs,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20, logStartOffset: -1, currentLeaderEpoch: -1 }] }],
  }
  return c.write(c.frame(ApiKey.Fetch, 4, (w) => FetchApi.encodeRequest(w, 4, body as never)))
}

describe('shutdown with parked long polls', () => {
  it.each([2147483647, 10_000])('SIGTERM answers Fetch parked for %i ms at once and exits within 2 s without spinning', async (maxWaitMs) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-shutdown-'))
    dirs.push(dir)
    const broker = await startChildBroker(dir)
    brokers.push(broker)
    const admin = await WireClient.connect(broker.address)
    await createTopics(admin, [{ name: 'parked', partitions: 1 }])
    const clients = await Promise.all(Array.from({ length: 5 }, () => WireClient.connect(broker.address)))
    for (const c of clients) await parkFetch(c, 'parked', maxWaitMs)
    // Parked, not polling: the broker idles.
    await new Promise((r) => setTimeout(r, 300))
    const pid = broker.proc.pid!
    const idleFrom = cpuMs(pid)
    await new Promise((r) => setTimeout(r, 500))
    expect(cpuMs(pid) - idleFrom).toBeLessThan(150)
    for (const c of clients) expect(c.closed).toBe(false)

    const answers = clients.map((c) => c.readFrame(3000))
    const started = Date.now()
    const exit = await broker.stop(5000)
    const took = Date.now() - started
    expect(exit).toEqual({ code: 0, signal: null })
    expect(took).toBeLessThan(2000)
    // Every parked fetch got its (empty) answer before the connection went.
    for (const f of await Promise.all(answers)) {
      expect(f).not.toBeNull()
      const r = new Reader(f!)
      decodeResponseHeader(r, 0)
      const res = FetchApi.decodeResponse(r, 4)
      expect(res.responses[0]!.partitions[0]!.errorCode).toBe(0)
      expect(res.responses[0]!.partitions[0]!.records?.length ?? 0).toBe(0)
    }
    admin.close()
    for (const c of clients) c.close()
  }, 30_000)

  it('SIGTERM answers a JoinGroup parked in a rebalance with NOT_COORDINATOR and exits within 2 s', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-shutdown-'))
    dirs.push(dir)
    // The first member of a new group waits out the initial rebalance delay.
    const broker = await startChildBroker(dir, { 'group.initial.rebalance.delay.ms': '60000' })
    brokers.push(broker)
    const c = await WireClient.connect(broker.address)
    const join = { groupId: 'g', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 120_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: new Uint8Array(0) }], reason: null }
    await c.write(c.frame(ApiKey.JoinGroup, 3, (w) => JoinGroupApi.encodeRequest(w, 3, join)))
    await new Promise((r) => setTimeout(r, 500))
    const answer = c.readFrame(3000)
    const started = Date.now()
    expect(await broker.stop(5000)).toEqual({ code: 0, signal: null })
    expect(Date.now() - started).toBeLessThan(2000)
    const f = await answer
    expect(f).not.toBeNull()
    const r = new Reader(f!)
    decodeResponseHeader(r, 0)
    expect(JoinGroupApi.decodeResponse(r, 3).errorCode).toBe(ErrorCode.NOT_COORDINATOR)
    c.close()
  }, 30_000)
})
