// Golden bytes from an independent encoder: kafkajs 2.2.4 builds each request it implements;
// our decoder must read those exact bytes back and our encoder must reproduce them.
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import * as g from '../../protocol/generated/index.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'

const require = createRequire(import.meta.url)
type KafkaJsRequest = { apiKey: number; apiVersion: number; encode(): Promise<{ buffer: Buffer }> }
type Factory = (args: unknown) => KafkaJsRequest
const frame = require('kafkajs/src/protocol/request') as (a: {
  correlationId: number
  clientId: string
  request: KafkaJsRequest
}) => Promise<{ buffer: Buffer }>

function kafkajs(api: string, version: number): Factory {
  return require(`kafkajs/src/protocol/requests/${api}/v${version}/request`) as Factory
}

interface Case {
  api: string
  versions: number[]
  args: unknown
  check(m: any, version: number): void
}

const range = (lo: number, hi: number): number[] => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i)

const cases: Case[] = [
  { api: 'apiVersions', versions: range(0, 2), args: {}, check: (m) => expect(m.clientSoftwareName).toBe('') },
  {
    api: 'metadata',
    versions: range(0, 6),
    args: { topics: ['orders', 'payments'], allowAutoTopicCreation: false },
    check: (m, v) => {
      expect(m.topics.map((t: any) => t.name)).toEqual(['orders', 'payments'])
      if (v >= 4) expect(m.allowAutoTopicCreation).toBe(false)
    },
  },
  {
    api: 'produce',
    versions: range(0, 7),
    args: {
      acks: -1,
      timeout: 30000,
      transactionalId: null,
      topicData: [{ topic: 'orders', partitions: [{ partition: 2, messages: [{ key: 'k', value: 'v', timestamp: 1700000000000 }] }] }],
    },
    check: (m) => {
      expect(m.acks).toBe(-1)
      expect(m.timeoutMs).toBe(30000)
      expect(m.transactionalId).toBeNull()
      expect(m.topicData[0].name).toBe('orders')
      expect(m.topicData[0].partitionData[0].index).toBe(2)
      expect(m.topicData[0].partitionData[0].records.length).toBeGreaterThan(20)
    },
  },
  {
    api: 'fetch',
    versions: range(0, 11),
    args: {
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 1048576,
      isolationLevel: 1,
      sessionId: 0,
      sessionEpoch: -1,
      rackId: 'rack-a',
      topics: [{ topic: 'orders', partitions: [{ partition: 1, fetchOffset: '1234567890123', maxBytes: 65536 }] }],
    },
    check: (m, v) => {
      expect(m.maxWaitMs).toBe(500)
      expect(m.topics[0].topic).toBe('orders')
      expect(m.topics[0].partitions[0].fetchOffset).toBe(1234567890123)
      expect(m.topics[0].partitions[0].partitionMaxBytes).toBe(65536)
      if (v >= 4) expect(m.isolationLevel).toBe(1)
      if (v >= 11) expect(m.rackId).toBe('rack-a')
    },
  },
  {
    api: 'listOffsets',
    versions: range(0, 3),
    args: { replicaId: -1, isolationLevel: 1, topics: [{ topic: 'orders', partitions: [{ partition: 0, timestamp: -2 }] }] },
    check: (m) => {
      expect(m.replicaId).toBe(-1)
      expect(m.topics[0].partitions[0].timestamp).toBe(-2)
    },
  },
  {
    api: 'offsetCommit',
    versions: range(0, 5),
    args: {
      groupId: 'g1',
      groupGenerationId: 7,
      memberId: 'member-1',
      retentionTime: -1,
      topics: [{ topic: 'orders', partitions: [{ partition: 3, offset: '42', metadata: 'meta' }] }],
    },
    check: (m, v) => {
      expect(m.groupId).toBe('g1')
      if (v >= 1) expect(m.generationIdOrMemberEpoch).toBe(7)
      expect(m.topics[0].partitions[0].committedOffset).toBe(42)
      expect(m.topics[0].partitions[0].committedMetadata).toBe('meta')
    },
  },
  {
    api: 'offsetFetch',
    versions: range(1, 4),
    args: { groupId: 'g1', topics: [{ topic: 'orders', partitions: [{ partition: 0 }, { partition: 1 }] }] },
    check: (m) => {
      expect(m.groupId).toBe('g1')
      expect(m.topics[0].partitionIndexes).toEqual([0, 1])
    },
  },
  { api: 'findCoordinator', versions: [0], args: { groupId: 'g1' }, check: (m) => expect(m.key).toBe('g1') },
  {
    api: 'findCoordinator',
    versions: [1, 2],
    args: { coordinatorKey: 'tx-1', coordinatorType: 1 },
    check: (m) => {
      expect(m.key).toBe('tx-1')
      expect(m.keyType).toBe(1)
    },
  },
  {
    api: 'joinGroup',
    versions: range(0, 5),
    args: {
      groupId: 'g1',
      sessionTimeout: 30000,
      rebalanceTimeout: 60000,
      memberId: '',
      protocolType: 'consumer',
      groupProtocols: [{ name: 'RoundRobinAssigner', metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, 1, 0x61, 0, 0, 0, 0]) }],
    },
    check: (m, v) => {
      expect(m.sessionTimeoutMs).toBe(30000)
      if (v >= 1) expect(m.rebalanceTimeoutMs).toBe(60000)
      expect(m.protocolType).toBe('consumer')
      expect(m.protocols[0].name).toBe('RoundRobinAssigner')
      expect(Buffer.from(m.protocols[0].metadata)).toEqual(Buffer.from([0, 1, 0, 0, 0, 1, 0, 1, 0x61, 0, 0, 0, 0]))
    },
  },
  {
    api: 'heartbeat',
    versions: range(0, 3),
    args: { groupId: 'g1', groupGenerationId: 3, memberId: 'm-1', groupInstanceId: null },
    check: (m) => {
      expect(m.generationId).toBe(3)
      expect(m.memberId).toBe('m-1')
      expect(m.groupInstanceId).toBeNull()
    },
  },
  { api: 'leaveGroup', versions: range(0, 2), args: { groupId: 'g1', memberId: 'm-1' }, check: (m) => expect(m.memberId).toBe('m-1') },
  {
    api: 'leaveGroup',
    versions: [3],
    args: { groupId: 'g1', members: [{ memberId: 'm-1', groupInstanceId: 'i-1' }] },
    check: (m) => expect(m.members[0]).toMatchObject({ memberId: 'm-1', groupInstanceId: 'i-1' }),
  },
  {
    api: 'syncGroup',
    versions: range(0, 3),
    args: { groupId: 'g1', generationId: 4, memberId: 'm-1', groupAssignment: [{ memberId: 'm-1', memberAssignment: Buffer.from('abc') }] },
    check: (m) => {
      expect(m.generationId).toBe(4)
      expect(Buffer.from(m.assignments[0].assignment).toString()).toBe('abc')
    },
  },
  { api: 'describeGroups', versions: range(0, 2), args: { groupIds: ['g1', 'g2'] }, check: (m) => expect(m.groups).toEqual(['g1', 'g2']) },
  { api: 'listGroups', versions: range(0, 2), args: {}, check: (m) => expect(m.statesFilter).toEqual([]) },
  { api: 'saslHandshake', versions: [0, 1], args: { mechanism: 'PLAIN' }, check: (m) => expect(m.mechanism).toBe('PLAIN') },
  {
    api: 'saslAuthenticate',
    versions: [0, 1],
    // kafkajs's SASL mechanisms hand it bytes that already carry their int32 length.
    args: { authBytes: Buffer.concat([Buffer.from([0, 0, 0, 10]), Buffer.from('\0user\0pass')]) },
    check: (m) => expect(Buffer.from(m.authBytes).toString()).toBe('\0user\0pass'),
  },
  {
    api: 'createTopics',
    versions: range(0, 3),
    args: {
      topics: [
        {
          topic: 'orders',
          numPartitions: 3,
          replicationFactor: 1,
          replicaAssignment: [{ partition: 0, replicas: [1, 2] }],
          configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        },
      ],
      timeout: 5000,
      validateOnly: true,
    },
    check: (m, v) => {
      expect(m.topics[0]).toMatchObject({ name: 'orders', numPartitions: 3, replicationFactor: 1 })
      expect(m.topics[0].assignments[0].brokerIds).toEqual([1, 2])
      expect(m.topics[0].configs[0]).toMatchObject({ name: 'cleanup.policy', value: 'compact' })
      if (v >= 1) expect(m.validateOnly).toBe(true)
    },
  },
  { api: 'deleteTopics', versions: [0, 1], args: { topics: ['a', 'b'], timeout: 1000 }, check: (m) => expect(m.topicNames).toEqual(['a', 'b']) },
  {
    api: 'deleteRecords',
    versions: [0, 1],
    args: { topics: [{ topic: 'orders', partitions: [{ partition: 0, offset: '99' }] }], timeout: 1000 },
    check: (m) => expect(m.topics[0].partitions[0].offset).toBe(99),
  },
  {
    api: 'initProducerId',
    versions: [0, 1],
    args: { transactionalId: 'tx-1', transactionTimeout: 60000 },
    check: (m) => expect(m).toMatchObject({ transactionalId: 'tx-1', transactionTimeoutMs: 60000 }),
  },
  {
    api: 'addPartitionsToTxn',
    versions: [0, 1],
    args: { transactionalId: 'tx-1', producerId: '17', producerEpoch: 2, topics: [{ topic: 'orders', partitions: [0, 5] }] },
    check: (m) => {
      expect(m.v3AndBelowTransactionalId).toBe('tx-1')
      expect(m.v3AndBelowProducerId).toBe(17)
      expect(m.v3AndBelowTopics[0].partitions).toEqual([0, 5])
    },
  },
  {
    api: 'addOffsetsToTxn',
    versions: [0, 1],
    args: { transactionalId: 'tx-1', producerId: '17', producerEpoch: 2, groupId: 'g1' },
    check: (m) => expect(m).toMatchObject({ transactionalId: 'tx-1', producerId: 17, producerEpoch: 2, groupId: 'g1' }),
  },
  {
    api: 'endTxn',
    versions: [0, 1],
    args: { transactionalId: 'tx-1', producerId: '17', producerEpoch: 2, transactionResult: true },
    check: (m) => expect(m).toMatchObject({ transactionalId: 'tx-1', producerId: 17, committed: true }),
  },
  {
    api: 'txnOffsetCommit',
    versions: [0, 1],
    args: {
      transactionalId: 'tx-1',
      groupId: 'g1',
      producerId: '17',
      producerEpoch: 2,
      topics: [{ topic: 'orders', partitions: [{ partition: 1, offset: '8', metadata: null }] }],
    },
    check: (m) => {
      expect(m.groupId).toBe('g1')
      expect(m.topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, committedOffset: 8, committedMetadata: null })
    },
  },
  {
    api: 'describeConfigs',
    versions: range(0, 2),
    args: { resources: [{ type: 2, name: 'orders', configNames: ['retention.ms'] }], includeSynonyms: true },
    check: (m) => expect(m.resources[0]).toMatchObject({ resourceType: 2, resourceName: 'orders', configurationKeys: ['retention.ms'] }),
  },
  {
    api: 'alterConfigs',
    versions: [0, 1],
    args: { resources: [{ type: 2, name: 'orders', configEntries: [{ name: 'retention.ms', value: '1000' }] }], validateOnly: false },
    check: (m) => expect(m.resources[0].configs[0]).toMatchObject({ name: 'retention.ms', value: '1000' }),
  },
  {
    api: 'createPartitions',
    versions: [0, 1],
    args: { topicPartitions: [{ topic: 'orders', count: 6, assignments: [[1], [2]] }], timeout: 1000, validateOnly: false },
    check: (m) => {
      expect(m.topics[0]).toMatchObject({ name: 'orders', count: 6 })
      expect(m.topics[0].assignments.map((a: any) => a.brokerIds)).toEqual([[1], [2]])
    },
  },
  { api: 'deleteGroups', versions: [0, 1], args: ['g1', 'g2'], check: (m) => expect(m.groupsNames).toEqual(['g1', 'g2']) },
  {
    api: 'describeAcls',
    versions: [0, 1],
    args: { resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 },
    check: (m) => expect(m).toMatchObject({ resourceTypeFilter: 2, resourceNameFilter: 'orders', principalFilter: 'User:a', operation: 3 }),
  },
  {
    api: 'createAcls',
    versions: [0, 1],
    args: {
      creations: [{ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 }],
    },
    check: (m) => expect(m.creations[0]).toMatchObject({ resourceType: 2, resourceName: 'orders', principal: 'User:a' }),
  },
  {
    api: 'deleteAcls',
    versions: [0, 1],
    args: {
      filters: [{ resourceType: 2, resourceName: 'orders', resourcePatternType: 3, principal: 'User:a', host: '*', operation: 3, permissionType: 3 }],
    },
    check: (m) => expect(m.filters[0]).toMatchObject({ resourceTypeFilter: 2, resourceNameFilter: 'orders', principalFilter: 'User:a' }),
  },
]

