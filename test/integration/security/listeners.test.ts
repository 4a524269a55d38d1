// Several listeners on one broker: each bound on its own port (0 picks one), each answering
// Metadata, FindCoordinator and DescribeCluster with the address advertised for that listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../../protocol/generated/index.js'
import type { MetadataResponse } from '../../../protocol/generated/metadata.js'
import type { FindCoordinatorResponse } from '../../../protocol/generated/find-coordinator.js'
import type { DescribeClusterResponse } from '../../../protocol/generated/describe-cluster.js'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { WireClient } from '../../helpers/wire.js'
import { kafkaClient } from '../../helpers/broker.js'

describe('listeners', () => {
  let broker: RunningBroker
  beforeAll(async () => {
    broker = await startBroker({
      logLevel: 'silent',
      config: {
        listeners: 'PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0',
        'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT',
        'advertised.listeners': 'INTERNAL://localhost:0',
        'inter.broker.listener.name': 'INTERNAL',
      },
    })
  })
  afterAll(() => broker?.stop())

  it('binds every listener and reports the ports picked', () => {
    expect(broker.listeners.map((l) => l.name)).toEqual(['PLAINTEXT', 'INTERNAL'])
    const [a, b] = broker.listeners
    expect(a!.port).toBeGreaterThan(0)
    expect(b!.port).toBeGreaterThan(0)
    expect(a!.port).not.toBe(b!.port)
    expect(a!.address).toBe(`127.0.0.1:${a!.port}`)
    expect(b!.address).toBe(`localhost:${b!.port}`)
    expect(broker.address).toBe(a!.address)
  })

  it('answers with the address of the listener the client connected to', async () => {
    for (const l of broker.listeners) {
      const c = await WireClient.connect(`127.0.0.1:${l.port}`)
      try {
        const host = l.name === 'INTERNAL' ? 'localhost' : '127.0.0.1'
        const md = await c.request<MetadataResponse>(ApiKey.Metadata, 12, { topics: [], allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false })
        expect(md.body.brokers).toEqual([{ nodeId: 1, host, port: l.port, rack: null }])
        const fc = await c.request<FindCoordinatorResponse>(ApiKey.FindCoordinator, 4, { key: '', keyType: 0, coordinatorKeys: ['g'] })
        expect(fc.body.coordinators[0]).toMatchObject({ host, port: l.port })
        const dc = await c.request<DescribeClusterResponse>(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 })
        expect(dc.body.brokers[0]).toMatchObject({ host, port: l.port })
      } finally {
        c.close()
      }
    }
  })

  it('serves a real client on the second listener', async () => {
    const kafka = kafkaClient(`127.0.0.1:${broker.listeners[1]!.port}`)
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.createTopics({ topics: [{ topic: 'on-internal', numPartitions: 2 }] })
      const md = await admin.fetchTopicMetadata({ topics: ['on-internal'] })
      expect(md.topics[0]!.partitions).toHaveLength(2)
      const cluster = await admin.describeCluster()
      expect(cluster.brokers[0]).toMatchObject({ host: 'localhost', port: broker.listeners[1]!.port })
    } finally {
      await admin.disconnect()
    }
  })

  it('refuses a listener with no security protocol', async () => {
    await expect(startBroker({ logLevel: 'silent', config: { listeners: 'PLAINTEXT://127.0.0.1:0,WEIRD://127.0.0.1:0' } })).rejects.toThrow(/WEIRD has no entry/)
  })
})
