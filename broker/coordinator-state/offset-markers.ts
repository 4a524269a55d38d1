// Transaction markers for __consumer_offsets partitions. A transaction that commits a group's
// offsets (AddOffsetsToTxn) has the group's __consumer_offsets partition among its partitions, as
// in Kafka, and ending it sends that partition a marker like any other: to its leader, which is the
// group's coordinator. There the marker is not appended to the log; it settles the producer's
// pending transactional offsets of every group in the partition (committed on COMMIT, dropped on
// ABORT), which the coordinator's store records durably. A partition this broker does not serve (yet)
// refuses with NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS, and the transaction coordinator
// retries until the partition's leader has it loaded.
import { ErrorCode } from '../../protocol/errors.js'
import { KafkaError } from '../errors.js'
import type { MarkerTarget } from '../txn/txn-model.js'
import type { GroupStateStore } from './group-state.js'
import { OFFSETS_TOPIC } from './state-topics.js'

/** The group coordinator's side: settles one producer's pending offsets in these groups. */
export interface TxnOffsetSettler {
  completeTransactionalOffsetsOf(groupIds: readonly string[], producerId: number, commit: boolean): Promise<void>
}

/**
 * Where markers go on this broker: the partitions' logs, except __consumer_offsets partitions,
 * whose markers settle group offsets. Used by the transaction coordinator for the partitions led
 * here and by WriteTxnMarkers for those other coordinators send.
 */
export function txnMarkerTargets(logs: MarkerTarget, store: GroupStateStore, groups: TxnOffsetSettler): MarkerTarget {
  return {
    partition(topic, index) {
      const log = logs.partition(topic, index)
      if (topic !== OFFSETS_TOPIC || log === undefined) return log
      return { appendTxnMarker: (m) => completeOffsetsInPartition(store, groups, index, m.producerId, m.commit) }
    },
  }
}

/** Settles producer `producerId`'s pending offsets of the groups in __consumer_offsets partition `partition`. */
export async function completeOffsetsInPartition(store: GroupStateStore, groups: TxnOffsetSettler, partition: number, producerId: number, commit: boolean): Promise<void> {
  const refused = store.topic.refusal(partition)
  if (refused !== ErrorCode.NONE) throw new KafkaError(refused, `${OFFSETS_TOPIC}-${partition} is not served by this broker`)
  const pid = String(producerId)
  const groupIds = store.listOffsetGroups().filter((g) => store.topic.partitionFor(g) === partition && store.pendingOffsets(g)?.[pid] !== undefined)
  await groups.completeTransactionalOffsetsOf(groupIds, producerId, commit)
}
