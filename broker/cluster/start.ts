// Cluster mode from the broker's configuration: cluster.etcd.endpoints (comma-separated
// http://host:port, or one etcd://host:port,host:port/prefix address) turns it on.
import type { Logger } from 'pino'
import { splitList } from '../../storage/config-defs.js'
import type { LogManager } from '../../storage/log-manager.js'
import type { BrokerConfig } from '../config.js'
import type { BoundListener } from '../security/listeners.js'
import type { ClusterNode } from './cluster-node.js'
import { parseClusterUrl } from './keys.js'
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

export async function startClusterNode(opts: ClusterStartOptions): Promise<ClusterNode | undefined> {
  const address = clusterAddress(opts.config)
  if (address === undefined) return undefined
  if (opts.roles === undefined) throw new Error('cluster mode needs the replica manager to take partition roles')
  const { config, listeners } = opts
  const inter = config.get('inter.broker.listener.name')
  const replication = listeners.find((l) => l.name === inter) ?? listeners[0]!
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
