// The admin client against fake brokers that speak through the generated codecs: version
// negotiation (including the KIP-511 ApiVersions fallback), routing of each API to the right
// broker, per-partition errors, and the failure modes a CLI user sees.
import { afterEach, describe, expect, it } from 'vitest'
import {
  AdminClient,
  BrokerConnectionError,
  BrokerUnreachableError,
  KafkaProtocolError,
  parseAddress,
  pickVersion,
  UnsupportedApiError,
  withAdminClient,
} from '../../../broker/client/admin-client.js'
import { ErrorCode } from '../../../protocol/errors.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import { ApiVersionsApi } from '../../../protocol/generated/api-versions.js'
import { startFakeBroker } from '../../helpers/fake-broker.js'
import { DescribeLogDirsApi } from '../../../protocol/generated/describe-log-dirs.js'
import { DescribeProducersApi } from '../../../protocol/generated/describe-producers.js'
import { ListTransactionsApi } from '../../../protocol/generated/list-transactions.js'
import { MetadataApi } from '../../../protocol/generated/metadata.js'

type Handler = (body: any, version: number) => unknown

interface Seen {
  apiKey: number
  version: number
  clientId: string | null
  body: any
}

interface FakeBroker {
  nodeId: number
  address: string
  port: number
  seen: Seen[]
  handlers: Map<number, Handler>
  /** API key -> [min, max] advertised in ApiVersions. */
  versions: Map<number, [number, number]>
  close(): Promise<void>
}

const open: FakeBroker[] = []
afterEach(async () => {
  for (const b of open.splice(0)) await b.close()
})

async function fakeBroker(nodeId: number, versions: Record<number, [number, number]>, handlers: Record<number, Handler> = {}): Promise<FakeBroker> {
  const fb: FakeBroker = {
    nodeId,
    address: '',
    port: 0,
    seen: [],
    handlers: new Map(Object.entries(handlers).map(([k, h]) => [Number(k), h])),
    versions: new Map(Object.entries(versions).map(([k, v]) => [Number(k), v])),
    close: async () => {},
  }
  const server = await startFakeBroker({
    versions: () => fb.versions,
    onRequest: (req) => fb.seen.push(req),
    answer: (req) => fb.handlers.get(req.apiKey)?.(req.body, req.version),
  })
  fb.port = server.port
  fb.address = server.address
  fb.close = () => server.close()
  open.push(fb)
  return fb
}

const FULL: Record<number, [number, number]> = {
  [ApiKey.Metadata]: [0, 12],
  [ApiKey.FindCoordinator]: [0, 6],
  [ApiKey.ApiVersions]: [0, 4],
  [ApiKey.DescribeLogDirs]: [0, 4],
  [ApiKey.DescribeProducers]: [0, 0],
  [ApiKey.DescribeTransactions]: [0, 0],
  [ApiKey.ListTransactions]: [0, 1],
}

/** Metadata naming both fake brokers; `orders` has partition 0 on node 1 and partition 1 on node 2. */
function clusterMetadata(nodes: FakeBroker[]): Handler {
  return (body: { topics: { name: string }[] | null }) => ({
    throttleTimeMs: 0,
    brokers: nodes.map((n) => ({ nodeId: n.nodeId, host: '127.0.0.1', port: n.port, rack: null })),
    clusterId: 'c',
    controllerId: nodes[0].nodeId,
    topics: (body.topics ?? []).map((t) =>
      t.name === 'orders'
        ? {
            errorCode: 0,
            name: 'orders',
            topicId: '00000000-0000-0000-0000-000000000000',
            isInternal: false,
            partitions: [0, 1].map((p) => ({ errorCode: 0, partitionIndex: p, leaderId: nodes[p % nodes.length].nodeId, leaderEpoch: 0, replicaNodes: [], isrNodes: [], offlineReplicas: [] })),
            topicAuthorizedOperations: 0,
          }
        : { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, name: t.name, topicId: '00000000-0000-0000-0000-000000000000', isInternal: false, partitions: [], topicAuthorizedOperations: 0 },
    ),
    clusterAuthorizedOperations: 0,
  })
}

