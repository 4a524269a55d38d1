// The console's source inside the broker: its own logs, groups, share partitions, ACLs and users,
// read in process with no Kafka round trip. With an authorizer every answer is cut to what the
// caller's principal may DESCRIBE, messages need READ, and actions the ACL the Kafka request
// would need (CREATE, DELETE, ALTER_CONFIGS, WRITE).
import { batchSizeAt, isControl, readAttributes, readLastOffset } from '../../protocol/record-batch.js'
import { encodeBatch } from '../../protocol/record-batch-builder.js'
import { decodeBatchRecords } from '../../protocol/record-reader.js'
import { validateRecords } from '../../storage/log-validator.js'
import { validateTopicConfigs } from '../../storage/log-config.js'
import { AclOperation as Op, CLUSTER_NAME, operationName, patternTypeName, permissionTypeName, ResourceType as Resource, resourceTypeName } from '../acls/acl-types.js'
import { keyPartition } from '../client/partitioner.js'
import { alterResource, ConfigOperation, ResourceType as ConfigResource } from '../config-admin.js'
import type { BrokerContext } from '../context.js'
import { toKafkaError } from '../errors.js'
import { decodeAssignment } from '../groups/consumer-protocol-bytes.js'
import { RecordState } from '../share/share-partition.js'
import { describeTopicConfigs } from '../topic-configs.js'
import { groupOffsets } from './prometheus.js'
import {
  base64,
  HttpError,
  keyMatches,
  MAX_SCAN,
  type AclView,
  type Caller,
  type ClusterView,
  type ConfigEdit,
  type ConfigView,
  type ConsoleSource,
  type GroupDetail,
  type GroupSummary,
  type MessagePage,
  type MessageQuery,
  type MessageView,
  type SharePartitionView,
  type TestRecord,
  type TopicDetail,
  type TopicSummary,
  type UserView,
} from './console-source.js'

const READ_BYTES = 1024 * 1024
const STARTED = Date.now()
const SOURCES = ['UNKNOWN', 'TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG', 'DEFAULT_CONFIG']

export class BrokerConsoleSource implements ConsoleSource {
  readonly mode = 'broker'

  constructor(private readonly broker: () => BrokerContext | undefined) {}

  private get b(): BrokerContext {
    const b = this.broker()
    if (b === undefined) throw new HttpError(503, 'broker starting')
    return b
  }

  /** Whether the caller's principal may do `op` on the resource (always, without an authorizer). */
  may(c: Caller, op: number, type: number, name: string): boolean {
    const b = this.b
    return b.authorizer === undefined || b.authorizer.authorize(c.principal, c.clientHost, op, type, name)
  }

  private describable(c: Caller, name: string): void {
    if (!this.may(c, Op.DESCRIBE, Resource.TOPIC, name) || this.b.logs.getTopic(name) === undefined) throw new HttpError(404, `no topic ${name}`)
  }

  async cluster(c: Caller, actions: boolean): Promise<ClusterView> {
    const b = this.b
    const { dir, totalBytes, usableBytes } = b.logs.logDirSummary()
    return {
      mode: 'broker',
      clusterId: b.clusterId,
      controllerId: b.nodeId,
      brokers: [{ nodeId: b.nodeId, host: b.advertisedHost, port: b.advertisedPort, rack: null, controller: true }],
      topics: b.logs.listTopics().length,
      partitions: b.logs.partitionCount,
      groups: b.groups.listGroups().length,
      uptimeMs: Date.now() - STARTED,
      logDir: { dir, totalBytes, usableBytes },
      principal: c.principal,
      actions,
      notes: [],
    }
  }

  async topics(c: Caller): Promise<TopicSummary[]> {
    return this.b.logs
      .listTopics()
      .filter((t) => this.may(c, Op.DESCRIBE, Resource.TOPIC, t.name))
      .map((t) => this.summary(t.name))
  }

  private summary(name: string): TopicSummary {
    const b = this.b
    const t = b.logs.getTopic(name)!
    let sizeBytes = 0
    let records = 0
    let endOffsets = 0
    for (let p = 0; p < t.partitions; p++) {
      const log = b.logs.partition(name, p)
      if (log === undefined) continue
      sizeBytes += log.sizeInBytes
      records += log.highWatermark - log.logStartOffset
      endOffsets += log.highWatermark
    }
    return { name, topicId: t.topicId, partitions: t.partitions, sizeBytes, records, endOffsets, internal: name.startsWith('__') }
  }

