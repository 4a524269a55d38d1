// Partition sizes on disk through DescribeLogDirs (API key 35). Returns null when the broker
// does not offer the API, so `topics describe` shows '-' instead.

import { UnsupportedApiError, withAdminClient, type AdminClient } from '../../broker/client/admin-client.js'

export interface TopicPartitions {
  topic: string
  partitions: number[]
}

/**
 * Map of `topic/partition` to bytes on disk across the log dirs of one broker (`nodeId`, or the
 * bootstrap broker), or null if it does not report sizes.
 */
export async function logDirSizes(admin: AdminClient, topics: readonly TopicPartitions[], nodeId?: number): Promise<Map<string, number> | null> {
  try {
    const sizes = new Map<string, number>()
    for (const dir of await admin.describeLogDirs(topics, nodeId)) {
      if (dir.error !== null) continue
      for (const p of dir.partitions) {
        // A future replica is a copy being moved between dirs; counting it would double the size.
        if (p.isFuture) continue
        const key = `${p.topic}/${p.partition}`
        sizes.set(key, (sizes.get(key) ?? 0) + p.sizeBytes)
      }
    }
    return sizes
  } catch (err) {
    if (err instanceof UnsupportedApiError) return null
    throw err
  }
}

/** logDirSizes of the broker at `address`, over a connection of its own. */
export function describeLogDirs(address: string, clientId: string, timeoutMs: number, topics: readonly TopicPartitions[]): Promise<Map<string, number> | null> {
  return withAdminClient({ bootstrap: [address], clientId, timeoutMs }, (client) => logDirSizes(client, topics))
}
