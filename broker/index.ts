// The embeddable broker: `startBroker()` runs a complete Samsa broker inside the calling process.
// `samsa serve` is a thin wrapper around it.
import { mkdtemp, mkdir, access, constants, rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { pino, type Logger } from 'pino'
import { LogManager } from '../storage/log-manager.js'
import { POOL_WRITE_MIN_BYTES } from '../storage/partition-log.js'
import { splitList } from '../storage/config-defs.js'
import { groupConfigKey, CLUSTER_ID_KEY } from '../storage/metadata-keys.js'
import { BrokerConfig } from './config.js'
import type { BrokerContext } from './context.js'
import { KafkaError } from './errors.js'
import { ErrorCode } from '../protocol/errors.js'
import type { ReplicaManager } from './replication/replica-manager.js'
import { replicaSelectorFor } from './replication/replica-selector.js'
import type { IsrChanges } from './cluster/partition-state.js'
import { Authorizer, authorizerEnabled } from './acls/authorizer.js'
import { AclStore } from '../storage/acl-store.js'
import { FetchWaiters } from './fetch-waiters.js'
import { FetchMemory } from './fetch-memory.js'
import { FetchSessionCache } from './fetch-sessions.js'
import { GroupCoordinator } from './groups/coordinator.js'
import { clusterTopics, coordinatorStateFor, hasLegacyState, loadLocalState, warnOfLegacyState } from './coordinator-state/setup.js'
import { OFFSETS_TOPIC } from './coordinator-state/state-topics.js'
import { loadLocalShareState, shareStateFor, warnOfLegacyShareState } from './coordinator-state/share-setup.js'
import { SHARE_STATE_TOPIC } from './coordinator-state/share-state.js'
import { ShareCoordinatorPersister } from './share/share-persister.js'
import { migrateLocalTransactions, transactionStateFor, warnOfLegacyTransactions } from './coordinator-state/txn-setup.js'
import { txnMarkerTargets } from './coordinator-state/offset-markers.js'
import { useClusterCoordinators } from './coordinator-state/cluster-coordinators.js'
import { isInternalTopic } from './coordinator-state/internal-topics.js'
import type { ConsumerMigrationPolicy } from './groups/types.js'
import { clientTelemetryHandlers, handlers } from './handlers/index.js'
import { Router } from './router.js'
import { TransactionCoordinator } from './txn/coordinator.js'
import { TcpServer } from './server.js'
import { advertise, configuredListeners, listenerConfig, usesSasl, usesTls, type BoundListener, type SecurityProtocol } from './security/listeners.js'
import { TlsListener } from './security/tls.js'
import { interBrokerSecurity, type InterBrokerSecurity } from './security/inter-broker.js'
import { ScramCredentialStore } from './security/scram-credentials.js'
import { FailedLogins } from './security/sasl/authenticator.js'
import type { OAuthBearerValidator } from './security/sasl/oauthbearer-validator.js'
import { NO_METRICS, timedFileIO, type BrokerMetrics } from './metrics.js'
import { nodeFileIO } from '../storage/file-io.js'
import { nativeSendfile, type SendfileFn } from '../storage/file-slice.js'
import type { HttpEndpoint, HttpOptions } from './http/endpoint.js'
import { ClientTelemetry } from './telemetry/client-telemetry.js'
import { SharePartitionManager } from './share/share-partition-manager.js'
import { ShareSessionCache } from './share/share-sessions.js'
import { shareSettings } from './share/share-settings.js'
import { ShareDeadLetterWriter } from './share/share-dead-letter.js'
import { clusterAddress, openAdminState, startClusterNode, type AdminStateChoice } from './cluster/start.js'
import type { ClusterNode } from './cluster/cluster-node.js'

export { BrokerConfig, loadServerProperties, BROKER_CONFIG_DEFS } from './config.js'
export type { HttpOptions } from './http/endpoint.js'

export interface BrokerOptions {
  /** Data directory; without one the broker uses a fresh temporary directory, removed by stop(). */
  dataDir?: string
  /** Interface to bind; default 127.0.0.1. */
  host?: string
  /** TCP port; 0 picks a free one. Default 9092. */
  port?: number
  /** Host name clients are told to connect to; default the bound host. */
  advertisedHost?: string
  advertisedPort?: number
  nodeId?: number
  /** Kafka broker configuration keys, e.g. `num.partitions`, `log.retention.ms`. */
  config?: Record<string, string>
  /** pino level; default 'warn' (quiet in tests). */
  logLevel?: string
  logger?: Logger
  /** The HTTP endpoint (metrics, probes, console); none without. */
  http?: HttpOptions
  /**
   * Send Fetch responses' record batches from the segment files with sendfile(2) where the addon
   * built (storage/native); default true unless SAMSA_SENDFILE=0. TLS connections always copy.
   */
  sendfile?: boolean
  /**
   * Cluster mode's replication: partitions get their roles through `replicas` (ReplicaRoles) and
   * ISR changes go through `isrChanges`. Without it the broker is a single broker, as ever.
   */
  replication?: { isrChanges: IsrChanges }
  /**
   * Produced batches are copied into the segment files on the libuv pool when a partition's write
   * has this many bytes or more, else on the event loop (default Infinity, storage's
   * POOL_WRITE_MIN_BYTES: always the loop; 0: always the pool; 65536: the large writes).
   * SAMSA_POOL_WRITE_MIN_BYTES sets it when the option is absent.
   */
  poolWriteMinBytes?: number
}

export interface RunningBroker {
  host: string
  port: number
  /** host:port, ready for a client's bootstrap list. */
  address: string
  /** Every listener as bound, in `listeners` order; host, port and address above are the first's. */
  listeners: Array<{ name: string; securityProtocol: SecurityProtocol; host: string; port: number; address: string }>
  dataDir: string
  nodeId: number
  clusterId: string
  /** The HTTP endpoint as bound, when one was asked for. */
  http?: { host: string; port: number; url: string }
  /** Cluster mode: where partitions get their leader and follower roles. */
  replicas?: ReplicaManager
  stop(): Promise<void>
}

export async function startBroker(opts: BrokerOptions = {}): Promise<RunningBroker> {
  const logger = opts.logger ?? pino({ level: opts.logLevel ?? 'warn' })
  const dataDir = path.resolve(opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'samsa-'))))
  await ensureWritableDir(dataDir)

  const config = new BrokerConfig(opts.config ?? {})
  const aclsEnforced = authorizerEnabled(config.get('authorizer.class.name'))
  const replicaSelector = replicaSelectorFor(config.get('replica.selector.class'))
  const nodeId = opts.nodeId ?? config.getInt('node.id')
  // Without `listeners` the broker has one PLAINTEXT listener on host:port (127.0.0.1:9092).
  const first = config.has('listeners')
    ? { host: opts.host, port: opts.port, advertisedHost: opts.advertisedHost, advertisedPort: opts.advertisedPort }
    : { host: opts.host ?? '127.0.0.1', port: opts.port ?? 9092, advertisedHost: opts.advertisedHost, advertisedPort: opts.advertisedPort }
  const listeners = configuredListeners(config, first)
  // Without --cluster a single broker. In cluster mode, how this broker reaches the others is
  // checked before anything starts.
  const single = clusterAddress(config) === undefined
  const interBroker: InterBrokerSecurity | undefined = single ? undefined : interBrokerSecurity(config, listeners)
  // Replication's modules load only where partitions have followers: in cluster mode, or with the
  // roles a test gives. Loaded here, before the listeners, so that a request never waits on them.
  const replication = opts.replication?.isrChanges !== undefined || !single ? await import('./replication/replica-manager.js') : undefined

  // The HTTP endpoint comes up first, so /healthz answers and /readyz says "not yet" while the
  // logs are recovered; `live` is the broker once it serves.
  let live: BrokerContext | undefined
  let server: TcpServer | undefined
  // The HTTP endpoint's modules (the metrics library among them) and the OAUTHBEARER validator's
  // (a JOSE library) load only when used: they are a large part of a single broker's start.
  const prometheus = opts.http === undefined ? undefined : new (await import('./http/prometheus.js')).PrometheusMetrics({ broker: () => live, connections: () => server?.connectionsByListener() ?? new Map() })
  const metrics: BrokerMetrics = prometheus ?? NO_METRICS
  let http: HttpEndpoint | undefined
  if (opts.http !== undefined) {
    const requireLogin = listeners.some((l) => usesSasl(l.securityProtocol))
    http = new (await import('./http/endpoint.js')).HttpEndpoint({ ...opts.http, host: opts.http.host ?? opts.host ?? '127.0.0.1' }, {
      config,
      logger,
      metrics: prometheus!,
      broker: () => live,
      requireLogin,
      interBroker: interBroker === undefined ? undefined : { listenerName: interBroker.listener.name, security: interBroker.security },
    })
    await http.listen()
  }

  const poolWriteMinBytes = poolWriteMinBytesFrom(opts.poolWriteMinBytes)
  let logs: LogManager
  try {
    logs = await LogManager.open({
      dataDir,
      brokerConfig: config.overrides(),
      logger,
      retentionCheckIntervalMs: config.getLong('log.retention.check.interval.ms'),
      io: metrics.enabled ? timedFileIO(nodeFileIO, metrics) : undefined,
      poolWriteMinBytes,
      // A single broker opens its internal topics after it serves, and reads them back then.
      openLater: single ? isInternalTopic : undefined,
    })
  } catch (err) {
    await http?.close()
    throw err
  }
  // ACLs, SCRAM credentials, group and dynamic broker configs: this broker's metadata store, or
  // in cluster mode etcd, watched so that a change made through any broker applies here too.
  let admin: AdminStateChoice
  try {
    admin = await openAdminState(config, logs.metadata, nodeId, logger)
  } catch (err) {
    await logs.close()
    await http?.close()
    throw err
  }
  const adminState = admin.state
  const { brokerConfigKeys } = admin
  const loadDynamicConfig = (): void => {
    config.replaceDynamic(adminState.get<Record<string, string>>(brokerConfigKeys.broker) ?? {}, 'broker')
    if (brokerConfigKeys.clusterDefault !== brokerConfigKeys.broker) {
      config.replaceDynamic(adminState.get<Record<string, string>>(brokerConfigKeys.clusterDefault) ?? {}, 'default')
    }
  }
  loadDynamicConfig()
  if (Object.keys(config.dynamicEntries('broker')).length + Object.keys(config.dynamicEntries('default')).length > 0) logs.setBrokerConfig(config.overrides())
  adminState.onChange((key) => {
    if (key !== brokerConfigKeys.broker && key !== brokerConfigKeys.clusterDefault) return
    loadDynamicConfig()
    // Topics without an override follow the new broker-level defaults at once.
    logs.setBrokerConfig(config.overrides())
  })

  // A single broker makes its cluster id on its first start. In cluster mode the directory's id, if
  // it has one, must be the cluster's (data-dir-membership.ts); a new directory takes the cluster's.
  const storedClusterId = logs.metadata.get<string>(CLUSTER_ID_KEY) || undefined
  let clusterId = storedClusterId ?? randomBytes(16).toString('base64url')
  if (storedClusterId === undefined && single) await logs.metadata.put(CLUSTER_ID_KEY, clusterId)

  // Committed offsets live in __consumer_offsets: the group coordinator serves the groups of the
  // partitions this broker leads (every partition, on a single broker).
  const coordinatorState = coordinatorStateFor(config, logs, logger)
  // Share-partition state lives in __share_group_state, served by the share coordinator of each.
  const shareState = shareStateFor(coordinatorState.topics, config)
  const groups = new GroupCoordinator({
    store: coordinatorState.groups,
    ownership: (groupId) => coordinatorState.topics.refusal(OFFSETS_TOPIC, groupId),
    logs: {
      partitionCount: (topic) => logs.getTopic(topic)?.partitions,
      topicId: (topic) => logs.getTopic(topic)?.topicId,
      topicNames: () => logs.listTopics().map((t) => t.name),
    },
    logger,
    config: {
      groupInitialRebalanceDelayMs: config.getInt('group.initial.rebalance.delay.ms'),
      groupMinSessionTimeoutMs: config.getInt('group.min.session.timeout.ms'),
      groupMaxSessionTimeoutMs: config.getInt('group.max.session.timeout.ms'),
      groupMaxSize: config.getInt('group.max.size'),
      offsetsRetentionMinutes: config.getInt('offsets.retention.minutes'),
      offsetsRetentionCheckIntervalMs: config.getLong('offsets.retention.check.interval.ms'),
      consumerSessionTimeoutMs: config.getInt('group.consumer.session.timeout.ms'),
      consumerHeartbeatIntervalMs: config.getInt('group.consumer.heartbeat.interval.ms'),
      consumerAssignors: splitList(config.get('group.consumer.assignors')),
      consumerMigrationPolicy: config.get('group.consumer.migration.policy') as ConsumerMigrationPolicy,
      shareSessionTimeoutMs: config.getInt('group.share.session.timeout.ms'),
      shareHeartbeatIntervalMs: config.getInt('group.share.heartbeat.interval.ms'),
      shareMaxSize: config.getInt('group.share.max.size'),
    },
    groupConfig: (groupId) => adminState.get<Record<string, string>>(groupConfigKey(groupId)),
  })
  coordinatorState.groups.setListener(groups)
  // Transactions live in __transaction_state; markers for __consumer_offsets partitions settle the
  // groups' transactional offsets here instead of being appended.
  const txnState = transactionStateFor(config, coordinatorState.topics)
  const markerTargets = txnMarkerTargets(logs, coordinatorState.groups, groups)
  const txn = new TransactionCoordinator({
    state: txnState,
    producerIdStore: logs.metadata,
    logs: markerTargets,
    offsetsPartition: (groupId) => ({ topic: OFFSETS_TOPIC, partition: coordinatorState.groups.topic.partitionFor(groupId) }),
    logger,
    config: {
      transactionMaxTimeoutMs: config.getInt('transaction.max.timeout.ms'),
      transactionalIdExpirationMs: config.getInt('transactional.id.expiration.ms'),
      abortTimedOutTransactionsIntervalMs: config.getInt('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
      removeExpiredTransactionalIdsIntervalMs: config.getInt('transaction.remove.expired.transaction.cleanup.interval.ms'),
    },
    verifyPartitions: () => config.getBool('transaction.partition.verification.enable'),
  })
  // A single broker reads its internal topics back once it serves (below), or before when it moves
  // an older release's state into them; a cluster member as it becomes their partitions' leader.
  // Offsets first: restoring transactions (aborting those a stop left open) settles their offsets.
  const loadCoordinators = async (): Promise<void> => {
    await loadLocalState(coordinatorState, logs, logger)
    await loadLocalShareState(shareState, coordinatorState.topics, logs, logger)
    await migrateLocalTransactions(coordinatorState.topics, txnState, logs.metadata, logger)
    await txnState.setListener(txn)
  }
  const loadBeforeServing = single && hasLegacyState(logs.metadata)
  try {
    if (loadBeforeServing) await loadCoordinators()
    if (!single) {
      warnOfLegacyState(logs, logger)
      warnOfLegacyShareState(logs, logger)
      warnOfLegacyTransactions(logs.metadata, logger)
      await txnState.setListener(txn)
    }
  } catch (err) {
    coordinatorState.topics.close()
    txn.close()
    groups.close()
    await adminState.close()
    await logs.close()
    await http?.close()
    throw err
  }
  const fetchWaiters = new FetchWaiters()
  const { sendfile, why: sendfileWhy } = fetchSendPath(opts.sendfile)
  // Share groups whose members are gone come back Empty with their share-partition state.
  const shareConfig = shareSettings(config, adminState)
  const deadLetters = new ShareDeadLetterWriter(logs, config, shareConfig, logger)
  const sharePersister = new ShareCoordinatorPersister({
    coordinator: shareState,
    ensureTopic: () => coordinatorState.topics.ensure(SHARE_STATE_TOPIC),
    logger,
    retryMs: config.getInt('share.coordinator.write.timeout.ms'),
  })
  // In cluster mode only the leader of a partition serves its share partitions, at its leader epoch.
  let leaders: ReplicaManager | undefined
  const share = new SharePartitionManager({
    logs,
    store: sharePersister,
    settings: shareConfig,
    logger,
    deadLetters,
    leaderEpoch:
      single
        ? undefined
        : (topic, partition) => (leaders?.leaderOf(topic, partition) === undefined ? undefined : leaders.currentLeader(topic, partition).leaderEpoch),
  })
  for (const groupId of share.groupIds()) groups.restoreShareGroup(groupId)
  const shareSessions = new ShareSessionCache(() => config.getInt('group.share.max.share.sessions'))
  groups.setShareGroupListener({
    memberExpired(groupId, memberId) {
      shareSessions.removeMember(groupId, memberId)
    },
    async groupDeleted(groupId) {
      shareSessions.removeGroup(groupId)
      await share.deleteState(groupId)
    },
    isInitialized: (groupId, topicId, partition) => share.isInitialized(groupId, topicId, partition),
    initialize: (groupId, partitions) => share.initialize(groupId, partitions),
  })

  let ctx: BrokerContext | undefined
  // Client telemetry is asked for only when there is somewhere to show it.
  const telemetry = opts.http === undefined ? undefined : new ClientTelemetry({ pushIntervalMs: opts.http.clientTelemetryIntervalMs ?? 60_000, maxBytes: 1024 * 1024 })
  const router = new Router(telemetry === undefined ? handlers : [...handlers, ...clientTelemetryHandlers], () => ctx!, logger)
  let bound: BoundListener[]
  let oauthBearer = new Map<string, OAuthBearerValidator>()
  // Closes the services opened above (not the listeners or replicas) when a later step of the start fails.
  const closeServices = async (): Promise<void> => {
    for (const v of oauthBearer.values()) v.close()
    coordinatorState.topics.close()
    txn.close()
    groups.close()
    await share.close()
    await adminState.close()
    sharePersister.close()
    await logs.close()
    await http?.close()
  }
  try {
    if (listeners.some((l) => usesSasl(l.securityProtocol))) oauthBearer = await (await import('./security/sasl/oauthbearer-validator.js')).oauthBearerValidators(config, listeners, logger)
    const tls = new Map(listeners.filter((l) => usesTls(l.securityProtocol)).map((l) => [l.name, new TlsListener(config, l, logger)]))
    server = new TcpServer(router, {
      listeners,
      tls,
      advertise: (endpoints) => advertise(config, endpoints, first),
      maxRequestBytes: config.getInt('socket.request.max.bytes'),
      maxUnauthenticatedBytes: (name) => Number.parseInt(listenerConfig(config, name, 'sasl.server.max.receive.size'), 10) || 0,
      maxConnections: () => config.getInt('max.connections'),
      maxConnectionsPerIp: () => config.getInt('max.connections.per.ip'),
      maxConnectionsPerIpOverrides: () => config.get('max.connections.per.ip.overrides'),
      idleTimeoutMs: config.getLong('connections.max.idle.ms'),
      maxInFlightPerConnection: 100,
      logger,
      metrics,
      sendfile,
    })
    bound = await server.listen()
  } catch (err) {
    await closeServices()
    throw err
  }
  // Cluster mode replicates: partitions get their roles from the cluster metadata, and ISR changes
  // go back to it (the cluster node, joined below). Tests may give the roles themselves.
  let cluster: ClusterNode | undefined
  const isrChanges: IsrChanges | undefined =
    opts.replication?.isrChanges ??
    (single
      ? undefined
      : {
          alterIsr: (topic, partition, leaderEpoch, partitionEpoch, isr) =>
            cluster === undefined
              ? Promise.reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'not yet part of the cluster'))
              : cluster.alterIsr(topic, partition, leaderEpoch, partitionEpoch, isr),
        })
  const replicas =
    isrChanges === undefined || replication === undefined
      ? undefined
      : new replication.ReplicaManager({
          nodeId,
          logs,
          isrChanges,
          logger,
          setting: (name) => Number(config.get(name)),
          security: interBroker?.security,
          replicaSelector,
          rackOf: (id) => cluster?.image.liveBrokers().find((b) => b.nodeId === id)?.rack ?? null,
          isrEligible: (id) => cluster === undefined || (cluster.image.isLive(id) && !cluster.image.shuttingDown.has(id)),
        })
  // Internal topics go through etcd only in cluster mode; replication given by a test keeps them local.
  if (replicas !== undefined && !single) coordinatorState.topics.useCluster(clusterTopics(() => cluster), replicas)
  leaders = replicas
  ctx = {
    nodeId,
    clusterId,
    replicas,
    advertisedHost: bound[0]!.advertisedHost,
    advertisedPort: bound[0]!.advertisedPort,
    config,
    logs,
    groups,
    coordinatorTopics: coordinatorState.topics,
    shareCoordinator: shareState,
    txnMarkerTargets: markerTargets,
    txn,
    fetchWaiters,
    fetchMemory: new FetchMemory(config.getLong('fetch.memory.max.bytes')),
    sendfile: sendfile !== undefined,
    fetchSessions: new FetchSessionCache(config.getInt('max.incremental.fetch.session.cache.slots')),
    share,
    shareSessions,
    logger,
    authorizer: aclsEnforced ? new Authorizer(new AclStore(adminState), config) : undefined,
    servedApis: router.served,
    scramCredentials: new ScramCredentialStore(adminState),
    oauthBearer,
    failedLogins: new FailedLogins(),
    metrics,
    telemetry,
    adminState,
    brokerConfigKeys,
  }
  // Cluster mode: join the cluster in etcd once the listeners are bound, since the registration
  // carries their addresses. Without cluster.etcd.endpoints this is a single broker, as always.
  try {
    const roles = replicas === undefined ? undefined : coordinatorState.topics.roles(replicas)
    cluster = await startClusterNode({ config, nodeId, logs, logger, listeners: bound, localClusterId: storedClusterId, roles })
  } catch (err) {
    await replicas?.close()
    await server.close()
    await closeServices()
    throw err
  }
  if (cluster !== undefined) {
    ctx.cluster = cluster
    useClusterCoordinators({ cluster, nodeId, txn, markerTargets, sharePersister, logger, listenerName: interBroker?.listener.name, security: interBroker?.security, logs, replicas })
    if (cluster.clusterId !== storedClusterId) await logs.metadata.put(CLUSTER_ID_KEY, cluster.clusterId)
    clusterId = ctx.clusterId = cluster.clusterId
  }
  const main = bound[0]!
  live = ctx
  // Meanwhile the coordinators answer COORDINATOR_LOAD_IN_PROGRESS, which clients retry.
  const coordinatorsLoaded =
    !single || loadBeforeServing
      ? Promise.resolve()
      : coordinatorState.topics.loadLocalInBackground(async () => {
          await loadCoordinators()
          share.readStoredStates()
          for (const groupId of share.groupIds()) groups.restoreShareGroup(groupId)
        })
  logger.info({ listeners: bound.map((l) => `${l.name}://${l.host}:${l.port}`), dataDir, nodeId, clusterId }, 'broker started')
  if (interBroker !== undefined) logger.info({ listener: interBroker.listener.name, ...interBroker.identity }, 'other brokers are reached on their inter-broker listener')
  logger.info({ fetchPath: sendfile !== undefined ? 'sendfile' : 'copy', why: sendfileWhy }, sendfile !== undefined ? 'Fetch sends record batches with sendfile (TLS connections copy)' : 'Fetch copies record batches')
  logger.info({ poolWriteMinBytes }, 'Produce writes of this size or more go to the libuv pool')

  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Leadership moves to other brokers first, while this one still serves its followers.
      await cluster?.stop()
      live = undefined
      await coordinatorsLoaded
      // Parked requests answer now, so the connections go idle without waiting out what clients
      // asked for: long polls with what they have, joins and syncs with NOT_COORDINATOR (as a
      // Kafka coordinator that unloads its groups), so their members find the coordinator again.
      fetchWaiters.close()
      // The last share-state writes finish while the share coordinator still serves.
      await share.close()
      sharePersister.close()
      coordinatorState.topics.close()
      groups.close()
      await replicas?.close()
      await server.close()
      for (const v of oauthBearer.values()) v.close()
      txn.close()
      await share.close()
      await adminState.close()
      await logs.close()
      await http?.close()
      // A temporary directory made for an embedded broker goes with it; a given one is kept.
      if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true })
      logger.info('broker stopped')
    })()
    return stopping
  }

  return {
    host: main.host,
    port: main.port,
    address: `${main.advertisedHost}:${main.port}`,
    listeners: bound.map((l) => ({ name: l.name, securityProtocol: l.securityProtocol, host: l.host, port: l.port, address: `${l.advertisedHost}:${l.port}` })),
    dataDir,
    nodeId,
    clusterId,
    http: http === undefined ? undefined : { host: http.host, port: http.port, url: http.url },
    replicas,
    stop,
  }
}

