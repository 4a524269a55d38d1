// Share groups (KIP-932) in the coordinator, driven by a hand-moved clock: joining, epochs and
// fencing, the simple assignor's balance, leaving and session expiry, ListGroups and DeleteGroups.
import { describe, expect, it } from 'vitest'
import { ErrorCode } from '../../../protocol/errors.js'
import { GroupCoordinator } from '../../../broker/groups/coordinator.js'
import type { ShareHeartbeatParams, TopicCatalog } from '../../../broker/groups/types.js'
import { Clock, MemoryOffsetStore } from './helpers.js'

const topics: Record<string, { id: string; partitions: number }> = {
  orders: { id: 'aaaaaaaa-0000-0000-0000-000000000001', partitions: 4 },
  audit: { id: 'aaaaaaaa-0000-0000-0000-000000000002', partitions: 1 },
}
const catalog: TopicCatalog = {
  partitionCount: (t) => topics[t]?.partitions,
  topicId: (t) => topics[t]?.id,
}

function setup(config = {}): { clock: Clock; coordinator: GroupCoordinator; removed: string[] } {
  const clock = new Clock()
  const coordinator = new GroupCoordinator({ store: new MemoryOffsetStore(), logs: catalog, config, now: clock.now, autoTick: false })
  const removed: string[] = []
  coordinator.setShareGroupListener({ memberExpired: (_g, m) => void removed.push(m), groupDeleted: async () => {} })
  return { clock, coordinator, removed }
}

function hb(memberId: string, memberEpoch: number, subscribedTopicNames: string[] | null = null, groupId = 'sg'): ShareHeartbeatParams {
  return { groupId, memberId, memberEpoch, rackId: null, subscribedTopicNames, clientId: 'c', clientHost: '/127.0.0.1' }
}

function partitionsOf(r: { assignment: Array<{ topicId: string; partitions: number[] }> | null }): number {
  return (r.assignment ?? []).reduce((n, t) => n + t.partitions.length, 0)
}

