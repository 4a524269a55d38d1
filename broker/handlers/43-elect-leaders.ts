// ElectLeaders (key 43). v1 adds the election type (0 preferred, 1 unclean) and a top-level error
// code; v2 is flexible. A null topic list means every partition. Single broker: this node leads
// every partition already, so each answers ELECTION_NOT_NEEDED. Cluster mode: only the controller
// elects (NOT_CONTROLLER elsewhere): the preferred replica when it is up and in sync
// (PREFERRED_LEADER_NOT_AVAILABLE otherwise), or for unclean, any live replica of a partition
// that has no leader (ELIGIBLE_LEADERS_NOT_AVAILABLE when none is up). A null list elects only
// the partitions that need it, as Kafka does. ACLs: ALTER on the cluster.
import { ElectLeadersApi, type ElectLeadersResponse } from '../../protocol/generated/elect-leaders.js'
import { ErrorCode } from '../../protocol/errors.js'
import { toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

const UNCLEAN = 1

export default defineHandler({
  api: ElectLeadersApi,
  versions: [0, 2],
  async handle(req, ctx): Promise<ElectLeadersResponse> {
    const b = ctx.broker
    const cluster = b.cluster
    const unclean = req.electionType === UNCLEAN
    const refuse = (errorCode: number): ElectLeadersResponse => ({ throttleTimeMs: 0, errorCode, replicaElectionResults: [] })
    if (!authorizeCluster(ctx, Op.ALTER)) return refuse(ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    if (req.electionType !== 0 && req.electionType !== UNCLEAN) return refuse(ErrorCode.INVALID_REQUEST)
    if (cluster && !cluster.controller.isActive) return refuse(ErrorCode.NOT_CONTROLLER)

    let wanted: Array<{ topic: string; partitions: number[] }>
    if (req.topicPartitions !== null) wanted = req.topicPartitions
    else if (cluster) {
      wanted = [...cluster.image.topics.keys()].map((topic) => ({
        topic,
        partitions: cluster.image
          .partitionsOf(topic)
          .filter((s) => (unclean ? s.leader === -1 : s.leader !== s.replicas[0]))
          .map((s) => s.partition),
      }))
    } else wanted = []

    const replicaElectionResults: ElectLeadersResponse['replicaElectionResults'] = []
    for (const t of wanted) {
      if (t.partitions.length === 0) continue
      let codes: number[]
      if (cluster) {
        try {
          codes = await cluster.controller.elect(t.partitions.map((partition) => ({ topic: t.topic, partition })), unclean)
        } catch (err) {
          codes = t.partitions.map(() => toKafkaError(err).code)
        }
      } else {
        const topic = b.logs.getTopic(t.topic)
        codes = t.partitions.map((p) => (topic !== undefined && p >= 0 && p < topic.partitions ? ErrorCode.ELECTION_NOT_NEEDED : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
      }
      replicaElectionResults.push({
        topic: t.topic,
        partitionResult: t.partitions.map((partitionId, i) => ({ partitionId, errorCode: codes[i]!, errorMessage: null })),
      })
    }
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, replicaElectionResults }
  },
})
