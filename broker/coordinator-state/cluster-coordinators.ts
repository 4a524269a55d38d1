// Cluster mode for the coordinators, once the broker has joined: producer ids come from etcd
// blocks, transaction markers go to each partition's leader over the inter-broker listener, and
// share-partition state to the leader of its __share_group_state partition.
import type { ClientSecurity } from '../client/connection.js'
import type { ClusterNode } from '../cluster/cluster-node.js'
import type { Logger } from 'pino'
import type { ShareCoordinatorPersister } from '../share/share-persister.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { ReplicaManager } from '../replication/replica-manager.js'
import { ClusterMarkerWriter, MARKER_REPLICATION_TIMEOUT_MS } from '../txn/cluster-markers.js'
import type { TransactionCoordinator } from '../txn/coordinator.js'
import type { MarkerTarget } from '../txn/txn-model.js'
import { SHARE_STATE_TOPIC } from './share-state.js'

export interface ClusterCoordinatorsOptions {
  cluster: ClusterNode
  nodeId: number
  txn: TransactionCoordinator
  markerTargets: MarkerTarget
  sharePersister: ShareCoordinatorPersister
  logger: Logger
  /** The inter-broker listener's name and how to connect to it; plain TCP to the first listener without. */
  listenerName?: string
  security?: ClientSecurity
  logs: LogManager
  /** Where a marker this broker writes waits for the in-sync replicas. */
  replicas: ReplicaManager | undefined
}

export function useClusterCoordinators(o: ClusterCoordinatorsOptions): void {
  const image = o.cluster.image
  o.txn.useProducerIdBlocks(o.cluster.producerIdBlocks())
  o.txn.useMarkerWriter(
    new ClusterMarkerWriter({
      nodeId: o.nodeId,
      logs: o.markerTargets,
      logger: o.logger,
      security: o.security,
      // Unknown partitions are undefined; a partition without a leader is retried (node -1).
      replicated: (topic, partition, offset) => {
        const log = o.logs.partition(topic, partition)
        if (o.replicas === undefined || log === undefined) return Promise.resolve(ErrorCode.NONE)
        return o.replicas.waitForIsr(topic, partition, log, offset, MARKER_REPLICATION_TIMEOUT_MS)
      },
      leaderOf: (topic, partition) =>
        image.partition(topic, partition) === undefined ? undefined : (image.leaderEndpoint(topic, partition, o.listenerName) ?? { nodeId: -1, host: '', port: 0 }),
    }),
  )
  o.sharePersister.useCluster({
    nodeId: o.nodeId,
    security: o.security,
    leaderOf: (partition) => image.leaderEndpoint(SHARE_STATE_TOPIC, partition, o.listenerName),
  })
}
