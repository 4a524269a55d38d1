// Stopping and restarting brokers, read from etcd's own history (a watch from the test), not from
// timing. Controlled shutdown: a broker stopped with SIGTERM first has the controller move its
// leadership to another in-sync replica, and only then gives up its registration. Fencing: a
// broker killed and started again at once registers fenced, and unfences only after what it led
// has moved on to a new leader epoch, so it never resumes a stale leadership. ElectLeaders then
// hands leadership back to the preferred replica once it is in sync.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { Etcd3 } from 'etcd3'
import { etcdMissing, TestCluster } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ElectLeadersApi } from '../../protocol/generated/elect-leaders.js'
import { ErrorCode } from '../../protocol/errors.js'

const { Kafka, logLevel } = kafkajs

describe.skipIf(etcdMissing !== undefined)('controlled shutdown (two brokers, etcd)', () => {
  let cluster: TestCluster
  let etcd: Etcd3
  beforeAll(async () => {
    cluster = await TestCluster.start(2)
    etcd = new Etcd3({ hosts: cluster.etcd.endpoint })
    const admin = new Kafka({ clientId: 'shutdown-test', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'moving', numPartitions: 2, replicationFactor: 2 }], waitForLeaders: true })
    await admin.disconnect()
  }, 60_000)
  afterAll(async () => {
    etcd?.close()
    await cluster?.stop()
  })

  it('moves the stopping broker\'s leadership away before its registration goes', async () => {
    const ns = etcd.namespace('/samsa-test/')
    const states = await ns.getAll().prefix('partitions/moving/').strings()
    const led = Object.entries(states).filter(([, v]) => JSON.parse(v).leader === 2).map(([k]) => k)
    expect(led.length).toBeGreaterThan(0)

    const events: Array<{ kind: 'put' | 'delete'; key: string; value: string; revision: bigint }> = []
    const watcher = await ns.watch().prefix('').create()
    watcher.on('put', (kv) => events.push({ kind: 'put', key: kv.key.toString(), value: kv.value.toString(), revision: BigInt(kv.mod_revision) }))
    watcher.on('delete', (kv) => events.push({ kind: 'delete', key: kv.key.toString(), value: '', revision: BigInt(kv.mod_revision) }))
    try {
      const exit = await cluster.stopBroker(2)
      expect(exit).toEqual({ code: 0, signal: null })
      const gone = events.find((e) => e.kind === 'delete' && e.key === 'brokers/2')
      expect(gone).toBeDefined()
      for (const key of led) {
        const moved = events.find((e) => e.kind === 'put' && e.key === key && JSON.parse(e.value).leader === 1)
        expect(moved, `${key} moved to broker 1`).toBeDefined()
        expect(moved!.revision).toBeLessThan(gone!.revision)
        expect(JSON.parse(moved!.value).isr).toEqual([1])
      }
    } finally {
      await watcher.cancel()
    }
  })

  it('fences a broker restarted within its old lease until its old leadership has moved on', async () => {
    await cluster.startBroker(2)
    const ns = etcd.namespace('/samsa-test/')
    const unfenced = async (id: number) => JSON.parse((await ns.get(`brokers/${id}`).string()) ?? '{"fenced":true}').fenced === false
    await waitFor(() => unfenced(2), { what: 'broker 2 back' })
    // Back as a follower, it rejoins each ISR once caught up; broker 1's death must find it there.
    await waitFor(async () => Object.values(await ns.getAll().prefix('partitions/moving/').strings()).every((v) => JSON.parse(v).isr.includes(2)), {
      timeoutMs: 15_000,
      what: 'broker 2 back in every ISR',
    })
    await waitFor(async () => Object.values(await ns.getAll().prefix('partitions/moving/').strings()).some((v) => JSON.parse(v).leader === 1), {
      timeoutMs: 15_000,
      what: 'broker 1 leading a partition',
    })
    const before = Object.fromEntries(Object.entries(await ns.getAll().prefix('partitions/moving/').strings()).map(([k, v]) => [k, JSON.parse(v)]))
    const led = Object.keys(before).filter((k) => before[k].leader === 1)

    const events: Array<{ key: string; value: string; revision: bigint }> = []
    const watcher = await ns.watch().prefix('').create()
    watcher.on('put', (kv) => events.push({ key: kv.key.toString(), value: kv.value.toString(), revision: BigInt(kv.mod_revision) }))
    try {
      await cluster.kill(1)
      await cluster.startBroker(1)
      await waitFor(() => unfenced(1), { timeoutMs: 15_000, what: 'broker 1 unfenced' })
      const unfencedAt = events.find((e) => e.key === 'brokers/1' && JSON.parse(e.value).fenced === false)!
      for (const key of led) {
        const movedOn = events.find((e) => e.key === key && JSON.parse(e.value).leaderEpoch > before[key].leaderEpoch)
        expect(movedOn, `${key} got a new leader epoch`).toBeDefined()
        expect(JSON.parse(movedOn!.value).leader).not.toBe(1)
        expect(movedOn!.revision).toBeLessThan(unfencedAt.revision)
      }
    } finally {
      await watcher.cancel()
    }
  }, 40_000)

  it('gives leadership back to the preferred replica with ElectLeaders, on the controller only', async () => {
    const ns = etcd.namespace('/samsa-test/')
    const preferredOne = async () => {
      const all = Object.entries(await ns.getAll().prefix('partitions/moving/').strings()).map(([k, v]) => ({ key: k, state: JSON.parse(v) }))
      return all.filter((p) => p.state.replicas[0] === 1)
    }
    const targets = await preferredOne()
    expect(targets.length).toBeGreaterThan(0)
    // Broker 1 back in every ISR, as its leader's ISR expansion (AlterPartition) would write it.
    await waitFor(async () => {
      let all = true
      for (const p of await preferredOne()) {
        if (p.state.isr.includes(1)) continue
        all = false
        const cur = await ns.get(p.key).exec()
        const next = { ...p.state, isr: [...p.state.isr, 1], partitionEpoch: p.state.partitionEpoch + 1 }
        await ns.if(p.key, 'Mod', '==', cur.kvs[0]!.mod_revision).then(ns.put(p.key).value(JSON.stringify(next))).commit()
      }
      return all
    }, { what: 'broker 1 in sync' })
    const controller = Number(await ns.get('controller').string())
    const other = controller === 1 ? 2 : 1
    const elect = async (nodeId: number) => {
      const c = await BrokerConnection.connect(cluster.address(nodeId), { clientId: 'elect-test', connectTimeoutMs: 10_000, requestTimeoutMs: 10_000 })
      try {
        return await c.request(ElectLeadersApi, 2, { electionType: 0, topicPartitions: [{ topic: 'moving', partitions: [0, 1] }], timeoutMs: 10_000 })
      } finally {
        c.close()
      }
    }
    expect((await elect(other)).errorCode).toBe(ErrorCode.NOT_CONTROLLER)
    const res = await elect(controller)
    expect(res.errorCode).toBe(ErrorCode.NONE)
    const codes = new Map(res.replicaElectionResults[0]!.partitionResult.map((r) => [r.partitionId, r.errorCode]))
    for (const p of await preferredOne()) {
      const partition = Number(p.key.split('/').pop())
      if (p.state.leader === 1 && codes.get(partition) === ErrorCode.ELECTION_NOT_NEEDED) continue
      expect(codes.get(partition)).toBe(ErrorCode.NONE)
      expect(p.state.leader).toBe(1)
    }
    for (const [partition, code] of codes) {
      if (!targets.some((t) => t.key.endsWith(`/${partition}`))) expect(code).toBe(ErrorCode.ELECTION_NOT_NEEDED)
    }
  })
})
