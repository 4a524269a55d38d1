// Log directories of a broker through DescribeLogDirs (API key 35): each directory's partitions
// with their size on disk.

import { ErrorCode, errorName } from '../../protocol/errors.js'
import { DescribeLogDirsApi } from '../../protocol/generated/describe-log-dirs.js'
import type { Cluster } from './cluster.js'
import { KafkaProtocolError } from './errors.js'

export interface LogDirPartition {
  topic: string
  partition: number
  sizeBytes: number
  offsetLag: number
  isFuture: boolean
}

export interface LogDirDescription {
  logDir: string
  error: string | null
  /** -1 when the broker does not report it (before v4). */
  totalBytes: number
  usableBytes: number
  partitions: LogDirPartition[]
}

/**
 * Log directories of one broker (the bootstrap broker when `nodeId` is omitted), limited to
 * `topics` or, with null, every partition it hosts.
 */
export async function describeLogDirs(cluster: Cluster, topics: readonly { topic: string; partitions: readonly number[] }[] | null, nodeId?: number): Promise<LogDirDescription[]> {
  const session = nodeId === undefined ? await cluster.bootstrap() : await cluster.node(nodeId)
  const version = session.version(DescribeLogDirsApi)
  const res = await session.send(DescribeLogDirsApi, { topics: topics === null ? null : topics.map((t) => ({ topic: t.topic, partitions: [...t.partitions] })) }, version)
  if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `DescribeLogDirs at ${session.address}`)
  return res.results.map((d) => ({
    logDir: d.logDir,
    error: d.errorCode === ErrorCode.NONE ? null : errorName(d.errorCode),
    totalBytes: d.totalBytes,
    usableBytes: d.usableBytes,
    partitions: d.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, sizeBytes: p.partitionSize, offsetLag: p.offsetLag, isFuture: p.isFutureKey })),
    ),
  }))
}
