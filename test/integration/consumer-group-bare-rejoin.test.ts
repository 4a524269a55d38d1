// ConsumerGroupHeartbeat: a join without a rebalance timeout, subscription or owned partitions, the
// request librdkafka 2.15.1 sends right after its own leave (test/compat/librdkafka/FINDINGS.md,
// F7). Kafka refuses it with INVALID_REQUEST, fatal to librdkafka; Samsa takes it as a rejoin
// (broker/groups/consumer-kind.ts). The requests are the project's encoder over a real socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AdminClient } from '../../broker/client/admin-client.js'
import { BrokerConnection } from '../../broker/client/connection.js'
import { ConsumerGroupHeartbeatApi, type ConsumerGroupHeartbeatRequest } from '../../protocol/generated/consumer-group-heartbeat.js'
import { ErrorCode } from '../../protocol/errors.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'

const TOPIC = 'bare-rejoin'
let broker: TestBroker
let conn: BrokerConnection
let member1Epoch = 0
let topicId = ''

beforeAll(async () => {
  broker = await startTestBroker()
  const admin = new AdminClient({ bootstrap: [broker.address] })
  await admin.createTopics([{ name: TOPIC, numPartitions: 3 }])
  await admin.close()
  conn = await BrokerConnection.connect(broker.address, { clientId: 'rdkafka', connectTimeoutMs: 3000, requestTimeoutMs: 5000 })
})

afterAll(async () => {
  conn?.close()
  await broker?.stop()
})

function heartbeat(fields: Partial<ConsumerGroupHeartbeatRequest>) {
  return conn.request(ConsumerGroupHeartbeatApi, 1, {
    groupId: 'bare-rejoin-g',
    memberId: 'member-1',
    memberEpoch: 0,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    subscribedTopicNames: null,
    subscribedTopicRegex: null,
    serverAssignor: null,
    topicPartitions: null,
    ...fields,
  })
}

/** What librdkafka sends after its leave: member id and epoch 0, every other field null or -1. */
const bareRejoin = (memberId = 'member-1') => heartbeat({ memberId })
const fullJoin = (memberId = 'member-1') => heartbeat({ memberId, rebalanceTimeoutMs: 60_000, subscribedTopicNames: [TOPIC], topicPartitions: [] })
const partitionsOf = (r: { assignment: { topicPartitions: { partitions: number[] }[] } | null }) =>
  (r.assignment?.topicPartitions ?? []).flatMap((t) => t.partitions).sort()

describe('ConsumerGroupHeartbeat: a join without rebalance timeout or subscription', () => {
  it('rejoins a member the group knows, with its subscription, and assigns it its partitions', async () => {
    const joined = await fullJoin()
    expect(joined.errorCode).toBe(ErrorCode.NONE)
    expect(partitionsOf(joined)).toEqual([0, 1, 2])

    const again = await bareRejoin()
    expect(again.errorCode, again.errorMessage ?? '').toBe(ErrorCode.NONE)
    expect(again.memberId).toBe('member-1')
    expect(again.memberEpoch).toBeGreaterThan(0)
    expect(partitionsOf(again)).toEqual([0, 1, 2])
  })

  it('answers UNKNOWN_MEMBER_ID, not INVALID_REQUEST, after the member left, and the full rejoin that follows is assigned', async () => {
    const left = await heartbeat({ memberEpoch: -1 })
    expect(left.errorCode).toBe(ErrorCode.NONE)

    const bare = await bareRejoin()
    expect(bare.errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)

    const rejoined = await fullJoin()
    expect(rejoined.errorCode).toBe(ErrorCode.NONE)
    expect(partitionsOf(rejoined)).toEqual([0, 1, 2])
    member1Epoch = rejoined.memberEpoch
    topicId = rejoined.assignment!.topicPartitions[0]!.topicId
  })

  it('lets an unknown member that names its subscription join without a rebalance timeout', async () => {
    const second = await heartbeat({ memberId: 'member-2', subscribedTopicNames: [TOPIC] })
    expect(second.errorCode, second.errorMessage ?? '').toBe(ErrorCode.NONE)
    expect(second.memberEpoch).toBeGreaterThan(0)
    // member-1 (which owns all three) is told to give some up, reports that it did, and member-2
    // is then assigned them.
    const owns = (partitions: number[]) => [{ topicId, partitions }]
    const revoke = await heartbeat({ memberEpoch: member1Epoch, topicPartitions: owns([0, 1, 2]) })
    expect(revoke.errorCode).toBe(ErrorCode.NONE)
    const kept = partitionsOf(revoke)
    expect(kept.length).toBeLessThan(3)
    const done = await heartbeat({ memberEpoch: member1Epoch, topicPartitions: owns(kept) })
    expect(done.errorCode).toBe(ErrorCode.NONE)
    const two = await heartbeat({ memberId: 'member-2', memberEpoch: second.memberEpoch, topicPartitions: [] })
    expect(two.errorCode).toBe(ErrorCode.NONE)
    expect([...kept, ...partitionsOf(two)].sort()).toEqual([0, 1, 2])
  })
})
