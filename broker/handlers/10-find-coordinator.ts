// FindCoordinator (key 10). v1 adds the key type (0 group, 1 transaction) and an error message;
// v3 is flexible; v4 batches keys into `coordinatorKeys` and answers a list of coordinators; v6
// adds key type 2 (KIP-932's share coordinator, keyed "group:topicId:partition"). A group's
// coordinator is the leader of the group's __consumer_offsets partition (Kafka's partitionFor): this
// broker on a single broker, which creates the topic on the first request; in cluster mode whichever
// broker leads it, COORDINATOR_NOT_AVAILABLE while it has no leader or the topic is being created. A
// transactional id's coordinator is, the same way, the leader of its __transaction_state partition,
// and a share partition's the leader of the key's __share_group_state partition.
// ACLs: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
import {
  FindCoordinatorApi,
  type FindCoordinatorResponse,
  type FindCoordinatorResponseCoordinator,
} from '../../protocol/generated/find-coordinator.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { OFFSETS_TOPIC } from '../coordinator-state/state-topics.js'
import { SHARE_STATE_TOPIC } from '../coordinator-state/share-state.js'
import { TRANSACTION_STATE_TOPIC } from '../coordinator-state/txn-state.js'
import { authorize, authorizeCluster, Op, Resource } from '../acls/authorize.js'

const GROUP = 0
const TRANSACTION = 1
const SHARE = 2

export default defineHandler({
  api: FindCoordinatorApi,
  versions: [0, 6],
  async handle(req, ctx): Promise<FindCoordinatorResponse> {
    const { nodeId } = ctx.broker
    const { advertisedHost: host, advertisedPort: port } = ctx.session.listener
    const supported = req.keyType === GROUP || req.keyType === TRANSACTION || (req.keyType === SHARE && ctx.apiVersion >= 6)
    const refusal = (key: string): [number, string | null] | undefined => {
      if (!supported) return [ErrorCode.INVALID_REQUEST, `unsupported coordinator key type ${req.keyType}`]
      // Kafka lets only brokers (CLUSTER_ACTION) find share coordinators.
      if (req.keyType === SHARE && !authorizeCluster(ctx, Op.CLUSTER_ACTION)) return [ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null]
      if (req.keyType === GROUP && !authorize(ctx, Op.DESCRIBE, Resource.GROUP, key)) return [ErrorCode.GROUP_AUTHORIZATION_FAILED, null]
      if (req.keyType === TRANSACTION && !authorize(ctx, Op.DESCRIBE, Resource.TRANSACTIONAL_ID, key)) return [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null]
      return undefined
    }
    const cluster = ctx.broker.cluster
    const topics = ctx.broker.coordinatorTopics
    // The internal topic whose partition leader coordinates the key.
    const stateTopic = req.keyType === GROUP ? OFFSETS_TOPIC : req.keyType === TRANSACTION ? TRANSACTION_STATE_TOPIC : req.keyType === SHARE ? SHARE_STATE_TOPIC : undefined
    // A single broker creates the state topic (and reads it) before it names itself coordinator.
    if (stateTopic !== undefined && cluster === undefined) {
      try {
        await topics.ensure(stateTopic)
      } catch (err) {
        ctx.broker.logger.error({ err, topic: stateTopic }, 'creating an internal topic failed')
      }
    }
    const answer = (key: string): FindCoordinatorResponseCoordinator => {
      const refused = refusal(key)
      if (refused === undefined && stateTopic !== undefined) {
        const found = cluster === undefined ? topics.refusal(stateTopic, key) : topics.coordinator(stateTopic, key, ctx.listenerName)
        if (typeof found !== 'number') return { key, ...found, errorCode: ErrorCode.NONE, errorMessage: null }
        // A single broker still reading its state back names itself; the key's requests answer
        // COORDINATOR_LOAD_IN_PROGRESS until it is read, as Kafka's coordinator does.
        if (found !== ErrorCode.NONE && found !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return { key, nodeId: -1, host: '', port: -1, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, errorMessage: null }
      }
      return refused === undefined
        ? { key, nodeId, host, port, errorCode: ErrorCode.NONE, errorMessage: null }
        : { key, nodeId: -1, host: '', port: -1, errorCode: refused[0], errorMessage: refused[1] }
    }
    if (ctx.apiVersion >= 4) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, nodeId: -1, host: '', port: -1, coordinators: req.coordinatorKeys.map(answer) }
    }
    const single = answer(req.key)
    return {
      throttleTimeMs: 0,
      errorCode: single.errorCode,
      errorMessage: single.errorMessage,
      nodeId: single.nodeId,
      host: single.host,
      port: single.port,
      coordinators: [],
    }
  },
})
