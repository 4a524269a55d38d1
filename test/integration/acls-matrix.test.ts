// The authorization matrix: every API the broker serves, sent over a real socket by a principal
// with the ACLs it needs and by one without, with the error codes Kafka answers. Both callers are
// User:ANONYMOUS; the ACLs tell them apart by host (the loopback addresses 127.0.0.2 and
// 127.0.0.3), which the broker sees as the connection's peer address. The ACLs are created through
// CreateAcls while the anonymous principal is a super user, then the broker restarts without super
// users and enforces them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import { WireClient } from '../helpers/wire.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { AclOperation as Op, AclPermissionType, PatternType, ResourceType } from '../../broker/acls/acl-types.js'
import { defaultFetchRequest } from '../../protocol/generated/fetch.js'
import { defaultMetadataRequest } from '../../protocol/generated/metadata.js'
import { defaultJoinGroupRequest } from '../../protocol/generated/join-group.js'
import { defaultConsumerGroupHeartbeatRequest } from '../../protocol/generated/consumer-group-heartbeat.js'

const ALLOWED = '127.0.0.2'
const DENIED = '127.0.0.3'
/** Has READ on topic t only: READ implies DESCRIBE, nothing else. */
const READER = '127.0.0.4'
/** Has CREATE on the cluster only. */
const CREATOR = '127.0.0.5'
const AUTH_FAILURES = new Set<number>([
  ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  ErrorCode.GROUP_AUTHORIZATION_FAILED,
  ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
])
const AUTHORIZER = { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'group.initial.rebalance.delay.ms': '0' }

