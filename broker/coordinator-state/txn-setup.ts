// How a broker sets up __transaction_state from its configuration, next to __consumer_offsets
// (setup.ts), and moves an older release's transactions into it at a single broker's start.
import type { Logger } from 'pino'
import type { MetadataStore } from '../../storage/metadata-store.js'
import type { BrokerConfig } from '../config.js'
import { hasLegacyTransactions, migrateLegacyTransactions } from './legacy-transactions.js'
import { partitionForKey } from './state-topic.js'
import { OFFSETS_TOPIC, type CoordinatorTopics } from './state-topics.js'
import { TRANSACTION_STATE_TOPIC, TxnStateStore } from './txn-state.js'

/** Declares __transaction_state (after __consumer_offsets, so a single broker reads offsets first). */
export function transactionStateFor(config: BrokerConfig, topics: CoordinatorTopics): TxnStateStore {
  const state = topics.add({
    name: TRANSACTION_STATE_TOPIC,
    partitions: config.getInt('transaction.state.log.num.partitions'),
    replicationFactor: config.getInt('transaction.state.log.replication.factor'),
    // As Kafka creates it: compacted, and min.insync.replicas from transaction.state.log.min.isr.
    configs: {
      'cleanup.policy': 'compact',
      'segment.bytes': String(config.getInt('transaction.state.log.segment.bytes')),
      'min.insync.replicas': String(config.getInt('transaction.state.log.min.isr')),
    },
  })
  return new TxnStateStore(state, (id) => topics.refusal(TRANSACTION_STATE_TOPIC, id))
}

/** A group's __consumer_offsets partition, which a transaction committing its offsets takes part in. */
export function offsetsPartitionFor(config: BrokerConfig): (groupId: string) => { topic: string; partition: number } {
  const partitions = config.getInt('offsets.topic.num.partitions')
  return (groupId) => ({ topic: OFFSETS_TOPIC, partition: partitionForKey(groupId, partitions) })
}

/**
 * A single broker, before it serves and before its transactions are restored: moves the transaction
 * state an older release kept in the metadata store into __transaction_state.
 */
export async function migrateLocalTransactions(topics: CoordinatorTopics, store: TxnStateStore, metadata: MetadataStore, logger: Logger): Promise<void> {
  if (!hasLegacyTransactions(metadata)) return
  await topics.ensure(TRANSACTION_STATE_TOPIC)
  await migrateLegacyTransactions(metadata, store, logger)
}

/** A cluster member: says so when the metadata store still holds transactions of an older release. */
export function warnOfLegacyTransactions(metadata: MetadataStore, logger: Logger): void {
  if (hasLegacyTransactions(metadata)) {
    logger.warn(
      'this data directory holds transaction state of a single broker; a cluster member does not move it to __transaction_state (start it once without cluster.etcd.endpoints to move it first)',
    )
  }
}