/** Encodes size + header v1 + body the way a client frames a request. */
function frameWithOurs(apiKey: number, version: number, correlationId: number, clientId: string, body: unknown): Buffer {
  const w = new Writer(256)
  const size = w.reserveInt32()
  const start = w.length
  g.encodeRequestHeader(w, g.requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId })
  g.apis.get(apiKey)!.encodeRequest(w, version, body)
  w.patchInt32(size, w.length - start)
  return w.toBuffer()
}

describe('requests built by kafkajs', () => {
  for (const c of cases) {
    for (const v of c.versions) {
      it(`${c.api} v${v}`, async () => {
        const request = kafkajs(c.api, v)(c.args)
        const theirs = (await frame({ correlationId: 4242 + v, clientId: 'golden-client', request })).buffer

        const r = new Reader(theirs)
        expect(r.readInt32()).toBe(theirs.length - 4)
        const hv = g.requestHeaderVersion(request.apiKey, v)
        expect(hv).toBe(1)
        const header = g.decodeRequestHeader(r, hv)
        expect(header).toMatchObject({ requestApiKey: request.apiKey, requestApiVersion: v, correlationId: 4242 + v, clientId: 'golden-client' })
        const api = g.apis.get(request.apiKey)!
        const body = api.decodeRequest(r, v)
        expect(r.error).toBeUndefined()
        expect(r.remaining()).toBe(0)
        c.check(body, v)

        const ours = frameWithOurs(request.apiKey, v, header.correlationId, header.clientId!, body)
        expect(ours.toString('hex')).toBe(theirs.toString('hex'))
      })
    }
  }
})

