// Every configuration key Samsa knows, in one table, under Kafka's own names: broker keys (as in a
// server.properties), topic keys and consumer-group keys, each with its type, default, whether it
// can change at run time, and for topic keys the broker keys that supply their default (Kafka's
// ServerTopicConfigSynonyms, in precedence order, with the unit factor of `.hours`/`.minutes` keys).
// Parsing (BrokerConfig, resolveLogConfig), validation (CreateTopics, AlterConfigs) and
// DescribeConfigs all read this table, so a key is declared once.
//
// It lives in storage because the log engine resolves topic configs from it, and storage imports
// nothing above it; the broker and the CLI read it from here.

export type ConfigType = 'int' | 'long' | 'string' | 'boolean' | 'double' | 'list' | 'password'
export type ConfigScope = 'broker' | 'topic' | 'group'

export interface BrokerSynonym {
  name: string
  /** Multiplier to the topic key's unit (log.retention.hours -> retention.ms: 3,600,000). */
  factor?: number
}

export interface ConfigDef {
  name: string
  scope: ConfigScope
  type: ConfigType
  /** null: the key has no value unless set (Kafka's log.retention.ms defers to log.retention.hours). */
  default: string | null
  /** Broker keys only: may be changed at run time through AlterConfigs / IncrementalAlterConfigs. */
  dynamic?: boolean
  sensitive?: boolean
  /** Topic keys only: broker keys that override the default for every topic, first wins. */
  synonyms?: readonly BrokerSynonym[]
  /** Why `v` is not a valid value, or undefined. */
  validate?(v: string): string | undefined
}

export const LONG_MAX = '9223372036854775807'
const INT_MAX = 2147483647
const HOURS = 3_600_000
const MINUTES = 60_000

/** Samsa's default for flush.ms / log.flush.interval.ms (Kafka's: never). */
export const FLUSH_MS_DEFAULT = '1000'

function integer(min: number, max = Number.MAX_VALUE) {
  return (v: string): string | undefined => {
    if (!/^-?\d+$/.test(v.trim())) return `must be an integer, got "${v}"`
    const n = Number(v)
    if (n < min) return `must be at least ${min}`
    if (n > max) return `must be at most ${max}`
    return undefined
  }
}

/** Kafka's group-config wording: one message for both bounds. */
function integerFrom(min: number, max: number) {
  return (v: string): string | undefined => {
    const n = Number(v)
    return !/^-?\d+$/.test(v.trim()) || n < min || n > max ? `must be an integer from ${min} to ${max}` : undefined
  }
}