describe('share group kind', () => {
  it('a member joins at epoch 0 and gets every partition of its topic at epoch 1', () => {
    const { coordinator } = setup()
    const r = coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders']))
    expect(r).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'm1', memberEpoch: 1, heartbeatIntervalMs: 5000 })
    expect(r.assignment).toEqual([{ topicId: topics.orders!.id, partitions: [0, 1, 2, 3] }])
    // Unchanged: no assignment in the answer.
    expect(coordinator.shareGroupHeartbeat(hb('m1', 1))).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 1, assignment: null })
    expect(coordinator.listGroups([], ['share'])).toEqual([{ groupId: 'sg', protocolType: 'share', groupState: 'Stable', groupType: 'share' }])
    expect(coordinator.listGroups([], ['consumer'])).toEqual([])
  })

  it('refuses invalid heartbeats as Kafka does', () => {
    const { coordinator } = setup()
    expect(coordinator.shareGroupHeartbeat(hb('', 0, ['orders'])).errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect(coordinator.shareGroupHeartbeat(hb('m', 0, [])).errorMessage).toBe('SubscribedTopicNames must be set in first request.')
    expect(coordinator.shareGroupHeartbeat(hb('m', -2)).errorCode).toBe(ErrorCode.INVALID_REQUEST)
    expect(coordinator.shareGroupHeartbeat(hb('m', 3)).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
    coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders']))
    expect(coordinator.shareGroupHeartbeat(hb('stranger', 1)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
    expect(coordinator.shareGroupHeartbeat(hb('m1', 7)).errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH)
  })

  it('balances partitions between members, shares them when members outnumber partitions, and fences stale epochs', () => {
    const { coordinator } = setup()
    coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders']))
    const second = coordinator.shareGroupHeartbeat(hb('m2', 0, ['orders']))
    expect(second.memberEpoch).toBe(2)
    expect(partitionsOf(second)).toBe(2)
    // m1 is still at epoch 1; its next heartbeat moves it to 2 with the other half.
    const first = coordinator.shareGroupHeartbeat(hb('m1', 1))
    expect(first.memberEpoch).toBe(2)
    expect(partitionsOf(first)).toBe(2)
    const all = new Set([...first.assignment!, ...second.assignment!].flatMap((t) => t.partitions))
    expect(all).toEqual(new Set([0, 1, 2, 3]))
    // Its previous epoch is still accepted (the answer may have been lost); an older one is fenced.
    expect(coordinator.shareGroupHeartbeat(hb('m1', 1)).errorCode).toBe(ErrorCode.NONE)
    for (const m of ['m3', 'm4', 'm5', 'm6']) coordinator.shareGroupHeartbeat(hb(m, 0, ['audit']))
    const d = coordinator.shareGroupDescribe(['sg'])[0]!
    expect(d.assignorName).toBe('simple')
    const audit = d.members.filter((m) => m.subscribedTopicNames.includes('audit'))
    expect(audit.every((m) => m.assignment.length === 1 && m.assignment[0]!.topicName === 'audit')).toBe(true)
    expect(coordinator.shareGroupHeartbeat(hb('m1', 0)).errorCode).toBe(ErrorCode.INVALID_REQUEST)
  })

  it('a member that leaves or goes silent is removed and the others take its partitions; an expired one is reported', () => {
    const { clock, coordinator, removed } = setup({ shareSessionTimeoutMs: 1000 })
    coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders']))
    coordinator.shareGroupHeartbeat(hb('m2', 0, ['orders']))
    expect(partitionsOf(coordinator.shareGroupHeartbeat(hb('m1', 1)))).toBe(2)
    expect(coordinator.shareGroupHeartbeat(hb('m2', -1))).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: -1 })
    expect(removed).toEqual([])
    const r = coordinator.shareGroupHeartbeat(hb('m1', 2))
    expect(r.memberEpoch).toBe(3)
    expect(partitionsOf(r)).toBe(4)
    clock.advance(1001)
    coordinator.tick()
    expect(removed).toEqual(['m1'])
    expect(coordinator.listGroups()).toEqual([{ groupId: 'sg', protocolType: 'share', groupState: 'Empty', groupType: 'share' }])
    expect(coordinator.shareGroupHeartbeat(hb('m1', 3)).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID)
  })

  it('DeleteGroups refuses a share group with members and deletes an empty one with its state', async () => {
    const { coordinator } = setup()
    const deleted: string[] = []
    coordinator.setShareGroupListener({ memberExpired: () => {}, groupDeleted: async (g) => void deleted.push(g) })
    coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders']))
    expect(await coordinator.deleteGroups(['sg'])).toEqual([{ groupId: 'sg', errorCode: ErrorCode.NON_EMPTY_GROUP }])
    coordinator.shareGroupHeartbeat(hb('m1', -1))
    expect(await coordinator.deleteGroups(['sg'])).toEqual([{ groupId: 'sg', errorCode: ErrorCode.NONE }])
    expect(deleted).toEqual(['sg'])
    expect(coordinator.shareGroupDescribe(['sg'])[0]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
  })

  it('a group id of another kind is not a share group, and a share group takes no offset commits', async () => {
    const { coordinator } = setup()
    coordinator.consumerGroupHeartbeat({
      groupId: 'cg', memberId: 'x', memberEpoch: 0, instanceId: null, rackId: null, rebalanceTimeoutMs: 1000,
      subscribedTopicNames: ['orders'], subscribedTopicRegex: null, serverAssignor: null, topicPartitions: [], clientId: 'c', clientHost: 'h', apiVersion: 1,
    })
    expect(coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders'], 'cg'))).toMatchObject({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: 'Group cg is not a share group.' })
    coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders']))
    const commit = await coordinator.commitOffsets({
      groupId: 'sg', generationId: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1, reportUnknownGroup: true,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, committedOffset: 1, committedLeaderEpoch: -1, committedMetadata: null }] }],
    })
    expect(commit[0]!.partitions[0]!.errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
  })

  it('assigns a share partition only once its state is initialized, with a new group epoch', async () => {
    const { coordinator } = setup()
    const initialized = new Set<string>()
    let finish: () => void = () => {}
    const asked: string[] = []
    coordinator.setShareGroupListener({
      memberExpired: () => {},
      groupDeleted: async () => {},
      isInitialized: (_g, t, p) => initialized.has(`${t}:${p}`),
      initialize: (_g, parts) => {
        asked.push(...parts.map((p) => `${p.topicId}:${p.partition}`))
        return new Promise<void>((resolve) => (finish = () => {
          for (const p of parts) initialized.add(`${p.topicId}:${p.partition}`)
          resolve()
        }))
      },
    })
    const first = coordinator.shareGroupHeartbeat(hb('m1', 0, ['orders']))
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 1, assignment: [] })
    expect(asked).toHaveLength(4)
    // While the state is being stored, heartbeats neither assign nor ask again.
    expect(coordinator.shareGroupHeartbeat(hb('m1', 1)).assignment).toBeNull()
    expect(asked).toHaveLength(4)
    finish()
    await new Promise((r) => setImmediate(r))
    const next = coordinator.shareGroupHeartbeat(hb('m1', 1))
    expect(next.memberEpoch).toBe(2)
    expect(partitionsOf(next)).toBe(4)
  })
})