function producersOf(nodeId: number): Handler {
  return (body: { topics: { name: string; partitionIndexes: number[] }[] }) => ({
    throttleTimeMs: 0,
    topics: body.topics.map((t) => ({
      name: t.name,
      partitions: t.partitionIndexes.map((p) => ({
        partitionIndex: p,
        errorCode: 0,
        errorMessage: null,
        activeProducers: [{ producerId: 1000 + nodeId, producerEpoch: 2, lastSequence: 10 * p + 4, lastTimestamp: 1_700_000_000_000, coordinatorEpoch: 1, currentTxnStartOffset: -1 }],
      })),
    })),
  })
}

async function twoBrokers(): Promise<[FakeBroker, FakeBroker]> {
  const one = await fakeBroker(1, FULL)
  const two = await fakeBroker(2, FULL)
  for (const b of [one, two]) {
    b.handlers.set(ApiKey.Metadata, clusterMetadata([one, two]))
    b.handlers.set(ApiKey.DescribeProducers, producersOf(b.nodeId))
  }
  return [one, two]
}

describe('pickVersion', () => {
  it('takes our newest stable version capped by the broker maximum', () => {
    expect(pickVersion(DescribeLogDirsApi, [0, 9])).toBe(4)
    expect(pickVersion(DescribeLogDirsApi, [1, 2])).toBe(2)
    expect(pickVersion(ListTransactionsApi, [0, 0])).toBe(0)
    expect(pickVersion(MetadataApi, [0, 12])).toBe(MetadataApi.maxStableVersion)
  })

  it('returns null when the ranges do not meet or the API is absent', () => {
    expect(pickVersion(DescribeLogDirsApi, [5, 7])).toBeNull()
    expect(pickVersion(DescribeProducersApi, undefined)).toBeNull()
  })
})

describe('parseAddress', () => {
  it('splits host and port, defaulting the port to 9092', () => {
    expect(parseAddress('localhost:9093')).toEqual({ host: 'localhost', port: 9093 })
    expect(parseAddress('broker')).toEqual({ host: 'broker', port: 9092 })
    expect(parseAddress('[::1]:9094')).toEqual({ host: '::1', port: 9094 })
    expect(parseAddress('::1')).toEqual({ host: '::1', port: 9092 })
  })
})

