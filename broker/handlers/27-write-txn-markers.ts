// WriteTxnMarkers (key 27), broker to broker: a transaction coordinator asks the leader of a
// partition to write a COMMIT or ABORT marker (a control batch) there, as Kafka's coordinator does
// for every partition of a transaction it ends. The marker is appended to the leader's log at its
// current leader epoch and, in cluster mode, answered only once every in-sync replica has it (as
// Kafka appends markers with acks=all): a marker only the leader held would be lost with it, and
// the transaction's records on that partition would join the producer's next transaction. A broker
// that does not lead the partition answers NOT_LEADER_OR_FOLLOWER, an unknown partition
// UNKNOWN_TOPIC_OR_PARTITION, a marker not replicated in time NOT_ENOUGH_REPLICAS_AFTER_APPEND or
// REQUEST_TIMED_OUT, and the coordinator retries with fresh metadata.
// A __consumer_offsets partition's marker is not appended: it settles the producer's pending
// transactional offsets of the groups in that partition (coordinator-state/offset-markers.ts),
// NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS until their state is loaded here.
// v1 is flexible. ACLs: CLUSTER_ACTION on the cluster (CLUSTER_AUTHORIZATION_FAILED for every
// partition), as only brokers send it.
import { WriteTxnMarkersApi, type WriteTxnMarkersResponse } from '../../protocol/generated/write-txn-markers.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { toKafkaError } from '../errors.js'
import { MARKER_REPLICATION_TIMEOUT_MS } from '../txn/cluster-markers.js'

export default defineHandler({
  api: WriteTxnMarkersApi,
  versions: [0, 1],
  async handle(req, ctx): Promise<WriteTxnMarkersResponse> {
    const b = ctx.broker
    const allowed = authorizeCluster(ctx, Op.CLUSTER_ACTION)
    const markers = await Promise.all(
      req.markers.map(async (m) => ({
        producerId: m.producerId,
        topics: await Promise.all(
          m.topics.map(async (t) => ({
            name: t.name,
            partitions: await Promise.all(
              t.partitionIndexes.map(async (partitionIndex) => {
                if (!allowed) return { partitionIndex, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED }
                const log = b.txnMarkerTargets.partition(t.name, partitionIndex)
                if (log === undefined) return { partitionIndex, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }
                if (b.replicas !== undefined && b.replicas.leaderOf(t.name, partitionIndex) === undefined) {
                  return { partitionIndex, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }
                }
                try {
                  const marker = { producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch: m.coordinatorEpoch, commit: m.transactionResult }
                  const partitionLog = b.logs.partition(t.name, partitionIndex)
                  if (partitionLog === undefined || partitionLog !== log) {
                    await log.appendTxnMarker(marker)
                    return { partitionIndex, errorCode: ErrorCode.NONE }
                  }
                  const written = await partitionLog.appendTxnMarker(marker)
                  const errorCode = b.replicas === undefined ? ErrorCode.NONE : await b.replicas.waitForIsr(t.name, partitionIndex, partitionLog, written.lastOffset + 1, MARKER_REPLICATION_TIMEOUT_MS)
                  return { partitionIndex, errorCode }
                } catch (err) {
                  const f = toKafkaError(err)
                  if (f.code === ErrorCode.UNKNOWN_SERVER_ERROR) ctx.broker.logger.error({ err, topic: t.name, partition: partitionIndex }, 'writing a transaction marker failed')
                  return { partitionIndex, errorCode: f.code }
                }
              }),
            ),
          })),
        ),
      })),
    )
    return { markers }
  },
})
