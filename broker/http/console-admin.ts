// The console's source for any Kafka cluster (`samsa console --bootstrap-server`): everything
// through the admin client's requests, records through a PartitionReader (sessionless Fetch) and
// a Producer. The cluster authorizes each request against the client's own credentials
// (--command-config). What the Kafka API does not tell (segment counts, uptime, share-partition
// record states) is null, with a note; sizes come from DescribeLogDirs when the cluster serves it.
import { AclPermissionType, AclOperation, operationName, PatternType, patternTypeName, permissionTypeName, ResourceType, resourceTypeName } from '../acls/acl-types.js'
import { AdminClient, AlterConfigOp, ConfigResourceType, ConfigSource, KafkaProtocolError, type AdminClientOptions, type ListedGroup, type LogDirDescription, type PartitionOffsets } from '../client/admin-client.js'
import { PartitionReader } from '../client/partition-reader.js'
import { Producer } from '../client/producer.js'
import {
  base64,
  HttpError,
  keyMatches,
  MAX_SCAN,
  type AclView,
  type Caller,
  type ClusterView,
  type ConfigEdit,
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

const SOURCE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(ConfigSource).map(([k, v]) => [v, k]))
const NO_SEGMENTS = 'Segment counts are not available through the Kafka API.'
const READ_DEADLINE_MS = 5000

export class AdminConsoleSource implements ConsoleSource {
  readonly mode = 'cluster'
  private producer: Producer | undefined

  constructor(
    private readonly admin: AdminClient,
    private readonly opts: AdminClientOptions,
  ) {}

  async close(): Promise<void> {
    await this.producer?.close().catch(() => {})
  }