  async topic(c: Caller, name: string): Promise<TopicDetail> {
    this.describable(c, name)
    const b = this.b
    const t = b.logs.getTopic(name)!
    const partitionDetails = []
    for (let p = 0; p < t.partitions; p++) {
      const log = b.logs.partition(name, p)
      if (log === undefined) continue
      partitionDetails.push({
        partition: p,
        leader: log.offline ? null : b.nodeId,
        logStartOffset: log.logStartOffset,
        highWatermark: log.highWatermark,
        lastStableOffset: log.lastStableOffset,
        sizeBytes: log.sizeInBytes,
        segments: log.segmentCount,
      })
    }
    const configs = this.may(c, Op.DESCRIBE_CONFIGS, Resource.TOPIC, name) ? configViews(b, t.configs) : []
    return { ...this.summary(name), partitionDetails, configs, notes: [] }
  }

  async messages(c: Caller, topic: string, q: MessageQuery): Promise<MessagePage> {
    this.describable(c, topic)
    if (!this.may(c, Op.READ, Resource.TOPIC, topic)) throw new HttpError(403, `not authorized to read ${topic}`)
    const log = this.b.logs.partition(topic, q.partition)
    if (log === undefined) throw new HttpError(404, `no partition ${topic}-${q.partition}`)
    const end = log.highWatermark
    let start: number
    if (q.offset !== undefined) start = q.offset
    else if (q.timestamp !== undefined) start = (await log.offsetForTimestamp(q.timestamp))?.offset ?? end
    else if (q.from === 'end') start = end - q.limit
    else start = log.logStartOffset
    start = Math.min(Math.max(start, log.logStartOffset), end)
    const messages: MessageView[] = []
    let next = start
    let scanned = 0
    const full = () => messages.length >= q.limit || scanned >= MAX_SCAN
    while (!full() && next < end) {
      const read = log.readSync(next, READ_BYTES, { maxOffset: end })
      try {
        const records = read.records
        if (records.length === 0) break
        let pos = 0
        while (pos < records.length && !full()) {
          if (!isControl(readAttributes(records, pos))) {
            for (const r of decodeBatchRecords(records, pos)) {
              if (r.offset < next || full()) continue
              scanned++
              next = r.offset + 1
              if (!keyMatches(r.key, q.key)) continue
              messages.push({ offset: r.offset, timestamp: r.timestamp, key: base64(r.key), value: base64(r.value), headers: r.headers.map((h) => ({ key: h.key, value: base64(h.value) })) })
            }
          }
          // A batch cut short by the limit leaves `next` at its first record not looked at.
          if (!full()) next = Math.max(next, readLastOffset(records, pos) + 1)
          pos += batchSizeAt(records, pos)
        }
      } finally {
        read.release()
      }
    }
    return { topic, partition: q.partition, logStartOffset: log.logStartOffset, highWatermark: end, start, next, scanned, messages }
  }

  async groups(c: Caller): Promise<GroupSummary[]> {
    const b = this.b
    const lag = new Map<string, number>()
    for (const r of groupOffsets(b)) lag.set(r.group, (lag.get(r.group) ?? 0) + r.lag)
    return b.groups
      .listGroups()
      .filter((g) => this.may(c, Op.DESCRIBE, Resource.GROUP, g.groupId))
      .map((g) => {
        if (g.groupType === 'share') {
          const share = this.shareGroup(g.groupId, () => true)
          return { groupId: g.groupId, type: 'share', protocolType: 'share', state: g.groupState, members: share.members.length, lag: share.sharePartitions.reduce((n, p) => n + p.lag, 0) }
        }
        const members = g.groupType === 'consumer' ? (b.groups.consumerGroupDescribe([g.groupId])[0]?.members.length ?? 0) : b.groups.describeGroup(g.groupId).members.length
        return { groupId: g.groupId, type: g.groupType, protocolType: g.protocolType, state: g.groupState, members, lag: lag.get(g.groupId) ?? 0 }
      })
  }

