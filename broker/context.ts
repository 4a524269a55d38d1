// What every handler may reach: the broker's identity, its configuration, the log manager and the
// coordinators. Handlers get it through RequestContext.broker.
import type { Logger } from 'pino'
import type { AdminState } from '../storage/admin-state.js'
import type { LogManager } from '../storage/log-manager.js'
import type { BrokerConfig } from './config.js'
import type { GroupCoordinator } from './groups/coordinator.js'
import type { CoordinatorTopics } from './coordinator-state/state-topics.js'
import type { ShareStateCoordinator } from './coordinator-state/share-state.js'
import type { TransactionCoordinator } from './txn/coordinator.js'
import type { MarkerTarget } from './txn/txn-model.js'
import type { FetchWaiters } from './fetch-waiters.js'
import type { FetchMemory } from './fetch-memory.js'
import type { FetchSessionCache } from './fetch-sessions.js'
import type { Authorizer } from './acls/authorizer.js'
import type { ScramCredentialStore } from './security/scram-credentials.js'
import type { FailedLogins } from './security/sasl/authenticator.js'
import type { BrokerMetrics } from './metrics.js'
import type { ClientTelemetry } from './telemetry/client-telemetry.js'
import type { SharePartitionManager } from './share/share-partition-manager.js'
import type { ShareSessionCache } from './share/share-sessions.js'
import type { OAuthBearerValidator } from './security/sasl/oauthbearer-validator.js'
import type { ClusterNode } from './cluster/cluster-node.js'
import type { ReplicaManager } from './replication/replica-manager.js'

export interface BrokerContext {
  nodeId: number
  clusterId: string
  advertisedHost: string
  advertisedPort: number
  config: BrokerConfig
  logs: LogManager
  /** Cluster mode: this broker's role for each replicated partition. Undefined for a single broker. */
  replicas?: ReplicaManager
  groups: GroupCoordinator
  /** The coordinators' internal topics (__consumer_offsets): where each key's coordinator is. */
  coordinatorTopics: CoordinatorTopics
  /** The share coordinator: the share-partition states of the __share_group_state partitions led here. */
  shareCoordinator: ShareStateCoordinator
  txn: TransactionCoordinator
  /** Where transaction markers go: the logs, except that a __consumer_offsets partition's settles group offsets. */
  txnMarkerTargets: MarkerTarget
  fetchWaiters: FetchWaiters
  fetchMemory: FetchMemory
  /** Fetch responses may send record batches straight from their files (storage/file-slice.ts). */
  sendfile: boolean
  fetchSessions: FetchSessionCache
  /** KIP-932: every share partition's state, and the share sessions of share-group members. */
  share: SharePartitionManager
  shareSessions: ShareSessionCache
  logger: Logger
  /** The ACL authorizer when authorizer.class.name turns enforcement on; undefined allows everything. */
  authorizer: Authorizer | undefined
  /** What the handler registry serves; ApiVersions reports exactly this. */
  servedApis: ReadonlyArray<{ apiKey: number; minVersion: number; maxVersion: number }>
  /** SASL/SCRAM credentials (PLAIN logins are checked against them too). */
  scramCredentials: ScramCredentialStore
  /** OAUTHBEARER token validators by listener name, for the listeners that enable it. */
  oauthBearer: ReadonlyMap<string, OAuthBearerValidator>
  /** Recent failed logins by client address, which slow down the next ones. */
  failedLogins: FailedLogins
  /** Counters and timings for the metrics endpoint (NO_METRICS without one). */
  metrics: BrokerMetrics
  /** What clients push with PushTelemetry (KIP-714); undefined unless the HTTP endpoint is on. */
  telemetry?: ClientTelemetry
  /** Cluster mode (broker/cluster): membership, metadata and leadership in etcd; undefined for a single broker. */
  cluster?: ClusterNode
  /**
   * ACLs, SCRAM credentials, group configs and dynamic broker configs: the broker's metadata
   * store, or in cluster mode etcd, shared by every broker.
   */
  adminState: AdminState
  /** The admin-state keys of the dynamic broker configs: `<default>` and this broker's own (one key for a single broker). */
  brokerConfigKeys: { clusterDefault: string; broker: string }
}
