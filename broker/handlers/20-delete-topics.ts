// DeleteTopics (key 20). v1 throttle time; v4 flexible; v5 per-topic error messages; v6 topics by
// name or by id. Files are removed by the log manager (renamed first, deleted in the background).
// Cluster mode: only the controller deletes (NOT_CONTROLLER elsewhere); the topic and partition
// keys go from etcd in one transaction, and every broker removes its files when it sees that.
// ACLs: DELETE on each topic (TOPIC_AUTHORIZATION_FAILED; an unknown id stays UNKNOWN_TOPIC_ID).
import { DeleteTopicsApi, type DeleteTopicsResponse } from '../../protocol/generated/delete-topics.js'
import { ErrorCode } from '../../protocol/errors.js'
import { toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'
import { topicById } from '../cluster/metadata-view.js'

type Result = DeleteTopicsResponse['responses'][number]

const ZERO_UUID = '00000000-0000-0000-0000-000000000000'

export default defineHandler({
  api: DeleteTopicsApi,
  versions: [1, 6],
  async handle(req, ctx): Promise<DeleteTopicsResponse> {
    const b = ctx.broker
    const wanted: Array<{ name: string | null; topicId: string }> =
      ctx.apiVersion >= 6 ? req.topics.map((t) => ({ name: t.name, topicId: t.topicId })) : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }))
    const responses: Result[] = []
    const cluster = b.cluster
    const lookup = (byId: boolean, w: { name: string | null; topicId: string }) => {
      if (!cluster) return byId ? b.logs.getTopicById(w.topicId) : b.logs.getTopic(w.name!)
      return byId ? topicById(cluster.image, w.topicId) : cluster.image.topics.get(w.name!)?.value
    }
    for (const w of wanted) {
      const byId = w.name === null || w.name === ''
      const topic = lookup(byId, w)
      const result: Result = { name: topic?.name ?? w.name, topicId: topic?.topicId ?? w.topicId, errorCode: ErrorCode.NONE, errorMessage: null }
      responses.push(result)
      if (!b.config.getBool('delete.topic.enable')) {
        result.errorCode = ErrorCode.TOPIC_DELETION_DISABLED
        continue
      }
      const name = topic?.name ?? (byId ? undefined : w.name!)
      if (name !== undefined && !authorize(ctx, Op.DELETE, Resource.TOPIC, name)) {
        result.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        continue
      }
      if (!topic) {
        result.errorCode = byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        continue
      }
      if (cluster && !cluster.controller.isActive) {
        result.errorCode = ErrorCode.NOT_CONTROLLER
        continue
      }
      try {
        if (cluster) await cluster.admin.deleteTopic(topic.name, cluster.controller.guard())
        else await b.logs.deleteTopic(topic.name)
        b.logger.info({ topic: topic.name }, 'deleted topic')
      } catch (err) {
        const f = toKafkaError(err)
        result.errorCode = f.code
        result.errorMessage = f.message
      }
    }
    return { throttleTimeMs: 0, responses }
  },
})
