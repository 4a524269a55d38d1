// Upgrading a single broker to a cluster member: its data directory may hold ACLs, SCRAM
// credentials, group configs and dynamic broker configs in its own metadata store, which a cluster
// keeps in etcd instead. The first time the directory joins a cluster (a given etcd prefix), each
// of them is copied into etcd where etcd has none yet, so the first broker to join brings its
// security state along; where etcd already holds a different value, etcd's applies and a warning
// names the key. The broker's own dynamic configs become its node's dynamic configs, not the
// cluster default: they were set for that broker alone. The local copies are left in place (a
// return to single-broker mode finds them) but are not read in cluster mode, nor offered again.
import type { Logger } from 'pino'
import type { MetadataStore } from '../../storage/metadata-store.js'
import { ACLS_KEY, ADMIN_STATE_ADOPTED_KEY, BROKER_DYNAMIC_CONFIG_KEY, SCRAM_CREDENTIALS_KEY, groupConfigKey } from '../../storage/metadata-keys.js'
import type { EtcdAdminState } from './etcd-admin-state.js'
import { brokerDynamicConfigKey } from './keys.js'

export async function adoptLocalState(cluster: EtcdAdminState, local: MetadataStore, nodeId: number, prefix: string, logger: Logger): Promise<void> {
  if (local.get<string>(ADMIN_STATE_ADOPTED_KEY) === prefix) return
  const moves: Array<[from: string, to: string]> = [
    [ACLS_KEY, ACLS_KEY],
    [SCRAM_CREDENTIALS_KEY, SCRAM_CREDENTIALS_KEY],
    // groupConfigKey('') is the prefix every group's key starts with.
    ...local.kvKeys(groupConfigKey('')).map((k): [string, string] => [k, k]),
    [BROKER_DYNAMIC_CONFIG_KEY, brokerDynamicConfigKey(nodeId)],
  ]
  for (const [from, to] of moves) {
    const value = local.get<unknown>(from)
    if (value === undefined) continue
    const outcome = await cluster.adopt(to, value)
    if (outcome === 'copied') logger.info({ key: to }, 'copied this data directory\'s admin state into the cluster metadata')
    else if (outcome === 'kept') logger.warn({ key: to }, 'this data directory holds admin state that differs from the cluster\'s; the cluster\'s applies and the local copy is not used')
  }
  await local.put(ADMIN_STATE_ADOPTED_KEY, prefix)
}