function oneOf(...allowed: string[]) {
  return (v: string): string | undefined => (allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}, got "${v}"`)
}

/** Kafka's group-config wording: the allowed values only. */
function memberOf(...allowed: string[]) {
  return (v: string): string | undefined => (allowed.includes(v) ? undefined : `must be one of ${allowed.join(', ')}`)
}

function listOf(...allowed: string[]) {
  return (v: string): string | undefined => {
    for (const item of splitList(v)) if (!allowed.includes(item)) return `"${item}" is not one of ${allowed.join(', ')}`
    return undefined
  }
}

function bool(v: string): string | undefined {
  return v === 'true' || v === 'false' ? undefined : `must be true or false, got "${v}"`
}

function double(min: number, max: number) {
  return (v: string): string | undefined => {
    const n = Number(v)
    if (v.trim() === '' || Number.isNaN(n)) return `must be a number, got "${v}"`
    return n < min || n > max ? `must be between ${min} and ${max}` : undefined
  }
}

/** Kafka's ThrottledReplicaListValidator: `*`, or `partition:brokerId` pairs. */
function throttledReplicas(v: string): string | undefined {
  const items = splitList(v)
  if (items.length === 1 && items[0] === '*') return undefined
  for (const item of items) {
    if (!/^\d+\s*:\s*\d+$/.test(item)) return `must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`
  }
  return undefined
}

export function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/** Topic and group keys always have a default. */
export type DefaultedConfigDef = ConfigDef & { default: string }

type Row = Omit<ConfigDef, 'scope'>
type DefaultedRow = Omit<DefaultedConfigDef, 'scope'>
const broker = (rows: Row[]): ConfigDef[] => rows.map((r) => ({ ...r, scope: 'broker' }))
const topic = (rows: DefaultedRow[]): DefaultedConfigDef[] => rows.map((r) => ({ ...r, scope: 'topic' }))
const group = (rows: DefaultedRow[]): DefaultedConfigDef[] => rows.map((r) => ({ ...r, scope: 'group' }))
const syn = (...names: Array<string | [string, number]>): BrokerSynonym[] =>
  names.map((n) => (typeof n === 'string' ? { name: n } : { name: n[0], factor: n[1] }))

export const BROKER_CONFIG_DEFS: readonly ConfigDef[] = broker([
  { name: 'node.id', type: 'int', default: '1' },
  { name: 'broker.id', type: 'int', default: '1' },
  // Cluster mode (broker/cluster): brokers, topics and partition leadership kept in etcd. No
  // endpoints means a single broker, as always.
  { name: 'cluster.etcd.endpoints', type: 'list', default: '' },
  { name: 'cluster.etcd.prefix', type: 'string', default: '/samsa' },
  { name: 'broker.rack', type: 'string', default: null },
  { name: 'broker.session.timeout.ms', type: 'int', default: '9000' },
  { name: 'controlled.shutdown.enable', type: 'boolean', default: 'true' },
  { name: 'controlled.shutdown.timeout.ms', type: 'int', default: '30000' },
  { name: 'auto.leader.rebalance.enable', type: 'boolean', default: 'true' },
  { name: 'leader.imbalance.check.interval.seconds', type: 'long', default: '300' },
  { name: 'listeners', type: 'list', default: 'PLAINTEXT://127.0.0.1:9092' },
  { name: 'advertised.listeners', type: 'list', default: '' },
  {
    name: 'listener.security.protocol.map',
    type: 'string',
    default: 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
  },
  { name: 'inter.broker.listener.name', type: 'string', default: null },
  { name: 'security.inter.broker.protocol', type: 'string', default: 'PLAINTEXT', validate: oneOf('PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL') },
  // How this broker logs in to the others' inter-broker listener (broker/security/inter-broker.ts),
  // with the credentials of listener.name.<listener>.<mechanism>.sasl.jaas.config.
  { name: 'sasl.mechanism.inter.broker.protocol', type: 'string', default: 'GSSAPI' },
  // TLS (broker/security/tls.ts). Samsa reads PEM stores only; a listener may override any of them
  // with listener.name.<listener>.ssl.<key>, as in Kafka.
  { name: 'ssl.keystore.type', type: 'string', default: 'PEM', validate: oneOf('PEM') },
  { name: 'ssl.keystore.location', type: 'string', default: null },
  { name: 'ssl.keystore.password', type: 'password', default: null, sensitive: true },
  { name: 'ssl.key.password', type: 'password', default: null, sensitive: true },
  { name: 'ssl.truststore.type', type: 'string', default: 'PEM', validate: oneOf('PEM') },
  { name: 'ssl.truststore.location', type: 'string', default: null },
  { name: 'ssl.truststore.password', type: 'password', default: null, sensitive: true },
  { name: 'ssl.client.auth', type: 'string', default: 'none', validate: oneOf('required', 'requested', 'none') },
  { name: 'ssl.enabled.protocols', type: 'list', default: 'TLSv1.2,TLSv1.3', validate: listOf('TLSv1.2', 'TLSv1.3') },
  { name: 'ssl.principal.mapping.rules', type: 'string', default: 'DEFAULT' },
  // Whether a broker checks the host name of the broker it connects to against its certificate
  // (https) or not (empty), as a Kafka client does.
  { name: 'ssl.endpoint.identification.algorithm', type: 'string', default: 'https' },
  // Samsa's own: how often the keystore and truststore files are checked for changes.
  { name: 'ssl.reload.check.interval.ms', type: 'long', default: '10000' },
  // SASL (broker/security/sasl/). Each failed login is answered after this delay, then closed.
  { name: 'connection.failed.authentication.delay.ms', type: 'int', default: '100' },
  // Both may be set per listener (listener.name.<listener>.<key>), the session lifetime also per
  // mechanism (listener.name.<listener>.<mechanism>.connections.max.reauth.ms).
  { name: 'connections.max.reauth.ms', type: 'long', default: '0' },
  // The largest request read before a SASL client has authenticated.
  { name: 'sasl.server.max.receive.size', type: 'int', default: '524288' },
  // OAUTHBEARER (broker/security/sasl/oauthbearer-validator.ts); each may also be set per listener
  // as listener.name.<listener>.oauthbearer.<key> or listener.name.<listener>.<key>.
  { name: 'sasl.oauthbearer.jwks.endpoint.url', type: 'string', default: null },
  { name: 'sasl.oauthbearer.jwks.endpoint.refresh.ms', type: 'long', default: '3600000' },
  { name: 'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms', type: 'long', default: '100' },
  { name: 'sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms', type: 'long', default: '10000' },
  { name: 'sasl.oauthbearer.expected.audience', type: 'list', default: null },
  { name: 'sasl.oauthbearer.expected.issuer', type: 'string', default: null },
  { name: 'sasl.oauthbearer.allow.unverified.audience', type: 'boolean', default: 'false' },
  { name: 'sasl.oauthbearer.allow.unverified.issuer', type: 'boolean', default: 'false' },
  { name: 'sasl.oauthbearer.sub.claim.name', type: 'string', default: 'sub' },
  { name: 'sasl.oauthbearer.clock.skew.seconds', type: 'int', default: '30' },
  // Samsa's own: accept unsigned tokens (alg none) as Kafka's default unsecured validator does.
  { name: 'sasl.oauthbearer.unsecured.enable', type: 'boolean', default: 'false' },
  { name: 'log.dirs', type: 'list', default: './samsa-data' },
  { name: 'num.partitions', type: 'int', default: '1', dynamic: true },
  // Not a Kafka key (KIP-578 proposed it): partitions this broker hosts at most, all topics together.
  { name: 'max.broker.partitions', type: 'int', default: '4000', dynamic: true },
  { name: 'default.replication.factor', type: 'int', default: '1' },
  { name: 'auto.create.topics.enable', type: 'boolean', default: 'true', dynamic: true },
  { name: 'delete.topic.enable', type: 'boolean', default: 'true' },
  { name: 'socket.request.max.bytes', type: 'int', default: '104857600' },
  { name: 'connections.max.idle.ms', type: 'long', default: '600000' },
  { name: 'max.connections', type: 'int', default: '10000', dynamic: true },
  { name: 'max.connections.per.ip', type: 'int', default: '2147483647', dynamic: true },
  { name: 'max.connections.per.ip.overrides', type: 'string', default: '', dynamic: true },
  { name: 'queued.max.requests', type: 'int', default: '500' },
  // Broker keys that are also topic defaults (each topic key's `synonyms` below names them).
  { name: 'message.max.bytes', type: 'int', default: '1048588', dynamic: true },
  { name: 'log.segment.bytes', type: 'int', default: '1073741824', dynamic: true },
  // Kafka's time keys come in units, finer first: without log.retention.ms or .minutes set, the
  // value comes from log.retention.hours (168); likewise log.roll.ms from log.roll.hours.
  { name: 'log.roll.ms', type: 'long', default: null, dynamic: true },
  { name: 'log.roll.hours', type: 'int', default: '168' },
  { name: 'log.roll.jitter.ms', type: 'long', default: null },
  { name: 'log.roll.jitter.hours', type: 'int', default: '0' },
  { name: 'log.retention.ms', type: 'long', default: null, dynamic: true },
  { name: 'log.retention.minutes', type: 'int', default: null },
  { name: 'log.retention.hours', type: 'int', default: '168' },
  { name: 'log.retention.bytes', type: 'long', default: '-1', dynamic: true },
  { name: 'log.index.interval.bytes', type: 'int', default: '4096', dynamic: true },
  { name: 'log.index.size.max.bytes', type: 'int', default: '10485760', dynamic: true },
  { name: 'log.flush.interval.messages', type: 'long', default: LONG_MAX, dynamic: true },
  // Samsa flushes once a second by default where Kafka never does: see FLUSH_MS_DEFAULT.
  { name: 'log.flush.interval.ms', type: 'long', default: FLUSH_MS_DEFAULT, dynamic: true },
  { name: 'log.message.timestamp.type', type: 'string', default: 'CreateTime', dynamic: true },
  { name: 'log.message.timestamp.before.max.ms', type: 'long', default: LONG_MAX },
  { name: 'log.message.timestamp.after.max.ms', type: 'long', default: LONG_MAX },
  { name: 'log.segment.delete.delay.ms', type: 'long', default: '60000' },
  { name: 'log.preallocate', type: 'boolean', default: 'false' },
  { name: 'log.local.retention.ms', type: 'long', default: '-2' },
  { name: 'log.local.retention.bytes', type: 'long', default: '-2' },
  { name: 'log.cleaner.delete.retention.ms', type: 'long', default: '86400000' },
  { name: 'log.cleaner.min.compaction.lag.ms', type: 'long', default: '0' },
  { name: 'log.cleaner.max.compaction.lag.ms', type: 'long', default: LONG_MAX },
  { name: 'log.cleaner.min.cleanable.ratio', type: 'double', default: '0.5' },
  { name: 'log.cleaner.enable', type: 'boolean', default: 'true' },
  { name: 'log.cleaner.dedupe.buffer.size', type: 'long', default: '134217728', dynamic: true },
  { name: 'log.cleaner.threads', type: 'int', default: '1', dynamic: true },
  { name: 'log.cleaner.backoff.ms', type: 'long', default: '15000' },
  { name: 'log.cleaner.io.max.bytes.per.second', type: 'double', default: '1.7976931348623157E308', dynamic: true },
  { name: 'log.cleanup.policy', type: 'list', default: 'delete', dynamic: true },
  { name: 'min.insync.replicas', type: 'int', default: '1', dynamic: true },
  { name: 'compression.type', type: 'string', default: 'producer', dynamic: true },
  { name: 'log.retention.check.interval.ms', type: 'long', default: '300000' },
  { name: 'group.initial.rebalance.delay.ms', type: 'int', default: '3000' },
  { name: 'group.min.session.timeout.ms', type: 'int', default: '6000' },
  { name: 'group.max.session.timeout.ms', type: 'int', default: '1800000' },
  { name: 'group.max.size', type: 'int', default: '2147483647' },
  { name: 'group.consumer.session.timeout.ms', type: 'int', default: '45000' },
  { name: 'group.consumer.heartbeat.interval.ms', type: 'int', default: '5000' },
  { name: 'group.coordinator.append.linger.ms', type: 'int', default: '5', validate: integerFrom(0, 2147483647) },
  {
    name: 'group.consumer.assignors',
    type: 'list',
    default: 'org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor',
  },
  {
    name: 'group.consumer.migration.policy',
    type: 'string',
    default: 'bidirectional',
    validate: oneOf('bidirectional', 'upgrade', 'downgrade', 'disabled'),
  },
  { name: 'group.share.session.timeout.ms', type: 'int', default: '45000' },
  { name: 'group.share.heartbeat.interval.ms', type: 'int', default: '5000' },
  { name: 'group.share.max.size', type: 'int', default: '200' },
  { name: 'group.share.record.lock.duration.ms', type: 'int', default: '30000' },
  { name: 'group.share.min.record.lock.duration.ms', type: 'int', default: '15000' },
  { name: 'group.share.max.record.lock.duration.ms', type: 'int', default: '60000' },
  { name: 'group.share.min.session.timeout.ms', type: 'int', default: '45000' },
  { name: 'group.share.max.session.timeout.ms', type: 'int', default: '60000' },
  { name: 'group.share.min.heartbeat.interval.ms', type: 'int', default: '5000' },
  { name: 'group.share.max.heartbeat.interval.ms', type: 'int', default: '15000' },
  { name: 'group.share.delivery.count.limit', type: 'int', default: '5' },
  { name: 'group.share.min.delivery.count.limit', type: 'int', default: '2' },
  { name: 'group.share.max.delivery.count.limit', type: 'int', default: '10' },
  { name: 'group.share.partition.max.record.locks', type: 'int', default: '2000' },
  { name: 'group.share.min.partition.max.record.locks', type: 'int', default: '100' },
  { name: 'group.share.max.partition.max.record.locks', type: 'int', default: '4000' },
  { name: 'group.share.max.share.sessions', type: 'int', default: '2000' },
  { name: 'share.coordinator.state.topic.num.partitions', type: 'int', default: '50' },
  { name: 'share.coordinator.state.topic.replication.factor', type: 'int', default: '3' },
  { name: 'share.coordinator.state.topic.min.isr', type: 'int', default: '2' },
  { name: 'share.coordinator.state.topic.segment.bytes', type: 'int', default: '104857600' },
  { name: 'share.coordinator.write.timeout.ms', type: 'int', default: '5000' },
  // KIP-1191: whether a share group's dead-letter topic is created on first use, and the prefix
  // every dead-letter topic name must start with (empty: any name).
  { name: 'errors.deadletterqueue.auto.create.topics.enable', type: 'boolean', default: 'false', dynamic: true, validate: bool },
  { name: 'errors.deadletterqueue.topic.name.prefix', type: 'string', default: 'dlq.', dynamic: true },
  { name: 'offsets.retention.minutes', type: 'int', default: '10080' },
  { name: 'offsets.retention.check.interval.ms', type: 'long', default: '600000' },
  { name: 'offsets.topic.num.partitions', type: 'int', default: '50' },
  { name: 'offsets.topic.replication.factor', type: 'int', default: '3' },
  { name: 'offsets.topic.segment.bytes', type: 'int', default: '104857600' },
  { name: 'offsets.commit.timeout.ms', type: 'int', default: '5000' },
  { name: 'transaction.state.log.num.partitions', type: 'int', default: '50' },
  { name: 'transaction.state.log.replication.factor', type: 'int', default: '3' },
  { name: 'transaction.state.log.min.isr', type: 'int', default: '2' },
  { name: 'transaction.state.log.segment.bytes', type: 'int', default: '104857600' },
  { name: 'transactional.id.expiration.ms', type: 'int', default: '604800000' },
  { name: 'transaction.max.timeout.ms', type: 'int', default: '900000' },
  { name: 'producer.id.expiration.ms', type: 'int', default: '86400000' },
  { name: 'producer.id.expiration.check.interval.ms', type: 'int', default: '600000' },
  { name: 'transaction.abort.timed.out.transaction.cleanup.interval.ms', type: 'int', default: '10000' },
  { name: 'transaction.remove.expired.transaction.cleanup.interval.ms', type: 'int', default: '3600000' },
  { name: 'transaction.partition.verification.enable', type: 'boolean', default: 'true', dynamic: true },
  { name: 'fetch.max.bytes', type: 'int', default: '57671680' },
  // Samsa's own: memory for Fetch responses the sockets have not taken yet, across all
  // connections (broker/fetch-memory.ts). Past it, a fetch returns only its first batch.
  { name: 'fetch.memory.max.bytes', type: 'long', default: '268435456' },
  { name: 'max.incremental.fetch.session.cache.slots', type: 'int', default: '1000' },
  // Kafka's per-broker reconfigurable keys (KIP-226) for features Samsa does not act on yet. They
  // are stored and described like Kafka does, so admin tools that set them keep working.
  { name: 'background.threads', type: 'int', default: '10', dynamic: true },
  { name: 'num.io.threads', type: 'int', default: '8', dynamic: true },
  { name: 'num.network.threads', type: 'int', default: '3', dynamic: true },
  { name: 'num.replica.fetchers', type: 'int', default: '1', dynamic: true },
  { name: 'replica.lag.time.max.ms', type: 'long', default: '30000' },
  { name: 'replica.fetch.wait.max.ms', type: 'int', default: '500' },
  { name: 'replica.fetch.min.bytes', type: 'int', default: '1' },
  { name: 'replica.fetch.max.bytes', type: 'int', default: '1048576' },
  { name: 'replica.fetch.response.max.bytes', type: 'int', default: '10485760' },
  { name: 'replica.fetch.backoff.ms', type: 'int', default: '1000' },
  { name: 'replica.socket.timeout.ms', type: 'int', default: '30000' },
  { name: 'replica.high.watermark.checkpoint.interval.ms', type: 'long', default: '5000' },
  // Replication throttles (KIP-73): bytes/s for the replicas the topics' *.replication.throttled.replicas
  // name (broker/replication/replication-quota.ts), measured over window.num windows of size.seconds.
  { name: 'leader.replication.throttled.rate', type: 'long', default: LONG_MAX, dynamic: true, validate: integer(0) },
  { name: 'follower.replication.throttled.rate', type: 'long', default: LONG_MAX, dynamic: true, validate: integer(0) },
  { name: 'replication.quota.window.num', type: 'int', default: '11', validate: integer(1, INT_MAX) },
  { name: 'replication.quota.window.size.seconds', type: 'int', default: '1', validate: integer(1, INT_MAX) },
  // Fetch from the closest replica (KIP-392): '' keeps every consumer on the leader; Kafka's
  // org.apache.kafka.common.replica.RackAwareReplicaSelector sends it to a replica in its rack.
  { name: 'replica.selector.class', type: 'string', default: null },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', dynamic: true },
  // ACLs (broker/acls): enforced when authorizer.class.name names an authorizer Samsa accepts.
  { name: 'authorizer.class.name', type: 'string', default: '' },
  { name: 'super.users', type: 'string', default: '' },
  { name: 'allow.everyone.if.no.acl.found', type: 'boolean', default: 'false' },
  { name: 'sasl.enabled.mechanisms', type: 'list', default: 'GSSAPI', dynamic: true },
  { name: 'sasl.jaas.config', type: 'password', default: '', dynamic: true, sensitive: true },
  { name: 'sasl.kerberos.min.time.before.relogin', type: 'long', default: '60000', dynamic: true },
  { name: 'sasl.kerberos.ticket.renew.jitter', type: 'double', default: '0.05', dynamic: true },
  { name: 'sasl.kerberos.ticket.renew.window.factor', type: 'double', default: '0.8', dynamic: true },
  { name: 'sasl.login.refresh.buffer.seconds', type: 'int', default: '300', dynamic: true },
  { name: 'sasl.login.refresh.min.period.seconds', type: 'int', default: '60', dynamic: true },
  { name: 'sasl.login.refresh.window.factor', type: 'double', default: '0.8', dynamic: true },
  { name: 'sasl.login.refresh.window.jitter', type: 'double', default: '0.05', dynamic: true },
])

export const TOPIC_CONFIG_DEFS: readonly DefaultedConfigDef[] = topic([
  { name: 'cleanup.policy', type: 'list', default: 'delete', synonyms: syn('log.cleanup.policy'), validate: listOf('delete', 'compact') },
  {
    name: 'compression.type',
    type: 'string',
    default: 'producer',
    synonyms: syn('compression.type'),
    validate: oneOf('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'),
  },
  { name: 'delete.retention.ms', type: 'long', default: '86400000', synonyms: syn('log.cleaner.delete.retention.ms'), validate: integer(0) },
  { name: 'file.delete.delay.ms', type: 'long', default: '60000', synonyms: syn('log.segment.delete.delay.ms'), validate: integer(0) },
  { name: 'flush.messages', type: 'long', default: LONG_MAX, synonyms: syn('log.flush.interval.messages'), validate: integer(1) },
  // Kafka never flushes by default and leaves writeback to the kernel, which writes dirty pages
  // back in bursts once they are 30 s old; a write() that meets such a burst stalls for 100 ms or
  // more, and on Samsa's one event loop that stalls every client. Flushing each partition in the
  // background once a second keeps writeback continuous (bench/README.md has the measurements).
  { name: 'flush.ms', type: 'long', default: FLUSH_MS_DEFAULT, synonyms: syn('log.flush.interval.ms'), validate: integer(0) },
  { name: 'follower.replication.throttled.replicas', type: 'list', default: '', validate: throttledReplicas },
  { name: 'index.interval.bytes', type: 'int', default: '4096', synonyms: syn('log.index.interval.bytes'), validate: integer(0, INT_MAX) },
  { name: 'leader.replication.throttled.replicas', type: 'list', default: '', validate: throttledReplicas },
  { name: 'local.retention.bytes', type: 'long', default: '-2', synonyms: syn('log.local.retention.bytes'), validate: integer(-2) },
  { name: 'local.retention.ms', type: 'long', default: '-2', synonyms: syn('log.local.retention.ms'), validate: integer(-2) },
  { name: 'max.compaction.lag.ms', type: 'long', default: LONG_MAX, synonyms: syn('log.cleaner.max.compaction.lag.ms'), validate: integer(1) },
  { name: 'max.message.bytes', type: 'int', default: '1048588', synonyms: syn('message.max.bytes'), validate: integer(0, INT_MAX) },
  {
    name: 'message.timestamp.after.max.ms',
    type: 'long',
    default: LONG_MAX,
    synonyms: syn('log.message.timestamp.after.max.ms'),
    validate: integer(0),
  },
  {
    name: 'message.timestamp.before.max.ms',
    type: 'long',
    default: LONG_MAX,
    synonyms: syn('log.message.timestamp.before.max.ms'),
    validate: integer(0),
  },
  {
    name: 'message.timestamp.type',
    type: 'string',
    default: 'CreateTime',
    synonyms: syn('log.message.timestamp.type'),
    validate: oneOf('CreateTime', 'LogAppendTime'),
  },
  {
    name: 'min.cleanable.dirty.ratio',
    type: 'double',
    default: '0.5',
    synonyms: syn('log.cleaner.min.cleanable.ratio'),
    validate: double(0, 1),
  },
  { name: 'min.compaction.lag.ms', type: 'long', default: '0', synonyms: syn('log.cleaner.min.compaction.lag.ms'), validate: integer(0) },
  { name: 'min.insync.replicas', type: 'int', default: '1', synonyms: syn('min.insync.replicas'), validate: integer(1, INT_MAX) },
  { name: 'preallocate', type: 'boolean', default: 'false', synonyms: syn('log.preallocate'), validate: bool },
  { name: 'remote.storage.enable', type: 'boolean', default: 'false', validate: bool },
  { name: 'retention.bytes', type: 'long', default: '-1', synonyms: syn('log.retention.bytes'), validate: integer(-1) },
  {
    name: 'retention.ms',
    type: 'long',
    default: '604800000',
    // Kafka gives the finer unit precedence: ms over minutes over hours.
    synonyms: syn('log.retention.ms', ['log.retention.minutes', MINUTES], ['log.retention.hours', HOURS]),
    validate: integer(-1),
  },
  // Kafka's lower bound for segment.bytes is tiny (14) so tests can roll often; keep it.
  { name: 'segment.bytes', type: 'int', default: '1073741824', synonyms: syn('log.segment.bytes'), validate: integer(14, INT_MAX) },
  { name: 'segment.index.bytes', type: 'int', default: '10485760', synonyms: syn('log.index.size.max.bytes'), validate: integer(4, INT_MAX) },
  { name: 'segment.jitter.ms', type: 'long', default: '0', synonyms: syn('log.roll.jitter.ms', ['log.roll.jitter.hours', HOURS]), validate: integer(0) },
  { name: 'segment.ms', type: 'long', default: '604800000', synonyms: syn('log.roll.ms', ['log.roll.hours', HOURS]), validate: integer(1) },
  {
    name: 'unclean.leader.election.enable',
    type: 'boolean',
    default: 'false',
    synonyms: syn('unclean.leader.election.enable'),
    validate: bool,
  },
  // KIP-1191: only a topic that allows it receives a share group's dead-letter records.
  { name: 'errors.deadletterqueue.group.enable', type: 'boolean', default: 'false', validate: bool },
])

/** Group-level overrides (Kafka 4.0, KIP-848/932), with Kafka's defaults and bounds. */
export const GROUP_CONFIG_DEFS: readonly DefaultedConfigDef[] = group([
  { name: 'consumer.heartbeat.interval.ms', type: 'int', default: '5000', validate: integerFrom(5000, 15000) },
  { name: 'consumer.session.timeout.ms', type: 'int', default: '45000', validate: integerFrom(45000, 60000) },
  { name: 'share.auto.offset.reset', type: 'string', default: 'latest', validate: memberOf('latest', 'earliest') },
  { name: 'share.delivery.count.limit', type: 'int', default: '5', validate: integer(1, INT_MAX) },
  { name: 'share.heartbeat.interval.ms', type: 'int', default: '5000', validate: integer(1, INT_MAX) },
  { name: 'share.partition.max.record.locks', type: 'int', default: '2000', validate: integer(1, INT_MAX) },
  { name: 'share.isolation.level', type: 'string', default: 'read_uncommitted', validate: memberOf('read_uncommitted', 'read_committed') },
  { name: 'share.record.lock.duration.ms', type: 'int', default: '30000', validate: integer(1, INT_MAX) },
  { name: 'share.session.timeout.ms', type: 'int', default: '45000', validate: integer(1, INT_MAX) },
  // KIP-1191 dead-letter topic of a share group (empty: none), and whether the record's key, value
  // and headers are copied into the dead-letter record.
  { name: 'errors.deadletterqueue.topic.name', type: 'string', default: '', validate: deadLetterTopicName },
  { name: 'errors.deadletterqueue.copy.record.enable', type: 'boolean', default: 'false', validate: bool },
  // Samsa's own: a released or lock-expired record waits initial * multiplier^(deliveries - 1) ms,
  // at most max, before it can be delivered again. 0 (the default) turns the back-off off.
  { name: 'samsa.share.retry.backoff.initial.ms', type: 'int', default: '0', validate: integer(0, INT_MAX) },
  { name: 'samsa.share.retry.backoff.multiplier', type: 'double', default: '2', validate: double(1, 1000) },
  { name: 'samsa.share.retry.backoff.max.ms', type: 'int', default: '60000', validate: integer(0, INT_MAX) },
])

/** A dead-letter topic name: empty, or a legal topic name that is not internal (Kafka's rule). */
function deadLetterTopicName(v: string): string | undefined {
  if (v === '') return undefined
  if (v.startsWith('__')) return 'must not start with __'
  if (v.length > 249 || !/^[a-zA-Z0-9._-]+$/.test(v) || v === '.' || v === '..') return `"${v}" is not a legal topic name`
  return undefined
}

/**
 * Group settings whose bounds are broker settings (Kafka's GroupConfig checks the share timeouts
 * against group.share.min/max.*): group key -> [broker minimum key, broker maximum key].
 */
export const GROUP_CONFIG_BROKER_BOUNDS: Readonly<Record<string, readonly [string, string]>> = {
  'share.record.lock.duration.ms': ['group.share.min.record.lock.duration.ms', 'group.share.max.record.lock.duration.ms'],
  'share.session.timeout.ms': ['group.share.min.session.timeout.ms', 'group.share.max.session.timeout.ms'],
  'share.heartbeat.interval.ms': ['group.share.min.heartbeat.interval.ms', 'group.share.max.heartbeat.interval.ms'],
  'share.delivery.count.limit': ['group.share.min.delivery.count.limit', 'group.share.max.delivery.count.limit'],
  'share.partition.max.record.locks': ['group.share.min.partition.max.record.locks', 'group.share.max.partition.max.record.locks'],
}

export const CONFIG_DEFS: readonly ConfigDef[] = [...BROKER_CONFIG_DEFS, ...TOPIC_CONFIG_DEFS, ...GROUP_CONFIG_DEFS]

const byName = {
  broker: new Map(BROKER_CONFIG_DEFS.map((d) => [d.name, d])),
  topic: new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d])),
  group: new Map(GROUP_CONFIG_DEFS.map((d) => [d.name, d])),
}

/** The definition of `name` at `scope`, if Samsa knows the key. */
export function configDef(scope: 'topic' | 'group', name: string): DefaultedConfigDef | undefined
export function configDef(scope: ConfigScope, name: string): ConfigDef | undefined
export function configDef(scope: ConfigScope, name: string): ConfigDef | undefined {
  return byName[scope].get(name)
}

const topicByBrokerKey = new Map(TOPIC_CONFIG_DEFS.filter((d) => d.synonyms !== undefined).map((d) => [d.synonyms![0]!.name, d]))

/** The topic key whose first broker synonym is `brokerKey` (log.segment.bytes -> segment.bytes). */
export function topicDefForBrokerKey(brokerKey: string): ConfigDef | undefined {
  return topicByBrokerKey.get(brokerKey)
}
