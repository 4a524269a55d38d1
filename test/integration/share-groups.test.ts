// Share groups (KIP-932) over real sockets against an in-process broker: ShareGroupHeartbeat and
// ShareGroupDescribe, and share groups in ListGroups (type "share") and DeleteGroups, with the
// request framing the project's client uses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ApiKey } from '../../protocol/generated/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { ShareGroupHeartbeatResponse } from '../../protocol/generated/share-group-heartbeat.js'
import type { ShareGroupDescribeResponse } from '../../protocol/generated/share-group-describe.js'
import type { ListGroupsResponse } from '../../protocol/generated/list-groups.js'
import type { DeleteGroupsResponse } from '../../protocol/generated/delete-groups.js'
import type { ApiVersionsResponse } from '../../protocol/generated/api-versions.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { createTopics, WireClient } from '../helpers/wire.js'
import { waitFor } from '../helpers/wait.js'

let tb: TestBroker
let c: WireClient
let topicId: string

beforeAll(async () => {
  tb = await startTestBroker()
  c = await WireClient.connect(tb.address)
  topicId = (await createTopics(c, [{ name: 'share-membership', partitions: 3 }])).get('share-membership')!
})

afterAll(async () => {
  c?.close()
  await tb?.stop()
})

function heartbeat(groupId: string, memberId: string, memberEpoch: number, subscribedTopicNames: string[] | null = null) {
  return c.request<ShareGroupHeartbeatResponse>(ApiKey.ShareGroupHeartbeat, 1, { groupId, memberId, memberEpoch, rackId: null, subscribedTopicNames })
}

describe('share group membership over the wire', () => {
  it('advertises ShareGroupHeartbeat and ShareGroupDescribe v1', async () => {
    const { body } = await c.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
    for (const key of [ApiKey.ShareGroupHeartbeat, ApiKey.ShareGroupDescribe]) {
      expect(body.apiKeys.find((k) => k.apiKey === key)).toMatchObject({ minVersion: 1, maxVersion: 1 })
    }
  })

  it('joins, describes, lists by type, and deletes once empty', async () => {
    // As in Kafka, a share partition is assigned once its state is initialized: the first answer
    // has none, and the next heartbeat (at the epoch the initialization moved to) has all three.
    const joined = (await heartbeat('sg-wire', 'member-a', 0, ['share-membership'])).body
    expect(joined).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'member-a', memberEpoch: 1 })
    expect(joined.assignment!.topicPartitions).toEqual([])
    const assigned = await waitFor(async () => {
      const r = (await heartbeat('sg-wire', 'member-a', 1)).body
      return r.memberEpoch === 2 ? r : undefined
    }, { what: 'the initialized share partitions to be assigned' })
    expect(assigned.assignment!.topicPartitions).toEqual([{ topicId, partitions: [0, 1, 2] }])

    const described = (await c.request<ShareGroupDescribeResponse>(ApiKey.ShareGroupDescribe, 1, { groupIds: ['sg-wire', 'nope'], includeAuthorizedOperations: false })).body
    expect(described.groups[0]).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Stable', groupEpoch: 2, assignorName: 'simple' })
    expect(described.groups[0]!.members[0]).toMatchObject({
      memberId: 'member-a',
      memberEpoch: 2,
      subscribedTopicNames: ['share-membership'],
      assignment: { topicPartitions: [{ topicId, topicName: 'share-membership', partitions: [0, 1, 2] }] },
    })
    expect(described.groups[1]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)

    const listed = (await c.request<ListGroupsResponse>(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] })).body
    expect(listed.groups).toEqual([{ groupId: 'sg-wire', protocolType: 'share', groupState: 'Stable', groupType: 'share' }])

    const busy = (await c.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, 2, { groupsNames: ['sg-wire'] })).body
    expect(busy.results).toEqual([{ groupId: 'sg-wire', errorCode: ErrorCode.NON_EMPTY_GROUP }])
    expect((await heartbeat('sg-wire', 'member-a', -1)).body).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: -1 })
    const deleted = (await c.request<DeleteGroupsResponse>(ApiKey.DeleteGroups, 2, { groupsNames: ['sg-wire'] })).body
    expect(deleted.results).toEqual([{ groupId: 'sg-wire', errorCode: ErrorCode.NONE }])
    expect((await c.request<ListGroupsResponse>(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['share'] })).body.groups).toEqual([])
  })
})