const responses = (api: string, v: number): { decode(b: Buffer): Promise<any>; parse(d: any): Promise<any> } =>
  require(`kafkajs/src/protocol/requests/${api}/v${v}/response`)

function encodeResponse(apiKey: number, version: number, body: unknown): Buffer {
  const w = new Writer(256)
  g.apis.get(apiKey)!.encodeResponse(w, version, body)
  return w.toBuffer()
}

describe('responses read by kafkajs', () => {
  for (const v of [0, 1, 2]) {
    it(`ApiVersions v${v}`, async () => {
      const bytes = encodeResponse(g.ApiKey.ApiVersions, v, {
        errorCode: 0,
        apiKeys: [
          { apiKey: 0, minVersion: 0, maxVersion: 11 },
          { apiKey: 18, minVersion: 0, maxVersion: 4 },
        ],
        throttleTimeMs: 5,
      } as g.ApiVersionsResponse)
      const decoded = await responses('apiVersions', v).decode(bytes)
      expect(decoded.errorCode).toBe(0)
      expect(decoded.apiVersions).toEqual([
        { apiKey: 0, minVersion: 0, maxVersion: 11 },
        { apiKey: 18, minVersion: 0, maxVersion: 4 },
      ])
      // kafkajs reports the v2+ throttle (sent before throttling, KIP-219) as clientSideThrottleTime.
      if (v === 1) expect(decoded.throttleTime).toBe(5)
      if (v === 2) expect(decoded.clientSideThrottleTime).toBe(5)
    })
  }

  for (const v of [0, 1, 2, 3, 4, 5, 6]) {
    it(`Metadata v${v}`, async () => {
      const body = {
        ...g.defaultMetadataResponse(),
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: 9092, rack: null }],
        clusterId: 'samsa',
        controllerId: 1,
        topics: [
          {
            ...g.defaultMetadataResponseMetadataResponseTopic(),
            name: 'orders',
            partitions: [
              { ...g.defaultMetadataResponseMetadataResponsePartition(), partitionIndex: 0, leaderId: 1, replicaNodes: [1], isrNodes: [1] },
            ],
          },
        ],
      }
      const decoded = await responses('metadata', v).decode(encodeResponse(g.ApiKey.Metadata, v, body))
      expect(decoded.brokers).toEqual([expect.objectContaining({ nodeId: 1, host: '127.0.0.1', port: 9092 })])
      expect(decoded.topicMetadata[0].topic).toBe('orders')
      expect(decoded.topicMetadata[0].partitionMetadata[0]).toMatchObject({ partitionId: 0, leader: 1, replicas: [1], isr: [1] })
      if (v >= 2) expect(decoded.clusterId).toBe('samsa')
    })
  }

  for (const v of [0, 1, 2]) {
    it(`FindCoordinator v${v}`, async () => {
      const body = { ...g.defaultFindCoordinatorResponse(), nodeId: 3, host: 'broker-3', port: 19092 }
      const decoded = await responses('findCoordinator', v).decode(encodeResponse(g.ApiKey.FindCoordinator, v, body))
      expect(decoded.coordinator).toEqual({ nodeId: 3, host: 'broker-3', port: 19092 })
    })
  }

  for (const v of [0, 1, 2, 3, 4, 5, 6, 7]) {
    it(`Produce v${v}`, async () => {
      const body = {
        ...g.defaultProduceResponse(),
        responses: [
          {
            name: 'orders',
            partitionResponses: [{ ...g.defaultProduceResponsePartitionProduceResponse(), index: 2, baseOffset: 1234567890123, logStartOffset: 5 }],
          },
        ],
      }
      const decoded = await responses('produce', v).decode(encodeResponse(g.ApiKey.Produce, v, body))
      expect(decoded.topics[0].topicName).toBe('orders')
      const p = decoded.topics[0].partitions[0]
      expect(p).toMatchObject({ partition: 2, errorCode: 0 })
      // kafkajs names the base offset `offset` before v3.
      expect(p.baseOffset ?? p.offset).toBe('1234567890123')
    })
  }

  for (const v of [0, 1, 2, 3, 4, 5]) {
    it(`JoinGroup v${v}`, async () => {
      const body = {
        ...g.defaultJoinGroupResponse(),
        generationId: 9,
        protocolName: 'RoundRobinAssigner',
        leader: 'm-1',
        memberId: 'm-1',
        members: [{ memberId: 'm-1', groupInstanceId: null, metadata: Buffer.from('meta') }],
      }
      const decoded = await responses('joinGroup', v).decode(encodeResponse(g.ApiKey.JoinGroup, v, body))
      expect(decoded).toMatchObject({ generationId: 9, groupProtocol: 'RoundRobinAssigner', leaderId: 'm-1', memberId: 'm-1' })
      expect(decoded.members[0].memberId).toBe('m-1')
      expect(Buffer.from(decoded.members[0].memberMetadata).toString()).toBe('meta')
    })
  }
})
