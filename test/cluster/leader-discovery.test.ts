// Leader discovery in error answers (KIP-951) on three brokers and a real etcd: after the leader of
// a partition is killed with SIGKILL and another takes over, a Produce v11 sent to a broker that does
// not lead answers NOT_LEADER_OR_FOLLOWER naming the new leader and its epoch, with the new
// leader's address in NodeEndpoints; Fetch v17 does the same for FENCED_LEADER_EPOCH (a consumer
// still on the old epoch), at the leader and at a follower (which serves a consumer on the current
// epoch, KIP-392). The requests go over real sockets with the project's own client, whose decoders
// read the tagged fields.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ErrorCode } from '../../protocol/errors.js'
import { FetchApi, type FetchResponse } from '../../protocol/generated/fetch.js'
import { MetadataApi } from '../../protocol/generated/metadata.js'
import { ProduceApi } from '../../protocol/generated/produce.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import kafkajs from 'kafkajs'
import { etcdMissing, TestCluster, withAdmin } from './harness.js'
import { waitFor } from '../helpers/wait.js'

const { Kafka, logLevel } = kafkajs
const TOPIC = 'hints'
const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

async function connect(address: string): Promise<BrokerConnection> {
  return BrokerConnection.connect(address, { clientId: 'leader-discovery-test', connectTimeoutMs: 5000, requestTimeoutMs: 15_000 })
}

/** Partition 0's leader and leader epoch as `address` tells them (Metadata v12). */
async function leaderOf(address: string): Promise<{ leader: number; epoch: number; isr: number[] }> {
  const conn = await connect(address)
  try {
    const md = await conn.request(MetadataApi, 12, {
      topics: [{ topicId: ZERO_UUID, name: TOPIC }],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    })
    const p = md.topics[0]!.partitions.find((x) => x.partitionIndex === 0)
    return p === undefined ? { leader: -1, epoch: -1, isr: [] } : { leader: p.leaderId, epoch: p.leaderEpoch, isr: p.isrNodes }
  } finally {
    conn.close()
  }
}

async function fetch17(address: string, currentLeaderEpoch: number): Promise<FetchResponse> {
  const conn = await connect(address)
  try {
    return await conn.request(FetchApi, 17, {
      clusterId: null, replicaId: -1, replicaState: { replicaId: -1, replicaEpoch: -1 }, maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20,
      isolationLevel: 0, sessionId: 0, sessionEpoch: -1, forgottenTopicsData: [], rackId: '',
      topics: [{ topic: TOPIC, topicId: await topicId(address), partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0, lastFetchedEpoch: -1, logStartOffset: -1, partitionMaxBytes: 1 << 20, replicaDirectoryId: ZERO_UUID }] }],
    })
  } finally {
    conn.close()
  }
}

async function topicId(address: string): Promise<string> {
  const conn = await connect(address)
  try {
    const md = await conn.request(MetadataApi, 12, { topics: [{ topicId: ZERO_UUID, name: TOPIC }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false })
    return md.topics[0]!.topicId
  } finally {
    conn.close()
  }
}

function endpointOf(cluster: TestCluster, nodeId: number): { nodeId: number; host: string; port: number; rack: null } {
  const [host, port] = cluster.address(nodeId).split(':')
  return { nodeId, host: host!, port: Number(port), rack: null }
}

describe.skipIf(etcdMissing !== undefined)('leader discovery in Produce and Fetch errors (KIP-951; three brokers, etcd)', () => {
  let cluster: TestCluster
  beforeAll(async () => {
    cluster = await TestCluster.start(3)
    await withAdmin(new Kafka({ clientId: 'leader-discovery-test', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING }), (a) =>
      a.createTopics({ topics: [{ topic: TOPIC, numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true }),
    )
  }, 60_000)
  afterAll(async () => {
    await cluster?.stop()
  })

  it('names the new leader and its endpoint after the old one is killed', async () => {
    const before = await waitFor(async () => {
      const p = await leaderOf(cluster.address(1))
      return p.leader >= 0 && p.isr.length === 3 ? p : undefined
    }, { timeoutMs: 15_000, what: 'a leader and a full ISR' })

    await cluster.kill(before.leader)
    const alive = cluster.brokers.filter((b) => b.child !== undefined).map((b) => b.nodeId)
    const after = await waitFor(async () => {
      const views = await Promise.all(alive.map((id) => leaderOf(cluster.address(id))))
      const p = views[0]!
      return p.leader >= 0 && p.leader !== before.leader && views.every((v) => v.leader === p.leader && v.epoch === p.epoch) ? p : undefined
    }, { timeoutMs: 20_000, what: 'a new leader every live broker agrees on' })
    expect(after.epoch).toBeGreaterThan(before.epoch)
    const leader = after.leader
    const other = alive.find((id) => id !== leader)!
    const expected = { currentLeader: { leaderId: leader, leaderEpoch: after.epoch }, nodeEndpoints: [endpointOf(cluster, leader)] }

    // Produce v11 to a broker that does not lead.
    const conn = await connect(cluster.address(other))
    try {
      const records = encodeBatch([{ key: null, value: 'x', headers: [], timestamp: Date.now() }])
      const produced = await conn.request(ProduceApi, 11, { transactionalId: null, acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: 0, records }] }] })
      const p = produced.responses[0]!.partitionResponses[0]!
      expect(p.errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER)
      expect({ currentLeader: p.currentLeader, nodeEndpoints: produced.nodeEndpoints }).toEqual(expected)
    } finally {
      conn.close()
    }

    // Fetch v17 on the old epoch to a follower, and to the leader.
    const atFollower = await fetch17(cluster.address(other), before.epoch)
    const fp = atFollower.responses[0]!.partitions[0]!
    expect(fp.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH)
    expect({ currentLeader: fp.currentLeader, nodeEndpoints: atFollower.nodeEndpoints }).toEqual(expected)

    const fenced = await fetch17(cluster.address(leader), before.epoch)
    const fe = fenced.responses[0]!.partitions[0]!
    expect(fe.errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH)
    expect({ currentLeader: fe.currentLeader, nodeEndpoints: fenced.nodeEndpoints }).toEqual(expected)

    // A fetch the leader serves names nobody.
    const served = await fetch17(cluster.address(leader), after.epoch)
    expect(served.responses[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(served.nodeEndpoints).toEqual([])
  }, 60_000)
})
