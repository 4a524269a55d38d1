// How a broker sets up __share_group_state, the share coordinator's topic, from its configuration
// (Kafka's share.coordinator.state.topic.* names), and moves the share-partition state an older
// release kept in the metadata store into it.
import type { Logger } from 'pino'
import type { LogManager } from '../../storage/log-manager.js'
import type { BrokerConfig } from '../config.js'
import { hasLegacyShareStates, migrateLegacyShareStates } from './legacy-share-state.js'
import { ShareStateCoordinator, SHARE_STATE_TOPIC } from './share-state.js'
import type { CoordinatorTopics } from './state-topics.js'

export function shareStateFor(topics: CoordinatorTopics, config: BrokerConfig): ShareStateCoordinator {
  const topic = topics.add({
    name: SHARE_STATE_TOPIC,
    partitions: config.getInt('share.coordinator.state.topic.num.partitions'),
    replicationFactor: config.getInt('share.coordinator.state.topic.replication.factor'),
    // As Kafka creates it: compacted, so only each share partition's latest state stays.
    configs: {
      'cleanup.policy': 'compact',
      'min.insync.replicas': String(config.getInt('share.coordinator.state.topic.min.isr')),
      'segment.bytes': String(config.getInt('share.coordinator.state.topic.segment.bytes')),
    },
  })
  return new ShareStateCoordinator(topic, () => topics.loadingLocal)
}

/** A single broker, before it serves (after CoordinatorTopics.loadLocal): moves an older release's share state. */
export async function loadLocalShareState(share: ShareStateCoordinator, topics: CoordinatorTopics, logs: LogManager, logger: Logger): Promise<void> {
  if (!hasLegacyShareStates(logs.metadata)) return
  await topics.ensure(SHARE_STATE_TOPIC)
  await migrateLegacyShareStates(logs.metadata, share, logger)
}

/** A cluster member: says so when the metadata store still holds share state of an older release. */
export function warnOfLegacyShareState(logs: LogManager, logger: Logger): void {
  if (hasLegacyShareStates(logs.metadata)) {
    logger.warn(
      { sharePartitions: logs.metadata.listShareStates().length },
      'this data directory holds share-partition state of a single broker; a cluster member does not move it to __share_group_state (start it once without cluster.etcd.endpoints to move it first)',
    )
  }
}
