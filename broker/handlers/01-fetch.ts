// Fetch (key 1). v3 adds a response byte limit; v4 isolation level and aborted transactions; v5 log
// start offset; v7 incremental fetch sessions (KIP-227); v11 rack id; v12 flexible; v13 topic ids
// instead of names; v15 replica state (followers only); v16 NodeEndpoints (KIP-951). Cluster mode:
// the leader serves a partition (NOT_LEADER_OR_FOLLOWER elsewhere; FENCED_LEADER_EPOCH and
// UNKNOWN_LEADER_EPOCH for a stale or unknown currentLeaderEpoch; the first two name the current
// leader, and the response its endpoint, broker/leader-hints.ts); consumers read up to the high
// watermark, followers (replica id set) up to the log end, and their fetch offsets tell the leader
// what they have (broker/replication/). Fetching from the closest replica (KIP-392): a consumer's
// fetch of v11 or later is served by a follower too, up to the high watermark it learned from its
// leader; with a replica.selector.class the leader answers a partition with preferredReadReplica
// and no records when the selector picks another replica for the consumer's rack (rack id).
// Long polling: a fetch with less than minBytes available parks until an append (or a high
// watermark move) or maxWaitMs. Whole batches are returned; a fetch offset inside a batch returns
// that batch. read_committed (isolation level 1) stops at the last stable offset and lists the
// aborted transactions overlapping the returned batches, from the segments' transaction indexes;
// clients drop those records and skip control batches themselves.
// Replication throttles (KIP-73): a follower outside the ISR gets no records, only offsets, for a
// partition throttled on this leader while leader.replication.throttled.rate is exceeded; what is
// sent for throttled partitions counts against it (broker/replication/replica-manager.ts).
// ACLs: partitions of topics the caller may not READ answer TOPIC_AUTHORIZATION_FAILED; a follower's
// fetch needs CLUSTER_ACTION on the cluster (every partition TOPIC_AUTHORIZATION_FAILED without).
import { FetchApi, type FetchResponse } from '../../protocol/generated/fetch.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler, LeasedResponse, type RequestContext } from '../handler.js'
import { authorize, authorizeCluster, Op, Resource } from '../acls/authorize.js'
import { planFetch, sessionResponses, type FetchWork } from '../fetch-plan.js'
import { FOLLOWER_READ, readableEnd, readPartitions, type FetchedPartition, type FetchRound } from '../fetch-reads.js'
import type { ReplicaManager } from '../replication/replica-manager.js'
import type { BrokerMetrics } from '../metrics.js'
import type { PartitionLog } from '../../storage/partition-log.js'
import { fetchNamesLeader, LeaderHints } from '../leader-hints.js'

export default defineHandler({
  api: FetchApi,
  versions: [4, 17],
  largeResponse: true,
  async handle(req, ctx): Promise<FetchResponse | LeasedResponse<FetchResponse>> {
    const b = ctx.broker
    const v = ctx.apiVersion
    const useIds = v >= 13
    const plan = planFetch(b, req, v)
    if ('error' in plan) return topLevelError(plan.error)
    const { work, session, incremental } = plan
    const replicaId = v >= 15 ? req.replicaState.replicaId : req.replicaId
    if (b.authorizer !== undefined) refuseUnreadable(ctx, work, replicaId >= 0)
    const fromFollower = b.replicas !== undefined && replicaId >= 0
    const hints = new LeaderHints(b, ctx.listenerName)
    if (b.replicas !== undefined) refuseUnled(b.replicas, hints, work, fromFollower ? replicaId : -1, v >= 11 ? req.rackId : undefined)
    const isolation = fromFollower ? FOLLOWER_READ : req.isolationLevel
    const deadline = Date.now() + Math.max(0, req.maxWaitMs)
    // Kafka caps the response at the broker's fetch.max.bytes whatever the client asks (KIP-541).
    const maxBytes = Math.min(req.maxBytes, b.config.getInt('fetch.max.bytes'))
    // Built on the first wait only: most fetches of a busy consumer never wait.
    let logs: PartitionLog[] | undefined
    const parked = () => (logs ??= work.filter((w) => w.log !== undefined).map((w) => w.log!))
    let round: FetchRound
    for (;;) {
      // A caught-up consumer parks without building a response it would throw away. Once the
      // broker shuts down nothing parks: every fetch answers with what it has.
      if (req.minBytes > 0 && deadline > Date.now() && !b.fetchWaiters.closed && nothingNew(work, isolation)) {
        await b.fetchWaiters.wait(parked(), deadline - Date.now())
        continue
      }
      round = await readPartitions(work, isolation, maxBytes, b.fetchMemory, b.sendfile && ctx.session.sendfile)
      const remaining = deadline - Date.now()
      if (round.bytes >= req.minBytes || round.errors > 0 || remaining <= 0 || b.fetchWaiters.closed) break
      round.lease.release()
      await b.fetchWaiters.wait(parked(), remaining)
    }

    let responses: FetchResponse['responses']
    try {
      responses = sessionResponses(round.partitions, incremental, useIds)
    } catch (err) {
      round.lease.release()
      throw err
    }
    // Consumers' bytes only: replication is not client traffic (Kafka counts it apart).
    if (b.metrics.enabled && !fromFollower) countBytesOut(b.metrics, round.partitions)
    if (fromFollower) countThrottledBytes(b.replicas!, round.partitions)
    if (session) session.nextEpoch = req.sessionEpoch <= 0 ? 1 : session.nextEpoch + 1
    const response: FetchResponse = { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses, nodeEndpoints: hints.endpoints }
    // The records are views of pooled read buffers, released once the socket has the response.
    return round.lease.isEmpty ? response : new LeasedResponse(response, [round.lease])
  },
})