  async group(c: Caller, id: string): Promise<GroupDetail> {
    const b = this.b
    const listing = this.may(c, Op.DESCRIBE, Resource.GROUP, id) ? b.groups.listGroups().find((g) => g.groupId === id) : undefined
    if (listing === undefined) throw new HttpError(404, `no group ${id}`)
    const mayTopic = (t: string) => this.may(c, Op.DESCRIBE, Resource.TOPIC, t)
    if (listing.groupType === 'share') return { ...this.shareGroup(id, mayTopic), state: listing.groupState }
    let members: GroupDetail['members']
    if (listing.groupType === 'consumer') {
      members = (b.groups.consumerGroupDescribe([id])[0]?.members ?? []).map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: m.assignment.map((a) => ({ topic: a.topicName, partitions: a.partitions })),
      }))
    } else {
      members = b.groups.describeGroup(id).members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        assignment: listing.protocolType === 'consumer' ? (decodeAssignment(m.memberAssignment) ?? []) : [],
      }))
    }
    const offsets = groupOffsets(b)
      .filter((r) => r.group === id && mayTopic(r.topic))
      .map((r) => ({ topic: r.topic, partition: r.partition, committedOffset: r.offset, endOffset: r.offset + r.lag, lag: r.lag }))
    return { groupId: id, type: listing.groupType, protocolType: listing.protocolType, state: listing.groupState, members, offsets, sharePartitions: [], notes: [] }
  }

  /** A share group: members from ShareGroupDescribe, per partition its start offset and live record states. */
  private shareGroup(id: string, mayTopic: (t: string) => boolean): GroupDetail {
    const b = this.b
    const d = b.groups.shareGroupDescribe([id])[0]
    const members = (d?.members ?? []).map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      assignment: m.assignment.map((a) => ({ topic: a.topicName, partitions: a.partitions })),
    }))
    const held = new Map(b.share.heldPartitions(id).map((h) => [`${h.topicId}/${h.partition}`, h]))
    const sharePartitions: SharePartitionView[] = []
    for (const [topicId, parts] of b.share.startOffsets(id)) {
      const topic = b.logs.getTopicById(topicId)?.name
      if (topic === undefined || !mayTopic(topic)) continue
      for (const [partition, startOffset] of parts) {
        const endOffset = b.logs.partition(topic, partition)?.highWatermark ?? startOffset
        const h = held.get(`${topicId}/${partition}`)
        const counts = { acquired: 0, acknowledged: 0, archived: 0 }
        if (h !== undefined) {
          for (let o = h.sp.startOffset; o < h.sp.endOffset; o++) {
            const s = h.sp.stateOf(o)?.state
            if (s === RecordState.Acquired) counts.acquired++
            else if (s === RecordState.Acknowledged) counts.acknowledged++
            else if (s === RecordState.Archived) counts.archived++
          }
        }
        sharePartitions.push({ topic, partition, startOffset, endOffset, lag: Math.max(0, endOffset - startOffset), ...(h === undefined ? { acquired: null, acknowledged: null, archived: null } : counts) })
      }
    }
    sharePartitions.sort((x, y) => x.topic.localeCompare(y.topic) || x.partition - y.partition)
    return { groupId: id, type: 'share', protocolType: 'share', state: d?.groupState ?? '', members, offsets: [], sharePartitions, notes: [] }
  }

  async acls(c: Caller): Promise<AclView[] | null> {
    const b = this.b
    if (b.authorizer === undefined) return null
    if (!this.may(c, Op.DESCRIBE, Resource.CLUSTER, CLUSTER_NAME)) throw new HttpError(403, 'listing ACLs needs DESCRIBE on the cluster')
    return b.authorizer.store.list().map((a) => ({
      resourceType: resourceTypeName(a.resourceType),
      resourceName: a.resourceName,
      patternType: patternTypeName(a.patternType),
      principal: a.principal,
      host: a.host,
      operation: operationName(a.operation),
      permission: permissionTypeName(a.permissionType),
    }))
  }

  async users(c: Caller): Promise<UserView[]> {
    if (!this.may(c, Op.DESCRIBE, Resource.CLUSTER, CLUSTER_NAME)) throw new HttpError(403, 'listing users needs DESCRIBE on the cluster')
    return this.b.scramCredentials.users().map((u) => ({ user: u.user, mechanisms: u.credentials.map((x) => ({ mechanism: x.mechanism, iterations: x.iterations })) }))
  }

  async createTopic(c: Caller, name: string, partitionsIn: number | undefined, configs: Record<string, string>): Promise<{ name: string; partitions: number }> {
    const b = this.b
    if (!this.may(c, Op.CREATE, Resource.CLUSTER, CLUSTER_NAME) && !this.may(c, Op.CREATE, Resource.TOPIC, name)) throw new HttpError(403, `not authorized to create ${name}`)
    const partitions = partitionsIn ?? b.config.getInt('num.partitions')
    if (b.logs.getTopic(name) !== undefined) throw new HttpError(409, `topic ${name} already exists`)
    try {
      validateTopicConfigs(configs)
    } catch (err) {
      throw new HttpError(400, (err as Error).message)
    }
    const created = await kafkaCall(() => {
      b.logs.checkPartitionLimit(name, partitions, partitions)
      return b.logs.createTopic(name, partitions, configs)
    })
    b.logger.info({ topic: name, partitions, configs, principal: c.principal }, 'created topic from the console')
    return { name: created.name, partitions: created.partitions }
  }

  async deleteTopic(c: Caller, name: string): Promise<void> {
    const b = this.b
    if (!this.may(c, Op.DELETE, Resource.TOPIC, name)) throw new HttpError(403, `not authorized to delete ${name}`)
    if (!b.config.getBool('delete.topic.enable')) throw new HttpError(409, 'topic deletion is disabled (delete.topic.enable=false)')
    if (b.logs.getTopic(name) === undefined) throw new HttpError(404, `no topic ${name}`)
    await kafkaCall(() => b.logs.deleteTopic(name))
    b.logger.info({ topic: name, principal: c.principal }, 'deleted topic from the console')
  }

  async alterTopicConfigs(c: Caller, name: string, edits: readonly ConfigEdit[]): Promise<void> {
    const b = this.b
    this.describable(c, name)
    if (!this.may(c, Op.ALTER_CONFIGS, Resource.TOPIC, name)) throw new HttpError(403, `not authorized to alter the configs of ${name}`)
    const changes = edits.map((e) => ({ name: e.name, operation: e.value === null ? ConfigOperation.DELETE : ConfigOperation.SET, value: e.value }))
    const outcome = await alterResource(b, ConfigResource.TOPIC, name, changes, { replace: false, validateOnly: false })
    if (outcome.errorCode !== 0) throw new HttpError(400, outcome.errorMessage ?? `config change refused (error ${outcome.errorCode})`)
    b.logger.info({ topic: name, changes: edits, principal: c.principal }, 'altered topic configs from the console')
  }

  async produce(c: Caller, topic: string, r: TestRecord): Promise<{ partition: number; offset: number }> {
    const b = this.b
    this.describable(c, topic)
    if (!this.may(c, Op.WRITE, Resource.TOPIC, topic)) throw new HttpError(403, `not authorized to write to ${topic}`)
    const t = b.logs.getTopic(topic)!
    const partition = r.partition ?? (r.key === null ? 0 : keyPartition(r.key, t.partitions))
    const log = b.logs.partition(topic, partition)
    if (log === undefined) throw new HttpError(404, `no partition ${topic}-${partition}`)
    const text = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8'))
    const bytes = encodeBatch([{ key: text(r.key), value: text(r.value), headers: r.headers.map((h) => ({ key: h.key, value: Buffer.from(h.value, 'utf8') })), timestamp: Date.now() }])
    const validated = validateRecords(bytes, log.config, { partition: `${topic}-${partition}` })
    if (!validated.ok) throw new HttpError(400, validated.message)
    const result = await kafkaCall(() => log.append(validated, { durable: true }))
    b.metrics.messagesIn(topic, 1, bytes.length)
    b.logger.info({ topic, partition, offset: result.baseOffset, principal: c.principal }, 'produced a record from the console')
    return { partition, offset: result.baseOffset }
  }
}

/** A topic's configs as the console shows them: every key with its value and where it comes from, secrets hidden. */
export function configViews(b: BrokerContext, overrides: Record<string, string>): ConfigView[] {
  return describeTopicConfigs(b, overrides).map((d) => ({ name: d.name, value: d.sensitive ? null : d.value, source: SOURCES[d.source] ?? 'UNKNOWN', readOnly: d.readOnly, sensitive: d.sensitive }))
}

/** Runs a log manager call, turning its Kafka errors (invalid name, limits) into 400s. */
async function kafkaCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof HttpError) throw err
    throw new HttpError(400, toKafkaError(err).message)
  }
}
