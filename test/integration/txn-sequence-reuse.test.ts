// A transactional kafkajs producer whose send fails although the broker appended the batch (every
// Produce response is lost) takes the batch's sequence number back, aborts, and sends the next
// transaction's record under that same sequence. The broker must not answer it as a retry of the
// aborted transaction's record: that acknowledged a record it never wrote, and the transaction
// then committed without it. It answers OUT_OF_ORDER_SEQUENCE_NUMBER instead, and a new producer
// under the same transactional id (a new epoch, sequences from 0) goes on.
import type net from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { kafkaClient } from '../helpers/broker.js'
import { DroppingProxy } from '../helpers/dropping-proxy.js'
import { readPartition } from '../helpers/read-partition.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'

let broker: RunningBroker
let proxy: DroppingProxy
let dataDir: string
/** Produce requests (by ordinal) whose responses the proxy loses; cleared to let them through. */
const dropped = new Set(Array.from({ length: 50 }, (_, i) => i + 1))

beforeAll(async () => {
  dataDir = await makeTempDir('samsa-txn-seq-')
  proxy = new DroppingProxy(dropped)
  const proxyPort = await proxy.listen()
  broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, advertisedPort: proxyPort, logLevel: 'silent' })
  proxy.target = broker.port
})

afterAll(async () => {
  await proxy?.close()
  await broker?.stop()
  await removeDir(dataDir)
})

it('refuses the next transaction a record under the sequence of a record its client thought unsent', async () => {
  const topic = 'txn-seq-reuse'
  const direct = `127.0.0.1:${broker.port}`
  const admin = kafkaClient(direct).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
  await admin.disconnect()

  const kafka = kafkaClient(`127.0.0.1:${(proxy.server.address() as net.AddressInfo).port}`, {
    retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 },
  })
  const producerFor = () => kafka.producer({ transactionalId: 'txn-seq-reuse', idempotent: true, maxInFlightRequests: 1, retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 } })
  const producer = producerFor()
  await producer.connect()
  try {
    const first = await producer.transaction()
    await expect(first.send({ topic, acks: -1, messages: [{ partition: 0, value: 'first' }] })).rejects.toThrow()
    expect(proxy.dropped).toBeGreaterThan(0)
    dropped.clear()
    await first.abort()
    const values = async () => (await readPartition(direct, topic, 0)).records.map(([, v]) => v)
    // the broker has the record whose answer was lost
    expect(await values()).toContain('first')

    const second = await producer.transaction()
    const sent = await second.send({ topic, acks: -1, messages: [{ partition: 0, value: 'second' }] }).then(
      () => 'acknowledged',
      (err: Error) => err.message,
    )
    if (sent === 'acknowledged') {
      await second.commit()
      // acknowledged and committed: then the record has to be there
      expect(await values()).toContain('second')
    }
    expect(sent).toMatch(/out of order sequence number/) // OUT_OF_ORDER_SEQUENCE_NUMBER
    await second.abort()
  } finally {
    await producer.disconnect()
  }

  const again = producerFor()
  await again.connect()
  try {
    const third = await again.transaction()
    await third.send({ topic, acks: -1, messages: [{ partition: 0, value: 'third' }] })
    await third.commit()
  } finally {
    await again.disconnect()
  }
  const values = (await readPartition(direct, topic, 0)).records.map(([, v]) => v)
  expect(values).toContain('third')
  expect(values).not.toContain('second')
})