async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
    await access(dir, constants.W_OK)
  } catch (err) {
    const e = new Error(`data directory ${dir} is not writable: ${(err as Error).message}`)
    ;(e as NodeJS.ErrnoException).code = 'EDATADIR'
    throw e
  }
}

/** The option, else SAMSA_POOL_WRITE_MIN_BYTES (a byte count, or Infinity), else storage's default. */
function poolWriteMinBytesFrom(option: number | undefined): number {
  if (option !== undefined) return option
  const env = process.env.SAMSA_POOL_WRITE_MIN_BYTES
  if (env === undefined || env === '') return POOL_WRITE_MIN_BYTES
  const n = Number(env)
  if (!(n >= 0)) throw new Error(`SAMSA_POOL_WRITE_MIN_BYTES must be a byte count or Infinity, got '${env}'`)
  return n
}

/** sendfile for Fetch responses unless turned off (option, or SAMSA_SENDFILE=0) or the addon is missing. */
function fetchSendPath(option: boolean | undefined): { sendfile?: SendfileFn; why: string } {
  const env = process.env.SAMSA_SENDFILE
  if (option === false || (option === undefined && (env === '0' || env === 'false' || env === 'off'))) {
    return { why: option === false ? 'turned off by the sendfile option' : `turned off by SAMSA_SENDFILE=${env}` }
  }
  return nativeSendfile()
}