  async cluster(c: Caller, actions: boolean): Promise<ClusterView> {
    const meta = await call(() => this.admin.metadata(null))
    const groups = await call(() => this.admin.listGroups()).catch(() => [])
    const dirs = await this.admin.describeLogDirs(null).catch(() => [])
    const dir = dirs[0]
    return {
      mode: 'cluster',
      clusterId: meta.clusterId,
      controllerId: meta.controllerId,
      brokers: meta.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: null, controller: b.nodeId === meta.controllerId })),
      topics: meta.topics.length,
      partitions: meta.topics.reduce((n, t) => n + t.partitions.length, 0),
      groups: groups.length,
      uptimeMs: null,
      logDir: dir === undefined || dir.totalBytes < 0 ? null : { dir: dir.logDir, totalBytes: dir.totalBytes, usableBytes: dir.usableBytes },
      principal: c.principal,
      actions,
      notes: ['Served through the admin API of the cluster at ' + this.opts.bootstrap.join(',') + '; uptime is not known this way.'],
    }
  }

  /** The ids of every group of the cluster (ListGroups on each broker). */
  async groupIds(): Promise<string[]> {
    return [...new Set((await call(() => this.admin.listGroups())).map((g) => g.groupId))]
  }

  /** Each partition's earliest and latest offsets from its leader (isolation 0: the high watermark, 1: the last stable offset). */
  partitionOffsets(topic: string, isolationLevel: number): Promise<PartitionOffsets[]> {
    return call(() => this.admin.topicOffsets(topic, isolationLevel))
  }

  /** One broker's log directories (DescribeLogDirs). */
  logDirs(nodeId: number): Promise<LogDirDescription[]> {
    return call(() => this.admin.describeLogDirs(null, nodeId))
  }

  /** Per topic and partition, the bytes DescribeLogDirs reports (largest replica), or null when not served. */
  private async sizes(): Promise<Map<string, Map<number, number>> | null> {
    try {
      const out = new Map<string, Map<number, number>>()
      for (const d of await this.admin.describeLogDirs(null)) {
        for (const p of d.partitions) {
          if (p.isFuture) continue
          let m = out.get(p.topic)
          if (m === undefined) out.set(p.topic, (m = new Map()))
          m.set(p.partition, Math.max(m.get(p.partition) ?? 0, p.sizeBytes))
        }
      }
      return out
    } catch {
      return null
    }
  }

  async topics(_c: Caller): Promise<TopicSummary[]> {
    const [meta, sizes] = await Promise.all([call(() => this.admin.metadata(null)), this.sizes()])
    return Promise.all(
      meta.topics.map(async (t) => {
        const offsets = await call(() => this.admin.topicOffsets(t.name, 0)).catch(() => [])
        const size = sizes?.get(t.name)
        return {
          name: t.name,
          topicId: t.topicId,
          partitions: t.partitions.length,
          sizeBytes: size === undefined ? null : [...size.values()].reduce((a, b) => a + b, 0),
          records: offsets.reduce((n, o) => n + o.high - o.low, 0),
          endOffsets: offsets.reduce((n, o) => n + o.high, 0),
          internal: t.isInternal || t.name.startsWith('__'),
        }
      }),
    )
  }

  async topic(_c: Caller, name: string): Promise<TopicDetail> {
    const meta = await call(() => this.admin.metadata([name]))
    const t = meta.topics.find((x) => x.name === name)
    if (t === undefined || t.errorCode !== 0) throw new HttpError(404, `no topic ${name}`)
    const [uncommitted, committed, sizes, configs] = await Promise.all([
      call(() => this.admin.topicOffsets(name, 0)),
      call(() => this.admin.topicOffsets(name, 1)),
      this.sizes(),
      this.admin.describeConfigs({ type: ConfigResourceType.Topic, name }).catch(() => []),
    ])
    const lso = new Map(committed.map((o) => [o.partition, o.high]))
    const partitionDetails = uncommitted.map((o) => {
      const m = t.partitions.find((p) => p.partition === o.partition)
      return {
        partition: o.partition,
        leader: m?.leader ?? null,
        logStartOffset: o.low,
        highWatermark: o.high,
        lastStableOffset: lso.get(o.partition) ?? o.high,
        sizeBytes: sizes?.get(name)?.get(o.partition) ?? null,
        segments: null,
        replicas: m?.replicas ?? [],
        isr: m?.isr ?? [],
        offlineReplicas: m?.offlineReplicas ?? [],
      }
    })
    const size = sizes?.get(name)
    return {
      name,
      topicId: t.topicId,
      partitions: t.partitions.length,
      sizeBytes: size === undefined ? null : [...size.values()].reduce((a, b) => a + b, 0),
      records: uncommitted.reduce((n, o) => n + o.high - o.low, 0),
      endOffsets: uncommitted.reduce((n, o) => n + o.high, 0),
      internal: t.isInternal || name.startsWith('__'),
      partitionDetails,
      configs: configs.map((e) => ({ name: e.name, value: e.isSensitive ? null : e.value, source: SOURCE_NAMES[e.source] ?? 'UNKNOWN', readOnly: e.readOnly, sensitive: e.isSensitive })),
      notes: sizes === null ? [NO_SEGMENTS, 'Sizes are not available: the cluster did not answer DescribeLogDirs.'] : [NO_SEGMENTS],
    }
  }

  async messages(_c: Caller, topic: string, q: MessageQuery): Promise<MessagePage> {
    const reader = new PartitionReader({ ...this.opts, clientId: `${this.opts.clientId ?? 'samsa'}-console`, maxWaitMs: 100 })
    try {
      await call(() => reader.connect())
      const [low, high] = await Promise.all([
        call(() => reader.listOffsets(topic, [q.partition], 'earliest')),
        call(() => reader.listOffsets(topic, [q.partition], 'latest')),
      ])
      const logStart = low.get(q.partition)
      const end = high.get(q.partition)
      if (logStart === undefined || end === undefined) throw new HttpError(404, `no partition ${topic}-${q.partition}`)
      let start: number
      if (q.offset !== undefined) start = q.offset
      else if (q.timestamp !== undefined) start = (await call(() => reader.listOffsets(topic, [q.partition], { timestamp: q.timestamp! }))).get(q.partition) ?? end
      else if (q.from === 'end') start = end - q.limit
      else start = logStart
      if (start < 0) start = end
      start = Math.min(Math.max(start, logStart), end)
      const messages: MessageView[] = []
      let next = start
      let scanned = 0
      reader.assign(topic, new Map([[q.partition, start]]))
      const deadline = Date.now() + READ_DEADLINE_MS
      while (messages.length < q.limit && scanned < MAX_SCAN && next < end && Date.now() < deadline) {
        for (const r of await call(() => reader.poll())) {
          if (r.offset < next || r.offset >= end || messages.length >= q.limit || scanned >= MAX_SCAN) continue
          scanned++
          next = r.offset + 1
          if (!keyMatches(r.key, q.key)) continue
          messages.push({ offset: r.offset, timestamp: r.timestamp, key: base64(r.key), value: base64(r.value), headers: r.headers.map((h) => ({ key: h.key, value: base64(h.value) })) })
        }
        // Past control records and transaction markers the reader's position moves without records.
        next = Math.max(next, Math.min(reader.position(topic, q.partition) ?? next, messages.length >= q.limit ? next : end))
      }
      return { topic, partition: q.partition, logStartOffset: logStart, highWatermark: end, start, next, scanned, messages }
    } finally {
      await reader.close().catch(() => {})
    }
  }

  /** Every group of the cluster (ListGroups on each broker), or those `wanted` lets through. */
  async groups(_c: Caller, wanted: (groupId: string) => boolean = () => true): Promise<GroupSummary[]> {
    const seen = new Set<string>()
    const listed = (await call(() => this.admin.listGroups())).filter((g) => !seen.has(g.groupId) && seen.add(g.groupId) && wanted(g.groupId))
    return Promise.all(
      listed.map(async (g) => {
        const d = await this.describeGroup(g.groupId, g).catch(() => undefined)
        return {
          groupId: g.groupId,
          type: g.type || (g.protocolType === 'share' ? 'share' : 'classic'),
          protocolType: g.protocolType,
          state: d?.state ?? g.state,
          members: d?.members.length ?? 0,
          lag: d === undefined ? 0 : d.offsets.reduce((n, o) => n + o.lag, 0) + d.sharePartitions.reduce((n, p) => n + p.lag, 0),
        }
      }),
    )
  }

  async group(_c: Caller, id: string): Promise<GroupDetail> {
    return this.describeGroup(id, (await call(() => this.admin.listGroups())).find((g) => g.groupId === id))
  }

  private async describeGroup(id: string, listed: ListedGroup | undefined): Promise<GroupDetail> {
    const type = listed?.type || (listed?.protocolType === 'share' ? 'share' : 'classic')
    if (type === 'share') return this.shareGroup(id)
    let members: GroupDetail['members']
    let state: string
    let protocolType = listed?.protocolType ?? 'consumer'
    const consumer = type === 'consumer' ? (await call(() => this.admin.describeConsumerGroups([id])))[0] : undefined
    if (consumer !== undefined && consumer.error === null) {
      state = consumer.state
      members = consumer.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, assignment: m.assignment.map((a) => ({ topic: a.topic, partitions: a.partitions })) }))
    } else {
      const d = (await call(() => this.admin.describeGroups([id])))[0]
      if (d === undefined || (d.error !== null && d.error !== 'NONE')) throw new HttpError(404, `no group ${id}`)
      if (listed === undefined && d.state === 'Dead') throw new HttpError(404, `no group ${id}`)
      state = d.state
      protocolType = d.protocolType
      members = d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, assignment: m.assignment ?? [] }))
    }
    const committed = (await call(() => this.admin.fetchOffsets(id, null))).filter((o) => o.offset >= 0)
    const ends = new Map<string, Map<number, number>>()
    for (const topic of new Set(committed.map((o) => o.topic))) {
      ends.set(topic, new Map((await this.admin.topicOffsets(topic, 0).catch(() => [])).map((o) => [o.partition, o.high])))
    }
    const offsets = committed.flatMap((o) => {
      const end = ends.get(o.topic)?.get(o.partition)
      return end === undefined ? [] : [{ topic: o.topic, partition: o.partition, committedOffset: o.offset, endOffset: end, lag: Math.max(0, end - o.offset) }]
    })
    offsets.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    return { groupId: id, type, protocolType, state, members, offsets, sharePartitions: [], notes: [] }
  }

  private async shareGroup(id: string): Promise<GroupDetail> {
    const d = (await call(() => this.admin.describeShareGroups([id])))[0]
    if (d === undefined || d.error !== null) throw new HttpError(404, `no group ${id}`)
    const starts = (await call(() => this.admin.describeShareGroupOffsets(id, null))).filter((s) => s.error === null && s.startOffset >= 0)
    const ends = new Map<string, Map<number, number>>()
    for (const topic of new Set(starts.map((s) => s.topic))) {
      ends.set(topic, new Map((await this.admin.topicOffsets(topic, 0).catch(() => [])).map((o) => [o.partition, o.high])))
    }
    const sharePartitions: SharePartitionView[] = starts.map((s) => {
      const end = ends.get(s.topic)?.get(s.partition) ?? s.startOffset
      return { topic: s.topic, partition: s.partition, startOffset: s.startOffset, endOffset: end, lag: Math.max(0, end - s.startOffset), acquired: null, acknowledged: null, archived: null }
    })
    sharePartitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    return {
      groupId: id,
      type: 'share',
      protocolType: 'share',
      state: d.state,
      members: d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost, assignment: m.assignment.map((a) => ({ topic: a.topic, partitions: a.partitions })) })),
      offsets: [],
      sharePartitions,
      notes: ['In-flight record states (acquired, acknowledged, archived) are not available through the Kafka API.'],
    }
  }

  async acls(_c: Caller): Promise<AclView[] | null> {
    try {
      const any = { resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: AclOperation.ANY, permissionType: AclPermissionType.ANY }
      return (await this.admin.describeAcls(any)).map((a) => ({
        resourceType: resourceTypeName(a.resourceType),
        resourceName: a.resourceName,
        patternType: patternTypeName(a.patternType),
        principal: a.principal,
        host: a.host,
        operation: operationName(a.operation),
        permission: permissionTypeName(a.permissionType),
      }))
    } catch (err) {
      if (err instanceof KafkaProtocolError && err.type === 'SECURITY_DISABLED') return null
      throw asHttp(err)
    }
  }

  async users(_c: Caller): Promise<UserView[]> {
    return (await call(() => this.admin.describeUserScramCredentials())).map((u) => ({ user: u.user, mechanisms: u.credentials.map((x) => ({ mechanism: x.mechanism, iterations: x.iterations })) }))
  }

  async createTopic(_c: Caller, name: string, partitions: number | undefined, configs: Record<string, string>): Promise<{ name: string; partitions: number }> {
    const [created] = await call(() => this.admin.createTopics([{ name, numPartitions: partitions, configs: Object.entries(configs) }]))
    if (created !== undefined && !created.created) throw new HttpError(409, `topic ${name} already exists`)
    return { name, partitions: created?.numPartitions ?? partitions ?? -1 }
  }

  async deleteTopic(_c: Caller, name: string): Promise<void> {
    await call(() => this.admin.deleteTopics([name]))
  }

  async alterTopicConfigs(_c: Caller, name: string, edits: readonly ConfigEdit[]): Promise<void> {
    const changes = edits.map((e) => (e.value === null ? { name: e.name, op: AlterConfigOp.Delete, value: null } : { name: e.name, op: AlterConfigOp.Set, value: e.value }))
    await call(() => this.admin.incrementalAlterConfigs({ type: ConfigResourceType.Topic, name }, changes))
  }

  async produce(_c: Caller, topic: string, r: TestRecord): Promise<{ partition: number; offset: number }> {
    if (this.producer === undefined) {
      const p = new Producer({ ...this.opts, clientId: `${this.opts.clientId ?? 'samsa'}-console`, lingerMs: 0, allowAutoTopicCreation: false })
      await call(() => p.connect())
      this.producer = p
    }
    const [sent] = await call(() => this.producer!.send(topic, [{ partition: r.partition, key: r.key, value: r.value, headers: r.headers, timestamp: Date.now() }]))
    if (sent === undefined) throw new HttpError(502, 'the record was not acknowledged')
    return { partition: sent.partition, offset: sent.baseOffset }
  }
}

/** A Kafka error from the cluster becomes a 4xx with its name; anything else a 502. */
function asHttp(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  if (err instanceof KafkaProtocolError) {
    const status = /AUTHORIZATION_FAILED/.test(err.type) ? 403 : /UNKNOWN_TOPIC|GROUP_ID_NOT_FOUND|RESOURCE_NOT_FOUND/.test(err.type) ? 404 : /ALREADY_EXISTS/.test(err.type) ? 409 : 400
    return new HttpError(status, err.message)
  }
  return new HttpError(502, `the cluster did not answer: ${(err as Error).message}`)
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw asHttp(err)
  }
}
