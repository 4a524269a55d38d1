// Producer ids are cluster-wide: two brokers never hand out the same id, whichever broker an
// idempotent producer asks, and a restarted broker does not repeat ids. Two producers sharing an id
// make a broker take one's batch for a retry of the other's (same id, epoch and sequence): it
// answers with the other's offset and the batch is acknowledged without ever being written (the
// fault-injection suite, test/chaos/, found this as acknowledged writes lost).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { InitProducerIdApi } from '../../protocol/generated/init-producer-id.js'
import { etcdMissing, TestCluster } from './harness.js'

async function initProducerId(address: string): Promise<number> {
  const conn = await BrokerConnection.connect(address, { clientId: 'producer-ids-test', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
  try {
    for (;;) {
      const res = await conn.request(InitProducerIdApi, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1, producerEpoch: -1 })
      if (res.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) continue
      expect(res.errorCode).toBe(ErrorCode.NONE)
      return Number(res.producerId)
    }
  } finally {
    conn.close()
  }
}

describe.skipIf(etcdMissing !== undefined)('producer ids in a cluster (two brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(2)
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('never gives the same producer id twice, across brokers and restarts', async () => {
    const ids: number[] = []
    for (let round = 0; round < 3; round++) for (const id of [1, 2]) ids.push(await initProducerId(cluster.address(id)))
    await cluster.stopBroker(2)
    await cluster.startBroker(2)
    for (const id of [2, 1]) ids.push(await initProducerId(cluster.address(id)))
    expect(new Set(ids).size).toBe(ids.length)
  })
})
