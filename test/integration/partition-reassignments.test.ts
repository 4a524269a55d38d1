// AlterPartitionReassignments (45) and ListPartitionReassignments (46) on a single broker, answered
// as Kafka's controller answers when no replica can move: kafkajs's admin (which refuses to send
// either unless the broker advertises it) plus raw requests for the cases it will not send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin } from 'kafkajs'
import { ApiKey } from '../../protocol/generated/index.js'
import type { AlterPartitionReassignmentsResponse } from '../../protocol/generated/alter-partition-reassignments.js'
import type { ApiVersionsResponse } from '../../protocol/generated/api-versions.js'
import type { ListPartitionReassignmentsResponse } from '../../protocol/generated/list-partition-reassignments.js'
import { ErrorCode } from '../../protocol/errors.js'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { WireClient } from '../helpers/wire.js'

let tb: TestBroker
let admin: Admin
let wire: WireClient
let node: number

beforeAll(async () => {
  tb = await startTestBroker()
  node = tb.broker.nodeId
  admin = kafkaClient(tb.address).admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'ra', numPartitions: 2 }] })
  wire = await WireClient.connect(tb.address)
})

afterAll(async () => {
  wire?.close()
  await admin?.disconnect()
  await tb?.stop()
})

async function alter(topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; replicas: number[] | null }> }>) {
  const { body } = await wire.request<AlterPartitionReassignmentsResponse>(ApiKey.AlterPartitionReassignments, 0, { timeoutMs: 5000, topics })
  expect([body.errorCode, body.errorMessage]).toEqual([ErrorCode.NONE, null])
  return body.responses.flatMap((t) => t.partitions.map((p) => [t.name, p.partitionIndex, p.errorCode, p.errorMessage]))
}

describe('partition reassignments on a single broker', () => {
  it('advertises both APIs at v0', async () => {
    const { body } = await wire.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })
    const served = new Map(body.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]))
    expect(served.get(ApiKey.AlterPartitionReassignments)).toEqual([0, 0])
    expect(served.get(ApiKey.ListPartitionReassignments)).toEqual([0, 0])
  })

  it('lists no reassignment, for every topic and for named ones (kafkajs)', async () => {
    expect(await admin.listPartitionReassignments({})).toEqual({ topics: [] })
    expect(await admin.listPartitionReassignments({ topics: [{ topic: 'ra', partitions: [0, 1] }, { topic: 'nope', partitions: [0] }] })).toEqual({ topics: [] })
    const { body } = await wire.request<ListPartitionReassignmentsResponse>(ApiKey.ListPartitionReassignments, 0, { timeoutMs: 5000, topics: null })
    expect(body).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null, topics: [] })
  })

  it('accepts this broker as the target and refuses any other (kafkajs)', async () => {
    await admin.alterPartitionReassignments({ topics: [{ topic: 'ra', partitionAssignment: [{ partition: 0, replicas: [node] }] }] })
    const err = await admin
      .alterPartitionReassignments({ topics: [{ topic: 'ra', partitionAssignment: [{ partition: 1, replicas: [node, node + 1] }] }] })
      .then(() => undefined, (e: { errors?: Array<{ type: string; topic: string; partition: number }> }) => e)
    expect(err?.errors?.map((e) => [e.type, e.topic, e.partition])).toEqual([['INVALID_REPLICA_ASSIGNMENT', 'ra', 1]])
  })

  it('answers each partition as Kafka does', async () => {
    expect(
      await alter([
        {
          name: 'ra',
          partitions: [
            { partitionIndex: 0, replicas: [node] },
            { partitionIndex: 1, replicas: [node + 7] },
            { partitionIndex: 0, replicas: [] },
            { partitionIndex: 1, replicas: [node, node] },
            { partitionIndex: 0, replicas: null },
            { partitionIndex: 2, replicas: [node] },
          ],
        },
        { name: 'missing', partitions: [{ partitionIndex: 0, replicas: [node] }] },
      ]),
    ).toEqual([
      ['ra', 0, ErrorCode.NONE, null],
      ['ra', 1, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${node + 7}, but no such broker is registered.`],
      ['ra', 0, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.'],
      ['ra', 1, ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${node} more than once.`],
      ['ra', 0, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, 'No partition reassignment is in progress.'],
      ['ra', 2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Unable to find partition ra:2.'],
      ['missing', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'Unable to find a topic named missing.'],
    ])
  })
})
