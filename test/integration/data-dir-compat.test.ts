// A data directory whose metadata was written under the stored key layout earlier versions used
// must open with everything in it: cluster id, dynamic broker and group configs, committed
// offsets, producer-id blocks and transaction state. The keys below are written as literal
// strings on purpose, so renaming a key in storage/metadata-keys.ts fails here.
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { open } from 'lmdb'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { ApiKey } from '../../protocol/generated/index.js'
import type { DescribeConfigsResponse } from '../../protocol/generated/describe-configs.js'
import type { InitProducerIdResponse } from '../../protocol/generated/init-producer-id.js'
import type { OffsetFetchResponse } from '../../protocol/generated/offset-fetch.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { createTopics, WireClient } from '../helpers/wire.js'

const BROKER_RESOURCE = 4
const GROUP_RESOURCE = 32

describe('data directory written by an earlier version', () => {
  let dataDir = ''
  let broker: RunningBroker | undefined
  afterAll(async () => {
    await broker?.stop()
    if (dataDir) await removeDir(dataDir)
  })

  it('opens with its cluster id, configs, offsets, producer ids and transactions', async () => {
    dataDir = await makeTempDir('samsa-compat-')
    const first = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
    const c0 = await WireClient.connect(first.address)
    await createTopics(c0, [{ name: 'orders', partitions: 2 }])
    c0.close()
    await first.stop()

    const root = open({ path: path.join(dataDir, 'metadata'), maxDbs: 8 })
    const kv = root.openDB<unknown, string>({ name: 'kv' })
    const offsets = root.openDB<unknown, string>({ name: 'offsets' })
    await kv.put('cluster.id', 'compat-cluster-0001')
    await kv.put('broker.dynamic-config', { 'num.partitions': '7' })
    await kv.put('group.config/g%2F1', { 'consumer.session.timeout.ms': '50000' })
    await kv.put('txn.producer-id.next-block', 5000)
    await kv.put('txn.ids', ['tx/1'])
    await kv.put('txn.state/tx%2F1', {
      transactionalId: 'tx/1', producerId: 4242, producerEpoch: 3, timeoutMs: 60000, state: 'CompleteCommit',
      partitions: [], groups: [], startTimeMs: -1, lastUpdateTimeMs: Date.now(),
    })
    await offsets.put('g%2F1/orders/1', { offset: 42, leaderEpoch: 0, metadata: 'm', commitTimestamp: Date.now(), expireTimestamp: -1 })
    await root.close()

    broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
    expect(broker.clusterId).toBe('compat-cluster-0001')
    const c = await WireClient.connect(broker.address)
    try {
      const configs = await c.request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, 4, {
        resources: [
          { resourceType: BROKER_RESOURCE, resourceName: String(broker.nodeId), configurationKeys: ['num.partitions'] },
          { resourceType: GROUP_RESOURCE, resourceName: 'g/1', configurationKeys: ['consumer.session.timeout.ms'] },
        ],
        includeSynonyms: false,
        includeDocumentation: false,
      })
      expect(configs.body.results.map((r) => [r.errorCode, r.configs.map((e) => [e.name, e.value])])).toEqual([
        [0, [['num.partitions', '7']]],
        [0, [['consumer.session.timeout.ms', '50000']]],
      ])

      const fetched = await c.request<OffsetFetchResponse>(ApiKey.OffsetFetch, 7, {
        groupId: 'g/1', topics: [{ name: 'orders', partitionIndexes: [1] }], groups: [], requireStable: false,
      })
      expect(fetched.body.topics[0]!.partitions[0]!.committedOffset).toBe(42)

      const idempotent = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
        transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1,
      })
      expect([idempotent.body.errorCode, idempotent.body.producerId]).toEqual([0, 5000])

      const txn = await c.request<InitProducerIdResponse>(ApiKey.InitProducerId, 4, {
        transactionalId: 'tx/1', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1,
      })
      expect([txn.body.errorCode, txn.body.producerId, txn.body.producerEpoch]).toEqual([0, 4242, 4])
    } finally {
      c.close()
    }
  })
})
