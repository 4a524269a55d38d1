// The metadata store's key space: every key and key prefix written to its LMDB databases, in one
// place so two features can never collide and a reader sees the whole layout at once.
//
//   topics   topic name -> TopicRecord
//   offsets  committedOffsetKey(group, topic, partition) -> CommittedOffset
//   kv       the keys below
//   share    shareStateKey(group, topicId, partition) -> ShareStateRecord
//
// The stored strings are a file format: data directories written by earlier versions must keep
// opening, so a key here is never renamed (add a migration in MetadataStore.open instead).
// Free-form parts (group and transactional ids) are URI-encoded: they may contain '/' and NUL,
// and lmdb's key encoding treats NUL as an array separator.

// ---- kv: broker identity and configuration ----
// The dynamic configs, group configs and security keys below form the admin state
// (admin-state.ts): a single broker keeps them here; a cluster keeps them in etcd instead, under
// the same names (broker/cluster/keys.ts), and reads this copy only once, when the data directory
// first joins a cluster.

/** The cluster id, generated on first start. */
export const CLUSTER_ID_KEY = 'cluster.id'

/** Broker configuration set at runtime (IncrementalAlterConfigs on the broker resource). */
export const BROKER_DYNAMIC_CONFIG_KEY = 'broker.dynamic-config'

/** Dynamic configuration of one consumer group (IncrementalAlterConfigs on a GROUP resource). */
export function groupConfigKey(group: string): string {
  return `group.config/${encodeURIComponent(group)}`
}

/**
 * Cluster mode: the etcd prefix whose admin state this data directory's ACLs, credentials and
 * configs were offered to when it first joined that cluster (broker/cluster/adopt-local-state.ts).
 */
export const ADMIN_STATE_ADOPTED_KEY = 'cluster.admin-state-adopted'

/** Never stored: removing it is a write that changes nothing, which MetadataStore.close() uses. */
export const CLOSE_PROBE_KEY = 'close-probe'

// ---- kv: security (admin state) ----

/** Every ACL binding, one array (AclStore). */
export const ACLS_KEY = 'security.acls'

/**
 * Every user's SCRAM credentials: user -> mechanism -> salt, stored key, server key, iterations
 * (RFC 5802). Never a password: PLAIN logins are checked against these too.
 */
export const SCRAM_CREDENTIALS_KEY = 'security.scram-credentials'

// ---- kv: transactions ----

/** The end of the last reserved block of producer ids. */
export const PRODUCER_ID_NEXT_BLOCK_KEY = 'txn.producer-id.next-block'

/** Every transactional id with stored state. */
export const TRANSACTIONAL_IDS_KEY = 'txn.ids'

/** The stored state of one transactional id. */
export function transactionStateKey(transactionalId: string): string {
  return `txn.state/${encodeURIComponent(transactionalId)}`
}

/** Offsets committed inside transactions not yet ended, for every group (read once to move them to __consumer_offsets). */
export function pendingTxnOffsetsKey(): string {
  return 'groups.pending-txn-offsets'
}

// ---- offsets: `${encodeURIComponent(group)}/${topic}/${partition}` ----
// Sorted, so a group's offsets are one range. Topic names cannot contain '/'.

/** The stored key of one committed offset. */
export function committedOffsetKey(group: string, topic: string, partition: number): string {
  return `${groupOffsetsPrefix(group)}${topic}/${partition}`
}

/** The range of stored keys holding `group`'s offsets ('0' sorts right after '/'). */
export function groupOffsetsRange(group: string): { start: string; end: string } {
  const prefix = groupOffsetsPrefix(group)
  return { start: prefix, end: `${prefix.slice(0, -1)}0` }
}

/** Topic and partition of a stored key inside `group`'s range. */
export function parseCommittedOffsetKey(group: string, key: string): { topic: string; partition: number } {
  const rest = key.slice(groupOffsetsPrefix(group).length)
  const slash = rest.lastIndexOf('/')
  return { topic: rest.slice(0, slash), partition: Number(rest.slice(slash + 1)) }
}

/** The group a stored offsets key belongs to. */
export function groupOfCommittedOffsetKey(key: string): string {
  return decodeURIComponent(key.slice(0, key.indexOf('/')))
}

function groupOffsetsPrefix(group: string): string {
  return `${encodeURIComponent(group)}/`
}

// ---- share: `${encodeURIComponent(group)}/${topicId}/${partition}` ----

/** The stored key of one share partition's state (KIP-932). */
export function shareStateKey(group: string, topicId: string, partition: number): string {
  return `${encodeURIComponent(group)}/${topicId}/${partition}`
}

/** Group, topic id and partition of a stored share-state key. */
export function parseShareStateKey(key: string): { group: string; topicId: string; partition: number } {
  const [group = '', topicId = '', partition = ''] = key.split('/')
  return { group: decodeURIComponent(group), topicId, partition: Number(partition) }
}

/**
 * The separator of the earlier offsets layout (`group NUL topic NUL partition`), still read once
 * at open to migrate old data directories.
 */
export const LEGACY_OFFSET_KEY_SEPARATOR = '\u0000'