describe('AdminClient', () => {
  it('negotiates ApiVersions at v4 with its client id, then uses the negotiated versions', async () => {
    const [one] = await twoBrokers()
    await withAdminClient({ bootstrap: [one.address], clientId: 'cli-test' }, async (c) => {
      await c.metadata(['orders'])
    })
    expect(one.seen.map((s) => [s.apiKey, s.version])).toEqual([
      [ApiKey.ApiVersions, ApiVersionsApi.maxStableVersion],
      [ApiKey.Metadata, Math.min(MetadataApi.maxStableVersion, 12)],
    ])
    expect(one.seen.every((s) => s.clientId === 'cli-test')).toBe(true)
  })

  it('falls back to the ApiVersions version an older broker names in its UNSUPPORTED_VERSION answer', async () => {
    const old = await fakeBroker(1, { ...FULL, [ApiKey.ApiVersions]: [0, 2], [ApiKey.Metadata]: [0, 8] })
    old.handlers.set(ApiKey.Metadata, clusterMetadata([old]))
    const meta = await withAdminClient({ bootstrap: [old.address] }, (c) => c.metadata(['orders']))
    expect(meta.topics[0].partitions.map((p) => p.partition)).toEqual([0, 1])
    expect(old.seen.map((s) => [s.apiKey, s.version])).toEqual([
      [ApiKey.ApiVersions, 4],
      [ApiKey.ApiVersions, 2],
      [ApiKey.Metadata, 8],
    ])
  })

  it("routes DescribeProducers to each partition's leader", async () => {
    const [one, two] = await twoBrokers()
    const result = await withAdminClient({ bootstrap: [one.address] }, (c) => c.describeProducers('orders'))
    expect(result.map((p) => [p.partition, p.error, p.producers[0]?.producerId, p.producers[0]?.lastSequence])).toEqual([
      [0, null, 1001, 4],
      [1, null, 1002, 14],
    ])
    const asked = (b: FakeBroker) => b.seen.filter((s) => s.apiKey === ApiKey.DescribeProducers).map((s) => s.body.topics[0].partitionIndexes)
    expect(asked(one)).toEqual([[0]])
    expect(asked(two)).toEqual([[1]])
  })

  it('asks Metadata again and follows a partition leader that moved (NOT_LEADER_OR_FOLLOWER)', async () => {
    const [one, two] = await twoBrokers()
    for (const b of [one, two]) b.versions.set(ApiKey.ListOffsets, [1, 7])
    // Partition 0 has moved to node 2, but the first Metadata answer still names node 1.
    let metadataAnswers = 0
    const moved = clusterMetadata([two, one])
    const stale = clusterMetadata([one, two])
    for (const b of [one, two]) b.handlers.set(ApiKey.Metadata, (body, v) => (metadataAnswers++ === 0 ? stale(body, v) : moved(body, v)))
    const answer = (errorCode: number) => (body: { topics: { name: string; partitions: { partitionIndex: number }[] }[] }) => ({
      throttleTimeMs: 0,
      topics: body.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode, oldStyleOffsets: [], timestamp: -1, offset: errorCode === 0 ? 40 + p.partitionIndex : -1, leaderEpoch: 0 })) })),
    })
    one.handlers.set(ApiKey.ListOffsets, answer(ErrorCode.NOT_LEADER_OR_FOLLOWER))
    two.handlers.set(ApiKey.ListOffsets, answer(ErrorCode.NONE))
    const offsets = await withAdminClient({ bootstrap: [one.address] }, (c) => c.listOffsets('orders', -1, { partitions: [0] }))
    expect(offsets).toEqual(new Map([[0, 40]]))
    expect(one.seen.filter((s) => s.apiKey === ApiKey.ListOffsets)).toHaveLength(1)
    expect(two.seen.filter((s) => s.apiKey === ApiKey.ListOffsets)).toHaveLength(1)
    expect(metadataAnswers).toBe(2)
  })

  it('reports a partition the topic lacks without asking any broker about it', async () => {
    const [one, two] = await twoBrokers()
    const result = await withAdminClient({ bootstrap: [one.address] }, (c) => c.describeProducers('orders', [1, 5]))
    expect(result.map((p) => [p.partition, p.error])).toEqual([
      [1, null],
      [5, 'UNKNOWN_TOPIC_OR_PARTITION'],
    ])
    expect(one.seen.some((s) => s.apiKey === ApiKey.DescribeProducers)).toBe(false)
    expect(two.seen.filter((s) => s.apiKey === ApiKey.DescribeProducers)).toHaveLength(1)
  })

  it('throws a typed error for an unknown topic', async () => {
    const [one] = await twoBrokers()
    const err = await withAdminClient({ bootstrap: [one.address] }, (c) => c.describeProducers('missing')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KafkaProtocolError)
    expect((err as KafkaProtocolError).type).toBe('UNKNOWN_TOPIC_OR_PARTITION')
  })

  it('asks every broker for ListTransactions and merges the answers', async () => {
    const [one, two] = await twoBrokers()
    for (const b of [one, two]) {
      b.handlers.set(ApiKey.ListTransactions, (body: { stateFilters: string[] }) => ({
        throttleTimeMs: 0,
        errorCode: 0,
        unknownStateFilters: body.stateFilters.filter((s) => s !== 'Ongoing'),
        transactionStates: [{ transactionalId: `tx-${b.nodeId}`, producerId: b.nodeId, transactionState: 'Ongoing' }],
      }))
    }
    const res = await withAdminClient({ bootstrap: [two.address] }, (c) => c.listTransactions({ states: ['Ongoing', 'Bogus'], producerIds: [1, 2], minDurationMs: 5000 }))
    expect(res.transactions).toEqual([
      { transactionalId: 'tx-1', producerId: 1, state: 'Ongoing', coordinatorId: 1 },
      { transactionalId: 'tx-2', producerId: 2, state: 'Ongoing', coordinatorId: 2 },
    ])
    expect(res.unknownStates).toEqual(['Bogus'])
    for (const b of [one, two]) {
      const req = b.seen.find((s) => s.apiKey === ApiKey.ListTransactions)!
      expect(req.version).toBe(1)
      expect(req.body).toMatchObject({ stateFilters: ['Ongoing', 'Bogus'], producerIdFilters: [1, 2], durationFilter: 5000 })
    }
  })

  it('refuses a duration filter a v0-only broker would silently ignore', async () => {
    const b = await fakeBroker(1, { ...FULL, [ApiKey.ListTransactions]: [0, 0] })
    b.handlers.set(ApiKey.Metadata, clusterMetadata([b]))
    const err = await withAdminClient({ bootstrap: [b.address] }, (c) => c.listTransactions({ minDurationMs: 1 })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnsupportedApiError)
    expect(b.seen.some((s) => s.apiKey === ApiKey.ListTransactions)).toBe(false)
  })

  it('sends DescribeTransactions to the coordinator FindCoordinator names', async () => {
    const [one, two] = await twoBrokers()
    one.handlers.set(ApiKey.FindCoordinator, (body: { keyType: number; coordinatorKeys: string[] }) => {
      expect(body.keyType).toBe(1)
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        nodeId: 0,
        host: '',
        port: 0,
        coordinators: body.coordinatorKeys.map((key) => ({ key, nodeId: 2, host: '127.0.0.1', port: two.port, errorCode: 0, errorMessage: null })),
      }
    })
    two.handlers.set(ApiKey.DescribeTransactions, (body: { transactionalIds: string[] }) => ({
      throttleTimeMs: 0,
      transactionStates: body.transactionalIds.map((id) =>
        id === 'known'
          ? { errorCode: 0, transactionalId: id, transactionState: 'Ongoing', transactionTimeoutMs: 60000, transactionStartTimeMs: 123, producerId: 7, producerEpoch: 3, topics: [{ topic: 'orders', partitions: [1, 0] }] }
          : { errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: id, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] },
      ),
    }))
    const res = await withAdminClient({ bootstrap: [one.address] }, (c) => c.describeTransactions(['known', 'unknown']))
    expect(res).toEqual([
      { transactionalId: 'known', coordinatorId: 2, error: null, state: 'Ongoing', timeoutMs: 60000, startTimeMs: 123, producerId: 7, producerEpoch: 3, topics: [{ topic: 'orders', partitions: [0, 1] }] },
      { transactionalId: 'unknown', coordinatorId: 2, error: 'TRANSACTIONAL_ID_NOT_FOUND', state: '', timeoutMs: 0, startTimeMs: -1, producerId: -1, producerEpoch: -1, topics: [] },
    ])
    expect(one.seen.some((s) => s.apiKey === ApiKey.DescribeTransactions)).toBe(false)
    expect(two.seen.filter((s) => s.apiKey === ApiKey.DescribeTransactions).map((s) => s.body.transactionalIds)).toEqual([['known', 'unknown']])
  })

  it('finds a group coordinator again when the one it asked answers NOT_COORDINATOR', async () => {
    const [one, two] = await twoBrokers()
    for (const b of [one, two]) b.versions.set(ApiKey.DeleteGroups, [0, 2])
    let lookups = 0
    one.handlers.set(ApiKey.FindCoordinator, (body: { keyType: number; coordinatorKeys: string[] }) => {
      expect(body.keyType).toBe(0)
      const node = lookups++ === 0 ? one : two
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        nodeId: 0,
        host: '',
        port: 0,
        coordinators: body.coordinatorKeys.map((key) => ({ key, nodeId: node.nodeId, host: '127.0.0.1', port: node.port, errorCode: 0, errorMessage: null })),
      }
    })
    const deleted = (errorCode: number) => (body: { groupsNames: string[] }) => ({ throttleTimeMs: 0, results: body.groupsNames.map((groupId) => ({ groupId, errorCode })) })
    one.handlers.set(ApiKey.DeleteGroups, deleted(ErrorCode.NOT_COORDINATOR))
    two.handlers.set(ApiKey.DeleteGroups, deleted(ErrorCode.NONE))
    const res = await withAdminClient({ bootstrap: [one.address] }, (c) => c.deleteGroups(['g']))
    expect(res).toEqual(new Map([['g', null]]))
    expect(lookups).toBe(2)
    expect(two.seen.filter((s) => s.apiKey === ApiKey.DeleteGroups).map((s) => s.body.groupsNames)).toEqual([['g']])
  })

  it('uses the single-key FindCoordinator of brokers older than v4', async () => {
    const [one, two] = await twoBrokers()
    one.versions.set(ApiKey.FindCoordinator, [0, 3])
    one.handlers.set(ApiKey.FindCoordinator, (body: { key: string; keyType: number }) => ({
      throttleTimeMs: 0,
      errorCode: body.key === 'broken' ? ErrorCode.COORDINATOR_NOT_AVAILABLE : 0,
      errorMessage: null,
      nodeId: 2,
      host: '127.0.0.1',
      port: two.port,
      coordinators: [],
    }))
    two.handlers.set(ApiKey.DescribeTransactions, (body: { transactionalIds: string[] }) => ({
      throttleTimeMs: 0,
      transactionStates: body.transactionalIds.map((id) => ({ errorCode: 0, transactionalId: id, transactionState: 'Empty', transactionTimeoutMs: 1, transactionStartTimeMs: -1, producerId: 1, producerEpoch: 0, topics: [] })),
    }))
    const res = await withAdminClient({ bootstrap: [one.address] }, (c) => c.describeTransactions(['a']))
    expect(res[0]).toMatchObject({ transactionalId: 'a', coordinatorId: 2, state: 'Empty' })
    expect(one.seen.find((s) => s.apiKey === ApiKey.FindCoordinator)).toMatchObject({ version: 3, body: { key: 'a', keyType: 1 } })
    const err = await withAdminClient({ bootstrap: [one.address] }, (c) => c.describeTransactions(['broken'])).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KafkaProtocolError)
    expect((err as KafkaProtocolError).type).toBe('COORDINATOR_NOT_AVAILABLE')
  })

  it('names the missing API when the broker lacks it', async () => {
    const versions = { ...FULL }
    delete versions[ApiKey.DescribeProducers]
    const b = await fakeBroker(1, versions)
    b.handlers.set(ApiKey.Metadata, clusterMetadata([b]))
    const err = await withAdminClient({ bootstrap: [b.address] }, (c) => c.describeProducers('orders')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnsupportedApiError)
    expect((err as Error).message).toBe(`the broker at ${b.address} does not support DescribeProducers (API key 61)`)
  })

  it('tries the next bootstrap broker when the first is unreachable', async () => {
    const [one] = await twoBrokers()
    const dead = await fakeBroker(9, FULL)
    const deadAddress = dead.address
    await dead.close()
    const meta = await withAdminClient({ bootstrap: [deadAddress, one.address] }, (c) => c.metadata(['orders']))
    expect(meta.brokers.map((b) => b.nodeId)).toEqual([1, 2])
  })

  it('says which broker is unreachable', async () => {
    const dead = await fakeBroker(9, FULL)
    const address = dead.address
    await dead.close()
    const err = await withAdminClient({ bootstrap: [address] }, (c) => c.metadata(null)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BrokerUnreachableError)
    expect((err as BrokerUnreachableError).message).toBe(`broker unreachable at ${address}: connection refused`)
    expect((err as BrokerUnreachableError).code).toBe('ECONNREFUSED')
  })

  it('times out a request the broker never answers', async () => {
    const b = await fakeBroker(1, FULL)
    const started = Date.now()
    const err = await withAdminClient({ bootstrap: [b.address], timeoutMs: 200 }, (c) => c.metadata(['orders'])).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(BrokerConnectionError)
    expect((err as Error).message).toBe(`Metadata request to ${b.address} timed out after 200 ms`)
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('rejects pending requests when the broker drops the connection', async () => {
    const b = await fakeBroker(1, FULL)
    const client = new AdminClient({ bootstrap: [b.address] })
    await client.connect()
    const pending = client.metadata(['orders'])
    await new Promise((r) => setTimeout(r, 20))
    await b.close()
    await expect(pending).rejects.toBeInstanceOf(BrokerConnectionError)
    await client.close()
  })

  it('fails cleanly on a response that does not decode', async () => {
    const b = await fakeBroker(1, FULL)
    // Throttle time and error code, then nothing where the results array should be.
    b.handlers.set(ApiKey.DescribeLogDirs, () => Buffer.from([0, 0, 0, 0, 0, 0]))
    const err = await withAdminClient({ bootstrap: [b.address] }, (c) => c.describeLogDirs(null)).catch((e: unknown) => e)
    expect((err as Error).name).toBe('MalformedResponseError')
    expect((err as Error).message).toMatch(/^malformed DescribeLogDirs v4 response from 127\.0\.0\.1:\d+: /)
  })
})
