// The share-partition settings: the broker's group.share.* values, with the group's own share.*
// overrides (IncrementalAlterConfigs on its GROUP resource) read at each use, so a change applies
// to the next acquisition without a restart. Dead-letter topics (KIP-1191) and Samsa's retry
// back-off (samsa.share.retry.backoff.*) are group settings read the same way.
import type { AdminState } from '../../storage/admin-state.js'
import { groupConfigKey } from '../../storage/metadata-keys.js'
import type { BrokerConfig } from '../config.js'
import type { ShareSettings } from './share-partition-manager.js'

export function shareSettings(config: BrokerConfig, admin: Pick<AdminState, 'get'>): ShareSettings {
  const group = (groupId: string, key: string): string | undefined => admin.get<Record<string, string>>(groupConfigKey(groupId))?.[key]
  return {
    lockDurationMs(groupId) {
      const v = Number(group(groupId, 'share.record.lock.duration.ms'))
      return Number.isInteger(v) && v > 0 ? v : config.getInt('group.share.record.lock.duration.ms')
    },
    autoOffsetReset: (groupId) => (group(groupId, 'share.auto.offset.reset') === 'earliest' ? 'earliest' : 'latest'),
    isolationLevel: (groupId) => (group(groupId, 'share.isolation.level') === 'read_committed' ? 1 : 0),
    deadLetterTopic: (groupId) => group(groupId, 'errors.deadletterqueue.topic.name') || null,
    copyRecord: (groupId) => group(groupId, 'errors.deadletterqueue.copy.record.enable') === 'true',
    retryDelayMs(groupId, deliveryCount) {
      const initial = Number(group(groupId, 'samsa.share.retry.backoff.initial.ms') ?? 0)
      if (!(initial > 0)) return 0
      const multiplier = Number(group(groupId, 'samsa.share.retry.backoff.multiplier') ?? 2)
      const max = Number(group(groupId, 'samsa.share.retry.backoff.max.ms') ?? 60_000)
      return Math.min(max, initial * Math.pow(multiplier >= 1 ? multiplier : 1, Math.max(0, deliveryCount - 1)))
    },
    deliveryCountLimit(groupId) {
      const v = Number(group(groupId, 'share.delivery.count.limit'))
      return Number.isInteger(v) && v > 0 ? v : config.getInt('group.share.delivery.count.limit')
    },
    maxRecordLocks(groupId) {
      const v = Number(group(groupId, 'share.partition.max.record.locks'))
      return Number.isInteger(v) && v > 0 ? v : config.getInt('group.share.partition.max.record.locks')
    },
  }
}
