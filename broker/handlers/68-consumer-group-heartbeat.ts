// ConsumerGroupHeartbeat (key 68, KIP-848). A member joins with epoch 0, leaves with -1 (or -2, a
// static member that will be back), and otherwise reports its epoch and, when they changed, the
// partitions it owns; the answer carries its epoch, the heartbeat interval and, when it changed,
// its assignment. v0: the coordinator names a member that joins without a member id; v1: the
// member names itself (an empty member id is INVALID_REQUEST). Subscriptions by regular
// expression are matched with JavaScript RegExp, not RE2: broker/groups/consumer-regex.ts says
// where the two differ. The rack id is kept and described but does not steer the assignors.
// ACLs: READ on the group, DESCRIBE on each subscribed topic name.
//
// A heartbeat that changed the group is answered group.coordinator.append.linger.ms (default 5)
// after it was applied, as Kafka's coordinator answers one only once the batch of records it wrote
// for it is flushed; others are answered at once. The group's state moves immediately either way.
// librdkafka (2.15.1) depends on that pause: an unsubscribe issued within a millisecond of a
// subscription change it has not yet heard back about must reach the client before the answer to
// that change, or the client leaves the group and never rejoins (test/compat/librdkafka/FINDINGS.md, F8).
//
// Deviation from Kafka: a join (epoch 0) without a rebalance timeout is not refused with
// INVALID_REQUEST, which librdkafka 2.15.1 treats as fatal and sends itself right after its own
// leave, with no subscription or owned partitions either (FINDINGS.md, F7). A known member rejoins
// with its previous rebalance timeout and subscription, an unknown one naming a subscription joins
// with a rebalance timeout of 300000 ms (the clients' default max.poll.interval.ms), and an unknown
// one naming none is answered UNKNOWN_MEMBER_ID, so the client rejoins with a full request
// (broker/groups/consumer-kind.ts).
import { setTimeout as sleep } from 'node:timers/promises'
import { ConsumerGroupHeartbeatApi, type ConsumerGroupHeartbeatRequest, type ConsumerGroupHeartbeatResponse } from '../../protocol/generated/consumer-group-heartbeat.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler, type RequestContext } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'

export default defineHandler({
  api: ConsumerGroupHeartbeatApi,
  versions: [0, 1],
  async handle(req, ctx): Promise<ConsumerGroupHeartbeatResponse> {
    const refused = heartbeatRefusal(req, ctx)
    if (refused !== undefined) {
      return { throttleTimeMs: 0, errorCode: refused, errorMessage: null, memberId: null, memberEpoch: -1, heartbeatIntervalMs: 0, assignment: null }
    }
    const r = ctx.broker.groups.consumerGroupHeartbeat({
      groupId: req.groupId,
      memberId: req.memberId,
      memberEpoch: req.memberEpoch,
      instanceId: req.instanceId,
      rackId: req.rackId,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      subscribedTopicNames: req.subscribedTopicNames,
      subscribedTopicRegex: req.subscribedTopicRegex,
      serverAssignor: req.serverAssignor,
      topicPartitions: req.topicPartitions,
      clientId: ctx.clientId ?? '',
      // Kafka reports client hosts as Java's InetAddress.toString() does: "/127.0.0.1".
      clientHost: ctx.clientHost.startsWith('/') ? ctx.clientHost : `/${ctx.clientHost}`,
      apiVersion: ctx.apiVersion,
    })
    const lingerMs = ctx.broker.config.getInt('group.coordinator.append.linger.ms')
    if (r.changedGroup && lingerMs > 0) await sleep(lingerMs)
    return {
      throttleTimeMs: 0,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      memberId: r.memberId,
      memberEpoch: r.memberEpoch,
      heartbeatIntervalMs: r.heartbeatIntervalMs,
      assignment: r.assignment === null ? null : { topicPartitions: r.assignment },
    }
  },
})

function heartbeatRefusal(req: ConsumerGroupHeartbeatRequest, ctx: RequestContext): number | undefined {
  if (!authorize(ctx, Op.READ, Resource.GROUP, req.groupId)) return ErrorCode.GROUP_AUTHORIZATION_FAILED
  if (req.subscribedTopicNames?.some((t) => !authorize(ctx, Op.DESCRIBE, Resource.TOPIC, t))) return ErrorCode.TOPIC_AUTHORIZATION_FAILED
  return undefined
}