/** Record bytes per topic (a fetch's partitions come grouped by topic). */
function countBytesOut(metrics: BrokerMetrics, partitions: readonly FetchedPartition[]): void {
  let topic = ''
  let bytes = 0
  for (const { w, response } of partitions) {
    const n = response.records?.length ?? 0
    if (n === 0) continue
    if (w.sp.topic !== topic) {
      if (bytes > 0) metrics.bytesOut(topic, bytes)
      topic = w.sp.topic
      bytes = 0
    }
    bytes += n
  }
  if (bytes > 0) metrics.bytesOut(topic, bytes)
}

/** Record bytes sent to a follower for partitions throttled on this leader count against its quota. */
function countThrottledBytes(replicas: ReplicaManager, partitions: readonly FetchedPartition[]): void {
  let bytes = 0
  for (const { w, response } of partitions) {
    const n = response.records?.length ?? 0
    if (n > 0 && replicas.leaderThrottles(w.sp.topic, w.sp.partition)) bytes += n
  }
  replicas.leaderQuota.record(bytes)
}

/**
 * Partitions of topics the caller may not READ answer TOPIC_AUTHORIZATION_FAILED, unread. A
 * follower's fetch (replica id set) needs CLUSTER_ACTION on the cluster instead, and without it
 * every partition answers TOPIC_AUTHORIZATION_FAILED, as Kafka does.
 */
function refuseUnreadable(ctx: RequestContext, work: readonly FetchWork[], fromFollower: boolean): void {
  const followerAllowed = fromFollower ? authorizeCluster(ctx, Op.CLUSTER_ACTION) : undefined
  if (followerAllowed === true) return
  let topic: string | undefined
  let readable = false
  for (const w of work) {
    if (w.sp.topic === '') continue // an unknown topic id stays UNKNOWN_TOPIC_ID
    if (followerAllowed === undefined && w.sp.topic !== topic) readable = authorize(ctx, Op.READ, Resource.TOPIC, (topic = w.sp.topic))
    if (readable) continue
    w.log = undefined
    w.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
  }
}

/**
 * Cluster mode: partitions this broker may not serve answer NOT_LEADER_OR_FOLLOWER,
 * FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH with the leader it knows. Followers fetch from the
 * leader only, and their fetch offset is their log end offset, which the leader records; a consumer
 * with a rack id field (`clientRack` defined: v11+) may read from any replica, and the leader may
 * send it to another (KIP-392); older consumers read from the leader only.
 */
function refuseUnled(replicas: ReplicaManager, hints: LeaderHints, work: readonly FetchWork[], followerId: number, clientRack: string | undefined): void {
  for (const w of work) {
    if (!w.log) continue
    const { topic, partition, fetchOffset } = w.sp
    const code =
      followerId >= 0
        ? replicas.followerFetch(topic, partition, followerId, w.currentLeaderEpoch, fetchOffset, w.logStartOffset)
        : clientRack !== undefined
          ? replicas.checkReplica(topic, partition, w.currentLeaderEpoch)
          : replicas.checkLeader(topic, partition, w.currentLeaderEpoch)
    if (code === ErrorCode.NONE) {
      if (followerId >= 0 && replicas.holdBackFromFollower(topic, partition, followerId)) w.throttled = true
      if (followerId < 0 && clientRack !== undefined) {
        const preferred = replicas.preferredReadReplica(topic, partition, clientRack, fetchOffset)
        if (preferred >= 0) w.preferredReadReplica = preferred
      }
      continue
    }
    w.log = undefined
    w.errorCode = code
    if (fetchNamesLeader(code)) w.currentLeader = hints.leaderOf(topic, partition)
  }
}

/** True when no partition has records past its fetch offset, an error, or an offset out of range. */
function nothingNew(work: readonly FetchWork[], isolation: number): boolean {
  for (const w of work) {
    const log = w.log
    if (!log || log.offline || w.currentLeaderEpoch > log.leaderEpoch || w.preferredReadReplica !== undefined) return false
    if (w.throttled === true) continue
    if (w.sp.fetchOffset !== readableEnd(log, isolation)) return false
  }
  return true
}

function topLevelError(errorCode: number): FetchResponse {
  return { throttleTimeMs: 0, errorCode, sessionId: 0, responses: [], nodeEndpoints: [] }
}
