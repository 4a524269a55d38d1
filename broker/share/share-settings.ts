// The share-partition settings: the broker's group.share.* values, with the group's own share.*
// overrides (IncrementalAlterConfigs on its GROUP resource) read at each use, so a change applies
// to the next acquisition without a restart.
import type { MetadataStore } from '../../storage/metadata-store.js'
import { groupConfigKey } from '../../storage/metadata-keys.js'
import type { BrokerConfig } from '../config.js'
import type { ShareSettings } from './share-partition-manager.js'

export function shareSettings(config: BrokerConfig, metadata: Pick<MetadataStore, 'get'>): ShareSettings {
  const group = (groupId: string, key: string): string | undefined => metadata.get<Record<string, string>>(groupConfigKey(groupId))?.[key]
  return {
    lockDurationMs(groupId) {
      const v = Number(group(groupId, 'share.record.lock.duration.ms'))
      return Number.isInteger(v) && v > 0 ? v : config.getInt('group.share.record.lock.duration.ms')
    },
    autoOffsetReset: (groupId) => (group(groupId, 'share.auto.offset.reset') === 'earliest' ? 'earliest' : 'latest'),
    isolationLevel: (groupId) => (group(groupId, 'share.isolation.level') === 'read_committed' ? 1 : 0),
    deliveryCountLimit: config.getInt('group.share.delivery.count.limit'),
    maxRecordLocks: config.getInt('group.share.partition.max.record.locks'),
  }
}
