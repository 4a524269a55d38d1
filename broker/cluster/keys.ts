// Where cluster metadata lives in etcd, under the cluster's prefix (cluster.etcd.prefix, /samsa by
// default). Values are JSON. Keys with a lease vanish when their broker stops renewing it.
//
//   cluster-id                   the cluster id; the first broker creates it
//   brokers/<nodeId>             BrokerRegistration, under the broker's lease
//   controller                   the controller's node id, under its lease (the election)
//   shutdown/<nodeId>            a broker asking to have its leadership moved away before it stops
//   topics/<name>                TopicSpec
//   partitions/<name>/<index>    PartitionState (partition-state.ts)
//   producer-id-block            the first producer id of the next free block (producer-id-blocks.ts)
//   admin/<key>                  the admin state (storage/admin-state.ts): security.acls,
//                                security.scram-credentials, group.config/<group>, and the dynamic
//                                broker configs broker.dynamic-config/default and /<nodeId>
//
// Every change to topics/, partitions/ and admin/ is a transaction that compares the key's mod revision
// (or its absence) with what the writer read, so concurrent writers never overwrite each other.
import type { BrokerEndpoint } from './partition-state.js'

export interface BrokerRegistration extends BrokerEndpoint {
  /** Every listener as advertised to clients, by listener name. */
  listeners: Array<{ name: string; host: string; port: number; securityProtocol: string }>
  /**
   * A broker registers fenced: it counts as down (leads nothing, leaves ISRs) until the
   * controller has moved away whatever an earlier process of the same node id led, and only then
   * unfences itself. So a broker restarted within its old lease never resumes a stale leadership.
   */
  fenced?: boolean
}

/**
 * Where this broker reaches another: the other's listener named as this broker's inter-broker
 * listener (as Kafka picks it, so brokers switching inter.broker.listener.name one at a time
 * still meet on a listener both speak), else the address the other registered for replication.
 */
export function endpointFor(reg: BrokerRegistration, listenerName: string | undefined): BrokerEndpoint {
  const l = listenerName === undefined ? undefined : reg.listeners.find((x) => x.name === listenerName)
  return { nodeId: reg.nodeId, host: l?.host ?? reg.host, port: l?.port ?? reg.port, rack: reg.rack }
}

export interface TopicSpec {
  name: string
  topicId: string
  partitions: number
  configs: Record<string, string>
  createdAt: number
}

export const CLUSTER_ID_KEY = 'cluster-id'
export const CONTROLLER_KEY = 'controller'
export const BROKERS_PREFIX = 'brokers/'
export const SHUTDOWN_PREFIX = 'shutdown/'
export const TOPICS_PREFIX = 'topics/'
export const PARTITIONS_PREFIX = 'partitions/'
export const PRODUCER_ID_BLOCK_KEY = 'producer-id-block'
export const ADMIN_PREFIX = 'admin/'

/** Admin-state keys of the dynamic broker configs in a cluster: every broker's (`<default>`), and one broker's own. */
export const CLUSTER_DEFAULT_BROKER_CONFIG_KEY = 'broker.dynamic-config/default'
export const brokerDynamicConfigKey = (nodeId: number): string => `broker.dynamic-config/${nodeId}`

export const brokerKey = (nodeId: number): string => `${BROKERS_PREFIX}${nodeId}`
export const shutdownKey = (nodeId: number): string => `${SHUTDOWN_PREFIX}${nodeId}`
export const topicKey = (name: string): string => `${TOPICS_PREFIX}${name}`
export const partitionKey = (topic: string, partition: number): string => `${PARTITIONS_PREFIX}${topic}/${partition}`
export const topicPartitionsPrefix = (topic: string): string => `${PARTITIONS_PREFIX}${topic}/`

/** The etcd prefix with exactly one trailing slash: `/samsa` -> `/samsa/`. */
export function namespaceOf(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '')
  return `${trimmed === '' ? '' : trimmed}/`
}

/**
 * `etcd://h1:2379,h2:2379/samsa` -> endpoints and prefix, as `samsa serve --cluster` takes them.
 * `etcds://` means TLS to etcd. A missing path means the default prefix.
 */
export function parseClusterUrl(url: string): { endpoints: string[]; prefix: string } {
  const m = /^(etcds?):\/\/([^/]+)(\/.*)?$/.exec(url.trim())
  if (m === null) throw new Error(`cluster address must look like etcd://host:2379/prefix, got '${url}'`)
  const scheme = m[1] === 'etcds' ? 'https' : 'http'
  const endpoints = m[2]!.split(',').map((h) => h.trim()).filter((h) => h !== '')
  if (endpoints.length === 0 || endpoints.some((h) => !/^(\[[0-9a-fA-F:]+\]|[^:[\]]+):\d+$/.test(h))) {
    throw new Error(`cluster address needs host:port endpoints, got '${m[2]}'`)
  }
  const path = (m[3] ?? '').replace(/\/+$/, '')
  return { endpoints: endpoints.map((h) => `${scheme}://${h}`), prefix: path === '' ? '/samsa' : path }
}
