// A COMMIT marker counts only once the partition's in-sync replicas have it, as Kafka appends
// markers with acks=all. The partition's follower is frozen while the transaction commits, and its
// leader is killed just after: the follower, still in the ISR, becomes leader. Had the marker been
// acknowledged from the old leader's log alone, the new leader would never get it and the
// transaction's records would stay invisible to read_committed readers (and join the producer's
// next transaction); acknowledged only once replicated, the coordinator writes it again at the new
// leader and the records become visible.
import { afterAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'
import { WireClient } from '../helpers/wire.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { FindCoordinatorResponse } from '../../protocol/generated/find-coordinator.js'
import { ErrorCode } from '../../protocol/errors.js'

const { Kafka, logLevel } = kafkajs
const kafka = (brokers: string[]) =>
  new Kafka({ clientId: 'marker-replication-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } })

async function coordinatorOf(cluster: TestCluster, key: string, keyType: number): Promise<number | undefined> {
  for (const address of cluster.bootstrap()) {
    const c = await WireClient.connect(address).catch(() => undefined)
    if (c === undefined) continue
    try {
      const { body } = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 1, { key, keyType })
      if (body.errorCode === ErrorCode.NONE) return body.nodeId
    } finally {
      c.close()
    }
  }
  return undefined
}

describe.skipIf(etcdMissing !== undefined)('transaction markers are replicated before they count (three brokers, etcd)', () => {
  let cluster: TestCluster | undefined
  afterAll(async () => {
    for (const b of cluster?.brokers ?? []) b.child?.proc.kill('SIGCONT')
    await cluster?.stop()
  })

  it('a commit whose leader dies right after it is still visible at the new leader', async () => {
    // The internal topics have one replica each, so the coordinators' own state does not depend on
    // the two brokers the test freezes and kills; the readers' group is one its coordinator holds.
    // The follower's freeze stays well within its lease and its lag allowance, so it is in the ISR
    // (and alive in etcd) when the leader dies.
    const c = (cluster = await TestCluster.start(3, {
      'broker.session.timeout.ms': '8000',
      'replica.lag.time.max.ms': '10000',
      'group.initial.rebalance.delay.ms': '0',
      'offsets.topic.replication.factor': '1',
      'transaction.state.log.replication.factor': '1',
      'transaction.state.log.min.isr': '1',
    }))
    const TXN_ID = 'marker-txn'
    const coordinator = await waitFor(() => coordinatorOf(c, TXN_ID, 1), { timeoutMs: 15_000, what: 'the transaction coordinator' })
    let reader = ''
    for (let i = 0; reader === ''; i++) {
      if ((await waitFor(() => coordinatorOf(c, `reader-${i}`, 0), { timeoutMs: 15_000, what: 'a group coordinator' })) === coordinator) reader = `reader-${i}`
    }
    const [leader, follower] = [1, 2, 3].filter((n) => n !== coordinator) as [number, number]
    await withAdmin(kafka(c.bootstrap()), (a) =>
      a.createTopics({ topics: [{ topic: 'pair', replicaAssignment: [{ partition: 0, replicas: [leader, follower] }] }], waitForLeaders: true }),
    )

    const producer = kafka([c.address(coordinator)]).producer({ transactionalId: TXN_ID, idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    const txn = await producer.transaction()
    await txn.send({ topic: 'pair', acks: -1, messages: [{ partition: 0, value: 'a' }, { partition: 0, value: 'b' }] })
    // The follower has both records (acks=all); frozen now, it will not fetch the marker. The fetch
    // it had parked at the leader is answered (empty) within replica.fetch.wait.max.ms first, so
    // no answer carrying the marker waits in its socket.
    const followerProc = c.broker(follower).child!.proc
    followerProc.kill('SIGSTOP')
    await new Promise((r) => setTimeout(r, 1500))
    const committing = txn.commit()
    committing.catch(() => {})
    await new Promise((r) => setTimeout(r, 500))
    await c.kill(leader)
    followerProc.kill('SIGCONT')

    // The follower was in the ISR (replica.lag.time.max.ms 10 s): it becomes leader, and the
    // coordinator must write the marker there for the commit to complete.
    await committing
    const consumer = kafka(c.bootstrap()).consumer({ groupId: reader, readUncommitted: false, maxWaitTimeInMs: 200 })
    const seen: string[] = []
    await consumer.connect()
    try {
      await consumer.subscribe({ topic: 'pair', fromBeginning: true })
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
      await waitFor(() => seen.length >= 2, { timeoutMs: 20_000, what: "the committed transaction's records at the new leader" })
    } finally {
      await consumer.disconnect()
      await producer.disconnect().catch(() => {})
    }
    expect(seen).toEqual(['a', 'b'])
  }, 90_000)
})
