// Partition sizes on disk through DescribeLogDirs (API key 35), which kafkajs does not expose.
// Returns null when the broker does not offer the API, so `topics describe` shows '-' instead.

import { UnsupportedApiError, withAdminClient } from '../../broker/client/admin-client.js'

export interface TopicPartitions {
  topic: string
  partitions: number[]
}

/** Map of `topic/partition` to bytes on disk across the broker's log dirs, or null if it does not report sizes. */
export async function describeLogDirs(
  address: string,
  clientId: string,
  timeoutMs: number,
  topics: readonly TopicPartitions[],
): Promise<Map<string, number> | null> {
  try {
    return await withAdminClient({ bootstrap: [address], clientId, timeoutMs }, async (client) => {
      const sizes = new Map<string, number>()
      for (const dir of await client.describeLogDirs(topics)) {
        if (dir.error !== null) continue
        for (const p of dir.partitions) {
          // A future replica is a copy being moved between dirs; counting it would double the size.
          if (p.isFuture) continue
          const key = `${p.topic}/${p.partition}`
          sizes.set(key, (sizes.get(key) ?? 0) + p.sizeBytes)
        }
      }
      return sizes
    })
  } catch (err) {
    if (err instanceof UnsupportedApiError) return null
    throw err
  }
}
