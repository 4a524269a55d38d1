// DescribeLogDirs (key 35). v2 is flexible; v3 adds a top-level error code; v4 the directory's
// total and usable bytes. v0 is not served (removed in Kafka 4.0). One log directory holds every
// partition; a null topic list means all of them, and requested partitions this broker does not
// host are left out, as Kafka does. Replicas are never moved between directories, so there are no
// future replicas and the offset lag is always 0. In cluster mode every broker keeps every topic's
// partitions (empty where it is no replica); only the replicas it holds are reported, as Kafka's
// brokers report what they host. ACLs: DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED
// and no directories.
import { DescribeLogDirsApi, type DescribeLogDirsResponse } from '../../protocol/generated/describe-log-dirs.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authorizeCluster, Op } from '../acls/authorize.js'

type TopicEntry = DescribeLogDirsResponse['results'][number]['topics'][number]

export default defineHandler({
  api: DescribeLogDirsApi,
  versions: [1, 4],
  handle(req, ctx): DescribeLogDirsResponse {
    if (!authorizeCluster(ctx, Op.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] }
    const summary = ctx.broker.logs.logDirSummary()
    let wanted: Map<string, Set<number>> | undefined
    if (req.topics !== null) {
      wanted = new Map()
      for (const t of req.topics) {
        let set = wanted.get(t.topic)
        if (!set) wanted.set(t.topic, (set = new Set()))
        for (const p of t.partitions) set.add(p)
      }
    }
    const cluster = ctx.broker.cluster
    const hosted = (topic: string, partition: number): boolean =>
      cluster === undefined || (cluster.image.partition(topic, partition)?.value.replicas.includes(ctx.broker.nodeId) ?? false)
    const byTopic = new Map<string, TopicEntry>()
    for (const p of summary.partitions) {
      if (wanted !== undefined && !wanted.get(p.topic)?.has(p.partition)) continue
      if (!hosted(p.topic, p.partition)) continue
      let entry = byTopic.get(p.topic)
      if (!entry) byTopic.set(p.topic, (entry = { name: p.topic, partitions: [] }))
      entry.partitions.push({ partitionIndex: p.partition, partitionSize: p.size, offsetLag: p.offsetLag, isFutureKey: false })
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [
        {
          errorCode: ErrorCode.NONE,
          logDir: summary.dir,
          topics: [...byTopic.values()],
          totalBytes: summary.totalBytes,
          usableBytes: summary.usableBytes,
        },
      ],
    }
  },
})
