// ListPartitionReassignments (key 46). v0 only (flexible). A single broker never moves a replica,
// so, as Kafka's controller answers when no reassignment is ongoing, the list is empty, for all
// topics (null) and for named ones alike (unknown names are skipped, not errors).
import {
  ListPartitionReassignmentsApi,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/generated/list-partition-reassignments.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: ListPartitionReassignmentsApi,
  versions: [0, 0],
  handle(): ListPartitionReassignmentsResponse {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] }
  },
})
