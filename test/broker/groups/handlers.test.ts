// The group handlers' version-dependent translation, called directly with a stub broker context.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import type { RequestContext } from '../../../broker/handler.js'
import type { BrokerContext } from '../../../broker/context.js'
import findCoordinator from '../../../broker/handlers/10-find-coordinator.js'
import joinGroup from '../../../broker/handlers/11-join-group.js'
import leaveGroup from '../../../broker/handlers/13-leave-group.js'
import offsetCommit from '../../../broker/handlers/08-offset-commit.js'
import offsetFetch from '../../../broker/handlers/09-offset-fetch.js'
import listGroups from '../../../broker/handlers/16-list-groups.js'
import { plaintextSession } from '../../../broker/security/session.js'
import { Clock, newCoordinator, subscription } from './helpers.js'

function context(apiVersion: number, groups = newCoordinator(new Clock()).coordinator): RequestContext {
  // A single broker whose __consumer_offsets is loaded: it coordinates every group.
  const coordinatorTopics = { ensure: async () => {}, refusal: () => ErrorCode.NONE }
  const broker = { nodeId: 7, advertisedHost: 'broker.local', advertisedPort: 9093, groups, coordinatorTopics } as unknown as BrokerContext
  return { apiVersion, correlationId: 1, clientId: 'cli', clientHost: '10.0.0.9', principal: 'User:ANONYMOUS', listenerName: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', session: plaintextSession('10.0.0.9', 'broker.local', 9093), broker }
}

describe('group handlers', () => {
  it('FindCoordinator answers with this broker, batched from v4, share coordinator keys (type 2) from v6', async () => {
    const v3 = await findCoordinator.handle({ key: 'g', keyType: 1, coordinatorKeys: [] }, context(3))
    expect(v3).toMatchObject({ errorCode: ErrorCode.NONE, nodeId: 7, host: 'broker.local', port: 9093 })
    const v4 = await findCoordinator.handle({ key: '', keyType: 0, coordinatorKeys: ['a', 'b'] }, context(4))
    expect((v4 as { coordinators: unknown[] }).coordinators).toEqual([
      { key: 'a', nodeId: 7, host: 'broker.local', port: 9093, errorCode: ErrorCode.NONE, errorMessage: null },
      { key: 'b', nodeId: 7, host: 'broker.local', port: 9093, errorCode: ErrorCode.NONE, errorMessage: null },
    ])
    const share = await findCoordinator.handle({ key: '', keyType: 2, coordinatorKeys: ['s'] }, context(6))
    expect((share as { coordinators: Array<{ errorCode: number; nodeId: number }> }).coordinators[0]).toMatchObject({ errorCode: ErrorCode.NONE, nodeId: 7 })
    const shareV5 = await findCoordinator.handle({ key: '', keyType: 2, coordinatorKeys: ['s'] }, context(5))
    expect((shareV5 as { coordinators: Array<{ errorCode: number }> }).coordinators[0]!.errorCode).toBe(ErrorCode.INVALID_REQUEST)
  })

  it('JoinGroup asks v4+ clients for a member id, and gives pre-v7 errors an empty protocol name', async () => {
    const req = {
      groupId: 'g', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 20_000, memberId: '', groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['t']) }], reason: null,
    }
    const v4 = await joinGroup.handle(req, context(4))
    expect(v4).toMatchObject({ errorCode: ErrorCode.MEMBER_ID_REQUIRED, protocolName: '' })
    expect(v4!.memberId).toMatch(/^cli-/)
    const v7 = await joinGroup.handle({ ...req, sessionTimeoutMs: 1 }, context(7))
    expect(v7).toMatchObject({ errorCode: ErrorCode.INVALID_SESSION_TIMEOUT, protocolName: null })
  })

  it('LeaveGroup v0-2 reports the single member\'s error at the top level', async () => {
    const v1 = await leaveGroup.handle({ groupId: 'g', memberId: 'ghost', members: [] }, context(1))
    expect(v1).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID, members: [] })
  })

  it('OffsetFetch serves one group before v8 and several from v8; null topics mean all', async () => {
    const ctx = context(8)
    const commit = (groupId: string, offset: number) =>
      offsetCommit.handle(
        {
          groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
          topics: [{ name: 't', partitions: [{ partitionIndex: 1, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
        },
        ctx,
      )
    await commit('a', 11)
    await commit('b', 22)
    const v8 = await offsetFetch.handle(
      { groupId: '', topics: [], requireStable: false, groups: [
        { groupId: 'a', memberId: null, memberEpoch: -1, topics: null },
        { groupId: 'b', memberId: null, memberEpoch: -1, topics: [{ name: 't', partitionIndexes: [0, 1] }] },
      ] },
      ctx,
    )
    expect(v8!.groups.map((g) => [g.groupId, g.topics.flatMap((t) => t.partitions.map((p) => p.committedOffset))])).toEqual([
      ['a', [11]],
      ['b', [-1, 22]],
    ])
    const v1 = await offsetFetch.handle({ groupId: 'a', topics: [{ name: 't', partitionIndexes: [1] }], requireStable: false, groups: [] }, { ...ctx, apiVersion: 1 })
    expect(v1!.topics[0]!.partitions[0]!.committedOffset).toBe(11)
  })

  it('ListGroups ignores filters before v4 and applies them after', async () => {
    const ctx = context(3)
    await offsetCommit.handle(
      { groupId: 'simple', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }] },
      ctx,
    )
    expect((await listGroups.handle({ statesFilter: ['Stable'], typesFilter: [] }, ctx))!.groups).toHaveLength(1)
    expect((await listGroups.handle({ statesFilter: ['Stable'], typesFilter: [] }, { ...ctx, apiVersion: 4 }))!.groups).toHaveLength(0)
    expect((await listGroups.handle({ statesFilter: [], typesFilter: ['classic'] }, { ...ctx, apiVersion: 5 }))!.groups[0]).toEqual({
      groupId: 'simple', protocolType: '', groupState: 'Empty', groupType: 'classic',
    })
  })
})
