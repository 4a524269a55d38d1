// Cluster mode from the broker's configuration: cluster.etcd.endpoints (comma-separated
// http://host:port, or one etcd://host:port,host:port/prefix address) turns it on.
import type { Logger } from 'pino'
import { LocalAdminState, type AdminState } from '../../storage/admin-state.js'
import { splitList } from '../../storage/config-defs.js'
import type { LogManager } from '../../storage/log-manager.js'
import { BROKER_DYNAMIC_CONFIG_KEY } from '../../storage/metadata-keys.js'
import type { MetadataStore } from '../../storage/metadata-store.js'
import type { BrokerConfig } from '../config.js'
import type { BoundListener } from '../security/listeners.js'
import { interBrokerListener } from '../security/inter-broker.js'
import type { ClusterNode } from './cluster-node.js'
import { brokerDynamicConfigKey, CLUSTER_DEFAULT_BROKER_CONFIG_KEY, parseClusterUrl } from './keys.js'
import type { ReplicaRoles } from './partition-state.js'

export interface ClusterStartOptions {
  config: BrokerConfig
  nodeId: number
  logs: LogManager
  logger: Logger
  listeners: BoundListener[]
  localClusterId: string | undefined
  /** Replication (the ReplicaManager), which every broker of a cluster runs. */
  roles: ReplicaRoles | undefined
}

/** The etcd endpoints and prefix the configuration names, or undefined for a single broker. */
export function clusterAddress(config: BrokerConfig): { endpoints: string[]; prefix: string } | undefined {
  const raw = splitList(config.get('cluster.etcd.endpoints'))
  if (raw.length === 0) return undefined
  if (/^etcds?:\/\//.test(raw[0]!)) return parseClusterUrl(raw.join(','))
  return { endpoints: raw.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)), prefix: config.get('cluster.etcd.prefix') }
}

export interface AdminStateChoice {
  state: AdminState
  /** The admin-state keys of the dynamic broker configs: `<default>` and this broker's own (the same key for a single broker). */
  brokerConfigKeys: { clusterDefault: string; broker: string }
}

/**
 * Where ACLs, SCRAM credentials, group configs and dynamic broker configs live: the broker's own
 * metadata store, or in cluster mode etcd (shared by every broker, and outliving any broker's
 * disk), after offering it what this data directory held as a single broker.
 */
export async function openAdminState(config: BrokerConfig, metadata: MetadataStore, nodeId: number, logger: Logger): Promise<AdminStateChoice> {
  const address = clusterAddress(config)
  if (address === undefined) {
    return { state: new LocalAdminState(metadata), brokerConfigKeys: { clusterDefault: BROKER_DYNAMIC_CONFIG_KEY, broker: BROKER_DYNAMIC_CONFIG_KEY } }
  }
  const { EtcdAdminState } = await import('./etcd-admin-state.js')
  const { adoptLocalState } = await import('./adopt-local-state.js')
  const state = await EtcdAdminState.open(address.endpoints, address.prefix, logger)
  try {
    await adoptLocalState(state, metadata, nodeId, address.prefix, logger)
  } catch (err) {
    await state.close()
    throw err
  }
  return { state, brokerConfigKeys: { clusterDefault: CLUSTER_DEFAULT_BROKER_CONFIG_KEY, broker: brokerDynamicConfigKey(nodeId) } }
}

export async function startClusterNode(opts: ClusterStartOptions): Promise<ClusterNode | undefined> {
  const address = clusterAddress(opts.config)
  if (address === undefined) return undefined
  if (opts.roles === undefined) throw new Error('cluster mode needs the replica manager to take partition roles')
  const { config, listeners } = opts
  // The others connect to this one's inter-broker listener (replication, transaction markers).
  const replication = interBrokerListener(config, listeners)
  const rack = config.get('broker.rack')
  // Loaded only in cluster mode: a single broker never loads the etcd client.
  const { ClusterNode } = await import('./cluster-node.js')
  return ClusterNode.start({
    ...address,
    registration: {
      nodeId: opts.nodeId,
      host: replication.advertisedHost,
      port: replication.advertisedPort,
      rack: rack === '' ? null : rack,
      listeners: listeners.map((l) => ({ name: l.name, host: l.advertisedHost, port: l.advertisedPort, securityProtocol: l.securityProtocol })),
    },
    interBrokerListener: replication.name,
    sessionTimeoutMs: config.getInt('broker.session.timeout.ms'),
    controlledShutdown: { enabled: config.getBool('controlled.shutdown.enable'), timeoutMs: config.getInt('controlled.shutdown.timeout.ms') },
    rebalance: { enabled: config.getBool('auto.leader.rebalance.enable'), intervalMs: config.getLong('leader.imbalance.check.interval.seconds') * 1000 },
    uncleanElection: (_topic, configs) => (configs['unclean.leader.election.enable'] ?? config.get('unclean.leader.election.enable')).toLowerCase() === 'true',
    localClusterId: opts.localClusterId,
    logs: opts.logs,
    roles: opts.roles,
    logger: opts.logger,
  })
}
