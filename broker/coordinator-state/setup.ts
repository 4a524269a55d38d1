// How a broker sets up the coordinators' internal topics from its configuration, reads them at
// start (a single broker), and reaches them through the cluster (cluster mode).
import type { Logger } from 'pino'
import type { LogManager } from '../../storage/log-manager.js'
import type { ClusterNode } from '../cluster/cluster-node.js'
import type { BrokerConfig } from '../config.js'
import { GroupStateStore } from './group-state.js'
import { hasLegacyOffsets, migrateLegacyOffsets } from './legacy-offsets.js'
import { hasLegacyShareStates } from './legacy-share-state.js'
import { hasLegacyTransactions } from './legacy-transactions.js'
import type { MetadataStore } from '../../storage/metadata-store.js'
import { CoordinatorTopics, OFFSETS_TOPIC, type ClusterTopics } from './state-topics.js'

export interface CoordinatorState {
  topics: CoordinatorTopics
  /** Committed and transactional offsets, in __consumer_offsets: the group coordinator's store. */
  groups: GroupStateStore
}

export function coordinatorStateFor(config: BrokerConfig, logs: LogManager, logger: Logger): CoordinatorState {
  const topics = new CoordinatorTopics({ logs, logger, writeTimeoutMs: config.getInt('offsets.commit.timeout.ms') })
  const offsets = topics.add({
    name: OFFSETS_TOPIC,
    partitions: config.getInt('offsets.topic.num.partitions'),
    replicationFactor: config.getInt('offsets.topic.replication.factor'),
    // As Kafka creates it: compacted, so only each key's latest record stays.
    configs: { 'cleanup.policy': 'compact', 'segment.bytes': String(config.getInt('offsets.topic.segment.bytes')) },
  })
  return { topics, groups: new GroupStateStore(offsets) }
}

/**
 * A single broker, before it serves: reads the internal topics on disk, and moves committed offsets
 * an older release kept in the metadata store into __consumer_offsets.
 */
export async function loadLocalState(state: CoordinatorState, logs: LogManager, logger: Logger): Promise<void> {
  await state.topics.loadLocal()
  if (!hasLegacyOffsets(logs.metadata)) return
  await state.topics.ensure(OFFSETS_TOPIC)
  await migrateLegacyOffsets(logs.metadata, state.groups, logger)
}

/** The metadata store still holds offsets, share state or transactions of an older release. */
export function hasLegacyState(metadata: MetadataStore): boolean {
  return hasLegacyOffsets(metadata) || hasLegacyShareStates(metadata) || hasLegacyTransactions(metadata)
}

/** A cluster member: says so when the metadata store still holds offsets of an older release. */
export function warnOfLegacyState(logs: LogManager, logger: Logger): void {
  if (hasLegacyOffsets(logs.metadata)) {
    logger.warn(
      { groups: logs.metadata.listOffsetGroups().length },
      'this data directory holds committed offsets of a single broker; a cluster member does not move them to __consumer_offsets (start it once without cluster.etcd.endpoints to move them first)',
    )
  }
}

/** The internal topics as the cluster holds them (etcd), for a broker that joined one. */
export function clusterTopics(cluster: () => ClusterNode | undefined): ClusterTopics {
  const node = (): ClusterNode => {
    const c = cluster()
    if (c === undefined) throw new Error('not yet part of the cluster')
    return c
  }
  return {
    topicExists: (name) => cluster()?.image.topics.has(name) ?? false,
    partitionCount: (name) => cluster()?.image.topics.get(name)?.value.partitions,
    createTopic: async (spec) => {
      await node().admin.createTopic({ name: spec.name, partitions: spec.partitions, replicationFactor: spec.replicationFactor, configs: spec.configs })
    },
    leaderOf: (name, partition, listener) => {
      const c = cluster()
      const leader = c?.image.partition(name, partition)?.value.leader
      if (c === undefined || leader === undefined || leader < 0) return undefined
      const b = c.brokersFor(listener).find((x) => x.nodeId === leader)
      return b === undefined ? undefined : { nodeId: b.nodeId, host: b.host, port: b.port }
    },
  }
}