interface Row {
  key: number
  version: number
  body: unknown
  /** The error code that tells whether the caller was authorized. */
  code(res: any): number
  /** What the caller without ACLs gets; undefined: the API is not subject to ACLs. */
  denied: number | undefined
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

const rows: Row[] = [
  { key: ApiKey.Produce, version: 9, body: { transactionalId: null, acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: null }] }] }, code: (r) => r.responses[0].partitionResponses[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  {
    key: ApiKey.Fetch,
    version: 12,
    body: { ...defaultFetchRequest(), maxWaitMs: 0, topics: [{ topic: 't', topicId: ZERO_UUID, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1024, replicaDirectoryId: ZERO_UUID }] }] },
    code: (r) => r.responses[0].partitions[0].errorCode,
    denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED,
  },
  { key: ApiKey.ListOffsets, version: 7, body: { replicaId: -1, isolationLevel: 0, timeoutMs: 0, topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 }] }] }, code: (r) => r.topics[0].partitions[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.Metadata, version: 12, body: { ...defaultMetadataRequest(), topics: [{ topicId: ZERO_UUID, name: 't' }], allowAutoTopicCreation: false }, code: (r) => r.topics[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  {
    key: ApiKey.OffsetCommit,
    version: 8,
    body: { groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }] },
    code: (r) => r.topics[0].partitions[0].errorCode,
    denied: ErrorCode.GROUP_AUTHORIZATION_FAILED,
  },
  { key: ApiKey.OffsetFetch, version: 7, body: { groupId: 'g', topics: [{ name: 't', partitionIndexes: [0] }], groups: [], requireStable: false }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.FindCoordinator, version: 3, body: { key: 'g', keyType: 0, coordinatorKeys: [] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.FindCoordinator, version: 4, body: { key: '', keyType: 1, coordinatorKeys: ['tx'] }, code: (r) => r.coordinators[0].errorCode, denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED },
  { key: ApiKey.JoinGroup, version: 5, body: { ...defaultJoinGroupRequest(), groupId: 'g-join', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', protocolType: 'consumer', protocols: [{ name: 'range', metadata: new Uint8Array(0) }] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.Heartbeat, version: 4, body: { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.LeaveGroup, version: 4, body: { groupId: 'g', memberId: '', members: [{ memberId: 'm', groupInstanceId: null, reason: null }] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.SyncGroup, version: 5, body: { groupId: 'g', generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.DescribeGroups, version: 5, body: { groups: ['g'], includeAuthorizedOperations: true }, code: (r) => r.groups[0].errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  // ListGroups filters rather than fails: the caller without ACLs sees no group (checked below).
  { key: ApiKey.ListGroups, version: 4, body: { statesFilter: [], typesFilter: [] }, code: (r) => (r.groups.some((g: any) => g.groupId === 'g') ? ErrorCode.NONE : ErrorCode.GROUP_AUTHORIZATION_FAILED), denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.SaslHandshake, version: 1, body: { mechanism: 'PLAIN' }, code: (r) => r.errorCode, denied: undefined },
  { key: ApiKey.SaslAuthenticate, version: 2, body: { authBytes: new Uint8Array(0) }, code: (r) => r.errorCode, denied: undefined },
  { key: ApiKey.ApiVersions, version: 3, body: { clientSoftwareName: 'matrix', clientSoftwareVersion: '1' }, code: (r) => r.errorCode, denied: undefined },
  { key: ApiKey.CreateTopics, version: 5, body: { timeoutMs: 1000, validateOnly: true, topics: [{ name: 't-new', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] }, code: (r) => r.topics[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.DeleteTopics, version: 5, body: { topicNames: ['t-gone'], topics: [], timeoutMs: 1000 }, code: (r) => r.responses[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.DeleteRecords, version: 2, body: { timeoutMs: 1000, topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 0 }] }] }, code: (r) => r.topics[0].partitions[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.InitProducerId, version: 4, body: { transactionalId: null, transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 }, code: (r) => r.errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.InitProducerId, version: 4, body: { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 }, code: (r) => r.errorCode, denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED },
  { key: ApiKey.OffsetForLeaderEpoch, version: 4, body: { replicaId: -1, topics: [{ topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }, code: (r) => r.topics[0].partitions[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.AddPartitionsToTxn, version: 3, body: { transactions: [], v3AndBelowTransactionalId: 'tx', v3AndBelowProducerId: 1, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: 't', partitions: [0] }] }, code: (r) => r.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode, denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED },
  { key: ApiKey.AddOffsetsToTxn, version: 3, body: { transactionalId: 'tx', producerId: 1, producerEpoch: 0, groupId: 'g' }, code: (r) => r.errorCode, denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED },
  { key: ApiKey.EndTxn, version: 3, body: { transactionalId: 'tx', producerId: 1, producerEpoch: 0, committed: false }, code: (r) => r.errorCode, denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED },
  {
    key: ApiKey.WriteTxnMarkers,
    version: 1,
    body: { markers: [{ producerId: 1, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 't', partitionIndexes: [0] }] }] },
    code: (r) => r.markers[0].topics[0].partitions[0].errorCode,
    denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
  },
  {
    key: ApiKey.TxnOffsetCommit,
    version: 3,
    body: { transactionalId: 'tx', groupId: 'g', producerId: 1, producerEpoch: 0, generationId: -1, memberId: '', groupInstanceId: null, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 0, committedLeaderEpoch: -1, committedMetadata: null }] }] },
    code: (r) => r.topics[0].partitions[0].errorCode,
    denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
  },
  { key: ApiKey.DescribeAcls, version: 3, body: { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }, code: (r) => r.errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.CreateAcls, version: 3, body: { creations: [{ resourceType: 2, resourceName: 'unused', resourcePatternType: 3, principal: 'User:nobody', host: '*', operation: 3, permissionType: 3 }] }, code: (r) => r.results[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.DeleteAcls, version: 3, body: { filters: [{ resourceTypeFilter: 2, resourceNameFilter: 'unused', patternTypeFilter: 3, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }] }, code: (r) => r.filterResults[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.DescribeConfigs, version: 4, body: { resources: [{ resourceType: 2, resourceName: 't', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false }, code: (r) => r.results[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.DescribeConfigs, version: 4, body: { resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false }, code: (r) => r.results[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.AlterConfigs, version: 2, body: { validateOnly: true, resources: [{ resourceType: 2, resourceName: 't', configs: [] }] }, code: (r) => r.responses[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.DescribeLogDirs, version: 4, body: { topics: null }, code: (r) => r.errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.CreatePartitions, version: 3, body: { timeoutMs: 1000, validateOnly: true, topics: [{ name: 't', count: 2, assignments: null }] }, code: (r) => r.results[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.DeleteGroups, version: 2, body: { groupsNames: ['g-none'] }, code: (r) => r.results[0].errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.IncrementalAlterConfigs, version: 1, body: { validateOnly: true, resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'num.partitions', configOperation: 0, value: '1' }] }] }, code: (r) => r.responses[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.ElectLeaders, version: 2, body: { electionType: 0, topicPartitions: [{ topic: 't', partitions: [0] }], timeoutMs: 1000 }, code: (r) => r.errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.AlterPartitionReassignments, version: 0, body: { timeoutMs: 1000, topics: [] }, code: (r) => r.errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.ListPartitionReassignments, version: 0, body: { timeoutMs: 1000, topics: null }, code: (r) => r.errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.OffsetDelete, version: 0, body: { groupId: 'g', topics: [{ name: 't', partitions: [{ partitionIndex: 0 }] }] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  // DescribeCluster answers, with an empty authorized-operations bitfield for a caller that may not describe the cluster.
  { key: ApiKey.DescribeCluster, version: 1, body: { includeClusterAuthorizedOperations: true, endpointType: 1 }, code: (r) => (r.clusterAuthorizedOperations === 0 ? ErrorCode.CLUSTER_AUTHORIZATION_FAILED : r.errorCode), denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.DescribeProducers, version: 0, body: { topics: [{ name: 't', partitionIndexes: [0] }] }, code: (r) => r.topics[0].partitions[0].errorCode, denied: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
  { key: ApiKey.DescribeTransactions, version: 0, body: { transactionalIds: ['tx'] }, code: (r) => r.transactionStates[0].errorCode, denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED },
  // ListTransactions filters: the caller without ACLs sees no transactional id.
  { key: ApiKey.ListTransactions, version: 1, body: { stateFilters: [], producerIdFilters: [], durationFilter: -1 }, code: (r) => (r.transactionStates.length > 0 ? ErrorCode.NONE : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED), denied: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED },
  { key: ApiKey.ConsumerGroupHeartbeat, version: 1, body: { ...defaultConsumerGroupHeartbeatRequest(), groupId: 'g-848', memberId: 'member-1', memberEpoch: 0, rebalanceTimeoutMs: 10000, subscribedTopicNames: ['t'], topicPartitions: [] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.ConsumerGroupDescribe, version: 0, body: { groupIds: ['g-848'], includeAuthorizedOperations: true }, code: (r) => r.groups[0].errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.ShareGroupHeartbeat, version: 1, body: { groupId: 'g-share', memberId: 'share-1', memberEpoch: 0, rackId: null, subscribedTopicNames: ['t'] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.ShareGroupDescribe, version: 1, body: { groupIds: ['g-share'], includeAuthorizedOperations: true }, code: (r) => r.groups[0].errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.ShareFetch, version: 1, body: { groupId: 'g-share', memberId: 'share-1', shareSessionEpoch: 0, maxWaitMs: 0, minBytes: 1, maxBytes: 1000, maxRecords: 10, batchSize: 10, topics: [], forgottenTopicsData: [] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.ShareAcknowledge, version: 1, body: { groupId: 'g-share', memberId: 'share-1', shareSessionEpoch: 1, topics: [] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.DescribeShareGroupOffsets, version: 0, body: { groups: [{ groupId: 'g-share', topics: null }] }, code: (r) => r.groups[0].errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.AlterShareGroupOffsets, version: 0, body: { groupId: 'g-share', topics: [{ topicName: 't', partitions: [{ partitionIndex: 0, startOffset: 0 }] }] }, code: (r) => r.responses[0].partitions[0].errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.DeleteShareGroupOffsets, version: 0, body: { groupId: 'g-share', topics: [{ topicName: 't' }] }, code: (r) => r.errorCode, denied: ErrorCode.GROUP_AUTHORIZATION_FAILED },
  { key: ApiKey.InitializeShareGroupState, version: 0, body: { groupId: 'g-share', topics: [{ topicId: ZERO_UUID, partitions: [{ partition: 0, stateEpoch: 0, startOffset: -1 }] }] }, code: (r) => r.results[0].partitions[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.ReadShareGroupState, version: 0, body: { groupId: 'g-share', topics: [{ topicId: ZERO_UUID, partitions: [{ partition: 0, leaderEpoch: -1 }] }] }, code: (r) => r.results[0].partitions[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.WriteShareGroupState, version: 0, body: { groupId: 'g-share', topics: [{ topicId: ZERO_UUID, partitions: [{ partition: 0, stateEpoch: 0, leaderEpoch: 0, startOffset: 0, stateBatches: [] }] }] }, code: (r) => r.results[0].partitions[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.DeleteShareGroupState, version: 0, body: { groupId: 'g-share', topics: [{ topicId: ZERO_UUID, partitions: [{ partition: 0 }] }] }, code: (r) => r.results[0].partitions[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: ApiKey.ReadShareGroupStateSummary, version: 0, body: { groupId: 'g-share', topics: [{ topicId: ZERO_UUID, partitions: [{ partition: 0, leaderEpoch: -1 }] }] }, code: (r) => r.results[0].partitions[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: 50, version: 0, body: { users: null }, code: (r) => r.errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
  { key: 51, version: 0, body: { deletions: [], upsertions: [{ name: 'nobody', mechanism: 1, iterations: 4096, salt: new Uint8Array(16), saltedPassword: new Uint8Array(32) }] }, code: (r) => r.results[0].errorCode, denied: ErrorCode.CLUSTER_AUTHORIZATION_FAILED },
]

/** The row's error code, or CLOSED when the broker answers by closing the connection. */
async function call(address: string, localAddress: string, row: Row): Promise<number | 'CLOSED'> {
  const c = await WireClient.connect(address, localAddress)
  try {
    const { body } = await c.request<any>(row.key, row.version, row.body)
    return row.code(body)
  } catch (err) {
    if (c.closed) return 'CLOSED'
    throw err
  } finally {
    c.close()
  }
}

function binding(host: string, resourceType: number, resourceName: string, patternType: number, operation: number, permissionType: number = AclPermissionType.ALLOW) {
  return { resourceType, resourceName, resourcePatternType: patternType, principal: 'User:ANONYMOUS', host, operation, permissionType }
}

describe('authorization matrix', () => {
  let dataDir: string
  let broker: RunningBroker
  let served: number[]

  beforeAll(async () => {
    dataDir = await makeTempDir('samsa-acl-matrix-')
    const start = (config: Record<string, string>) => startBroker({ dataDir, host: '127.0.0.1', port: 0, config: { ...AUTHORIZER, ...config }, logLevel: 'silent' })
    const setup = await start({ 'super.users': 'User:ANONYMOUS' })
    const admin = await WireClient.connect(setup.address)
    const created = await admin.request<any>(ApiKey.CreateTopics, 5, {
      timeoutMs: 5000,
      validateOnly: false,
      topics: ['t', 't-gone', 't-denied'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
    })
    expect(created.body.topics.map((t: any) => t.errorCode)).toEqual([0, 0, 0])
    const acls = await admin.request<any>(ApiKey.CreateAcls, 3, {
      creations: [
        binding(ALLOWED, ResourceType.CLUSTER, 'kafka-cluster', PatternType.LITERAL, Op.ALL),
        binding(ALLOWED, ResourceType.TOPIC, 't', PatternType.PREFIXED, Op.ALL),
        binding(ALLOWED, ResourceType.GROUP, 'g', PatternType.PREFIXED, Op.ALL),
        binding(ALLOWED, ResourceType.TRANSACTIONAL_ID, 'tx', PatternType.PREFIXED, Op.ALL),
        // DENY beats the prefixed ALLOW above.
        binding(ALLOWED, ResourceType.TOPIC, 't-denied', PatternType.LITERAL, Op.READ, AclPermissionType.DENY),
        binding(READER, ResourceType.TOPIC, 't', PatternType.LITERAL, Op.READ),
        binding(CREATOR, ResourceType.CLUSTER, 'kafka-cluster', PatternType.LITERAL, Op.CREATE),
      ],
    })
    expect(acls.body.results.map((r: any) => r.errorCode)).toEqual([0, 0, 0, 0, 0, 0, 0])
    admin.close()
    await setup.stop()
    broker = await start({})
    const probe = await WireClient.connect(broker.address, ALLOWED)
    served = (await probe.request<any>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'matrix', clientSoftwareVersion: '1' })).body.apiKeys.map((k: any) => k.apiKey)
    // A transaction and a group with committed offsets, for the APIs that describe them.
    expect((await probe.request<any>(ApiKey.InitProducerId, 4, { transactionalId: 'tx', transactionTimeoutMs: 60000, producerId: -1, producerEpoch: -1 })).body.errorCode).toBe(0)
    probe.close()
  }, 60_000)

  afterAll(async () => {
    await broker?.stop()
    await removeDir(dataDir)
  })

  it('has a row for every API the broker serves', () => {
    const covered = new Set(rows.map((r) => r.key))
    expect(served.filter((k) => !covered.has(k))).toEqual([])
  })

  it('answers each API as Kafka does for a caller with and one without the needed ACLs', async () => {
    const outcomes: string[] = []
    const expected: string[] = []
    for (const row of rows) {
      if (!served.includes(row.key)) continue
      const name = `${Object.entries(ApiKey).find(([, k]) => k === row.key)?.[0]} v${row.version}`
      const denied = await call(broker.address, DENIED, row)
      const allowed = await call(broker.address, ALLOWED, row)
      if (row.denied === undefined) {
        outcomes.push(`${name}: same=${denied === allowed}`)
        expected.push(`${name}: same=true`)
      } else {
        outcomes.push(`${name}: denied=${denied} allowedAuthFailure=${allowed === 'CLOSED' || AUTH_FAILURES.has(allowed)}`)
        expected.push(`${name}: denied=${row.denied} allowedAuthFailure=false`)
      }
    }
    expect(outcomes).toEqual(expected)
  }, 60_000)

  it('Metadata lists only topics the caller may describe, and auto-creation needs CREATE', async () => {
    const list = async (host: string) => {
      const c = await WireClient.connect(broker.address, host)
      try {
        return (await c.request<any>(ApiKey.Metadata, 12, { ...defaultMetadataRequest(), topics: null })).body.topics.map((t: any) => t.name).sort()
      } finally {
        c.close()
      }
    }
    // (t-gone may already be gone: the matrix deleted it.)
    expect(await list(ALLOWED)).toEqual(expect.arrayContaining(['t', 't-denied']))
    expect(await list(READER)).toEqual(['t'])
    expect(await list(DENIED)).toEqual([])
    // READER may not describe 't-auto' (no ACL names it); ALLOWED may, and may create it.
    const autoCreate = async (host: string) => {
      const c = await WireClient.connect(broker.address, host)
      try {
        return (await c.request<any>(ApiKey.Metadata, 12, { ...defaultMetadataRequest(), topics: [{ topicId: ZERO_UUID, name: 't-auto' }], allowAutoTopicCreation: true })).body.topics[0].errorCode
      } finally {
        c.close()
      }
    }
    expect(await autoCreate(READER)).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    expect(await autoCreate(ALLOWED)).toBe(ErrorCode.NONE)
  })

  it('CreateTopics with CREATE on the cluster, showing the configs only with DESCRIBE_CONFIGS on the topic', async () => {
    const create = async (host: string, name: string) => {
      const c = await WireClient.connect(broker.address, host)
      try {
        const body = { timeoutMs: 1000, validateOnly: false, topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] }
        return (await c.request<any>(ApiKey.CreateTopics, 7, body)).body.topics[0]
      } finally {
        c.close()
      }
    }
    const byCreator = await create(CREATOR, 'made-by-creator')
    expect([byCreator.errorCode, byCreator.topicConfigErrorCode, byCreator.configs.length]).toEqual([ErrorCode.NONE, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 0])
    const byAllowed = await create(ALLOWED, 't-made')
    expect([byAllowed.errorCode, byAllowed.topicConfigErrorCode]).toEqual([ErrorCode.NONE, ErrorCode.NONE])
    expect(byAllowed.configs.length).toBeGreaterThan(0)
  })

  it('READ implies DESCRIBE but not WRITE; a DENY beats a prefixed ALLOW', async () => {
    const produce = rows.find((r) => r.key === ApiKey.Produce)!
    const fetch = rows.find((r) => r.key === ApiKey.Fetch)!
    expect(await call(broker.address, READER, fetch)).toBe(ErrorCode.NONE)
    expect(await call(broker.address, READER, produce)).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    const onDenied = (row: Row): Row => ({ ...row, body: JSON.parse(JSON.stringify(row.body).replaceAll('"t"', '"t-denied"')) })
    expect(await call(broker.address, ALLOWED, onDenied(fetch))).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    expect(await call(broker.address, ALLOWED, onDenied(produce))).toBe(ErrorCode.NONE)
  })

  it("a follower's Fetch (replica id set) needs CLUSTER_ACTION, not READ on the topic", async () => {
    const fetch = rows.find((r) => r.key === ApiKey.Fetch)!
    const asFollower: Row = { ...fetch, body: { ...(fetch.body as object), replicaId: 2 } }
    expect(await call(broker.address, READER, fetch)).toBe(ErrorCode.NONE)
    expect(await call(broker.address, READER, asFollower)).toBe(ErrorCode.TOPIC_AUTHORIZATION_FAILED)
    expect(await call(broker.address, ALLOWED, asFollower)).toBe(ErrorCode.NONE)
  })

  it('fills in the authorized-operations bitfields with what the caller may do', async () => {
    const c = await WireClient.connect(broker.address, READER)
    try {
      const md = (await c.request<any>(ApiKey.Metadata, 10, { ...defaultMetadataRequest(), topics: [{ topicId: ZERO_UUID, name: 't' }], includeTopicAuthorizedOperations: true, includeClusterAuthorizedOperations: true })).body
      expect(md.topics[0].topicAuthorizedOperations).toBe((1 << Op.READ) | (1 << Op.DESCRIBE))
      expect(md.clusterAuthorizedOperations).toBe(0)
    } finally {
      c.close()
    }
    const a = await WireClient.connect(broker.address, ALLOWED)
    try {
      const groups = (await a.request<any>(ApiKey.DescribeGroups, 5, { groups: ['g'], includeAuthorizedOperations: true })).body.groups
      expect(groups[0].authorizedOperations).toBe([Op.READ, Op.DESCRIBE, Op.DELETE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS].reduce((b, op) => b | (1 << op), 0))
      const cluster = (await a.request<any>(ApiKey.DescribeCluster, 1, { includeClusterAuthorizedOperations: true, endpointType: 1 })).body
      expect(cluster.clusterAuthorizedOperations & (1 << Op.ALTER)).not.toBe(0)
    } finally {
      a.close()
    }
  })
})
