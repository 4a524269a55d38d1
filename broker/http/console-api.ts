// The console's JSON API under /api/: reads of the broker's own state (no Kafka round trip), and
// two actions, create and delete a topic, refused unless the endpoint allows actions. With an
// authorizer, each answer is cut to what the caller's principal may DESCRIBE (topics, groups),
// messages need READ, and the actions CREATE and DELETE, as the Kafka requests would.
//
//   GET    /api/cluster                       broker, listeners, counts, log directory
//   GET    /api/topics                        topics with partitions, sizes and offsets
//   GET    /api/topics/NAME                   one topic: partitions and its configs
//   GET    /api/topics/NAME/messages?partition=P&offset=O|timestamp=MS|from=start|end&limit=N
//   GET    /api/groups                        groups with state, members and total lag
//   GET    /api/groups/ID                     members, assignments, committed offsets and lag
//   POST   /api/topics {name, partitions?, configs?}
//   DELETE /api/topics/NAME
import { batchSizeAt, isControl, readAttributes, readLastOffset } from '../../protocol/record-batch.js'
import { decodeBatchRecords } from '../../protocol/record-reader.js'
import { AclOperation as Op, CLUSTER_NAME, ResourceType as Resource } from '../acls/acl-types.js'
import type { BrokerContext } from '../context.js'
import { toKafkaError } from '../errors.js'
import { decodeAssignment } from '../groups/consumer-protocol-bytes.js'
import { describeTopicConfigs } from '../topic-configs.js'
import { validateTopicConfigs } from '../../storage/log-config.js'
import { groupMembers, groupOffsets } from './prometheus.js'

export interface Caller {
  principal: string
  clientHost: string
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const MAX_MESSAGES = 500
const READ_BYTES = 1024 * 1024
const STARTED = Date.now()

export class ConsoleApi {
  constructor(private readonly allowActions: boolean) {}

  async handle(method: string, url: URL, body: unknown, caller: Caller, b: BrokerContext): Promise<unknown> {
    const parts = url.pathname.split('/').slice(2).map(decodeURIComponent)
    const may = (op: number, type: number, name: string) => b.authorizer === undefined || b.authorizer.authorize(caller.principal, caller.clientHost, op, type, name)
    if (method === 'GET') {
      if (parts.length === 1 && parts[0] === 'cluster') return this.cluster(b, caller)
      if (parts.length === 1 && parts[0] === 'topics') return b.logs.listTopics().filter((t) => may(Op.DESCRIBE, Resource.TOPIC, t.name)).map((t) => topicSummary(b, t.name))
      if (parts[0] === 'topics' && parts.length >= 2) {
        const name = parts[1]!
        if (!may(Op.DESCRIBE, Resource.TOPIC, name) || b.logs.getTopic(name) === undefined) throw new HttpError(404, `no topic ${name}`)
        if (parts.length === 2) return this.topic(b, name, may(Op.DESCRIBE_CONFIGS, Resource.TOPIC, name))
        if (parts.length === 3 && parts[2] === 'messages') {
          if (!may(Op.READ, Resource.TOPIC, name)) throw new HttpError(403, `not authorized to read ${name}`)
          return this.messages(b, name, url.searchParams)
        }
      }
      if (parts.length === 1 && parts[0] === 'groups') return this.groups(b, (g) => may(Op.DESCRIBE, Resource.GROUP, g))
      if (parts.length === 2 && parts[0] === 'groups') {
        const id = parts[1]!
        if (!may(Op.DESCRIBE, Resource.GROUP, id)) throw new HttpError(404, `no group ${id}`)
        return this.group(b, id, (t) => may(Op.DESCRIBE, Resource.TOPIC, t))
      }
      throw new HttpError(404, 'no such API')
    }
    if (method !== 'POST' && method !== 'DELETE') throw new HttpError(405, 'method not allowed')
    if (!this.allowActions) throw new HttpError(403, 'the console is read-only (start the broker with --http-allow-actions)')
    if (method === 'POST' && parts.length === 1 && parts[0] === 'topics') {
      const req = (body ?? {}) as { name?: unknown; partitions?: unknown; configs?: unknown }
      if (typeof req.name !== 'string' || req.name === '') throw new HttpError(400, 'name is required')
      if (!may(Op.CREATE, Resource.CLUSTER, CLUSTER_NAME) && !may(Op.CREATE, Resource.TOPIC, req.name)) throw new HttpError(403, `not authorized to create ${req.name}`)
      return this.createTopic(b, req.name, req.partitions, req.configs)
    }
    if (method === 'DELETE' && parts.length === 2 && parts[0] === 'topics') {
      const name = parts[1]!
      if (!may(Op.DELETE, Resource.TOPIC, name)) throw new HttpError(403, `not authorized to delete ${name}`)
      if (!b.config.getBool('delete.topic.enable')) throw new HttpError(409, 'topic deletion is disabled (delete.topic.enable=false)')
      if (b.logs.getTopic(name) === undefined) throw new HttpError(404, `no topic ${name}`)
      await kafkaCall(() => b.logs.deleteTopic(name))
      b.logger.info({ topic: name, principal: caller.principal }, 'deleted topic from the console')
      return { deleted: name }
    }
    throw new HttpError(404, 'no such action')
  }

  private cluster(b: BrokerContext, caller: Caller): unknown {
    const { dir, totalBytes, usableBytes } = b.logs.logDirSummary()
    return {
      clusterId: b.clusterId,
      nodeId: b.nodeId,
      brokers: [{ nodeId: b.nodeId, host: b.advertisedHost, port: b.advertisedPort, controller: true }],
      topics: b.logs.listTopics().length,
      partitions: b.logs.partitionCount,
      groups: b.groups.listGroups().length,
      uptimeMs: Date.now() - STARTED,
      logDir: { dir, totalBytes, usableBytes },
      principal: caller.principal,
      actions: this.allowActions,
    }
  }

  private topic(b: BrokerContext, name: string, showConfigs: boolean): unknown {
    const t = b.logs.getTopic(name)!
    const partitions = []
    for (let p = 0; p < t.partitions; p++) {
      const log = b.logs.partition(name, p)
      if (log === undefined) continue
      partitions.push({
        partition: p,
        logStartOffset: log.logStartOffset,
        highWatermark: log.highWatermark,
        lastStableOffset: log.lastStableOffset,
        sizeBytes: log.sizeInBytes,
        segments: log.segmentCount,
        offline: log.offline,
      })
    }
    const configs = showConfigs ? describeTopicConfigs(b, t.configs).map((c) => ({ name: c.name, value: c.sensitive ? null : c.value, source: sourceName(c.source) })) : []
    return { ...topicSummary(b, name), createdAt: t.createdAt, partitionDetails: partitions, configs }
  }

  private async messages(b: BrokerContext, topic: string, q: URLSearchParams): Promise<unknown> {
    const partition = intParam(q, 'partition', 0)
    const limit = Math.min(MAX_MESSAGES, Math.max(1, intParam(q, 'limit', 50)))
    const log = b.logs.partition(topic, partition)
    if (log === undefined) throw new HttpError(404, `no partition ${topic}-${partition}`)
    const end = log.highWatermark
    let start: number
    if (q.has('offset')) start = intParam(q, 'offset', 0)
    else if (q.has('timestamp')) start = (await log.offsetForTimestamp(intParam(q, 'timestamp', 0)))?.offset ?? end
    else if (q.get('from') === 'end') start = end - limit
    else start = log.logStartOffset
    start = Math.min(Math.max(start, log.logStartOffset), end)
    const messages: unknown[] = []
    let next = start
    while (messages.length < limit && next < end) {
      const read = log.readSync(next, READ_BYTES, { maxOffset: end })
      try {
        const records = read.records
        if (records.length === 0) break
        let pos = 0
        while (pos < records.length && messages.length < limit) {
          if (!isControl(readAttributes(records, pos))) {
            for (const r of decodeBatchRecords(records, pos)) {
              if (r.offset < next || messages.length >= limit) continue
              messages.push({
                offset: r.offset,
                timestamp: r.timestamp,
                key: base64(r.key),
                value: base64(r.value),
                headers: r.headers.map((h) => ({ key: h.key, value: base64(h.value) })),
              })
              next = r.offset + 1
            }
          }
          // A batch cut short by the limit leaves `next` at its first record not returned.
          if (messages.length < limit) next = Math.max(next, readLastOffset(records, pos) + 1)
          pos += batchSizeAt(records, pos)
        }
      } finally {
        read.release()
      }
    }
    return { topic, partition, logStartOffset: log.logStartOffset, highWatermark: end, start, next, messages }
  }

  private groups(b: BrokerContext, may: (group: string) => boolean): unknown {
    const lag = new Map<string, number>()
    for (const r of groupOffsets(b)) lag.set(r.group, (lag.get(r.group) ?? 0) + r.lag)
    return b.groups
      .listGroups()
      .filter((g) => may(g.groupId))
      .map((g) => ({ groupId: g.groupId, type: g.groupType, protocolType: g.protocolType, state: g.groupState, members: groupMembers(b, g.groupId, g.groupType), lag: lag.get(g.groupId) ?? 0 }))
  }

  private group(b: BrokerContext, id: string, mayTopic: (t: string) => boolean): unknown {
    const listing = b.groups.listGroups().find((g) => g.groupId === id)
    if (listing === undefined) throw new HttpError(404, `no group ${id}`)
    let members: Array<{ memberId: string; clientId: string; clientHost: string; assignment: Array<{ topic: string; partitions: number[] }> }>
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
    return { groupId: id, type: listing.groupType, protocolType: listing.protocolType, state: listing.groupState, members, offsets }
  }

  private async createTopic(b: BrokerContext, name: string, partitionsIn: unknown, configsIn: unknown): Promise<unknown> {
    const partitions = partitionsIn === undefined ? b.config.getInt('num.partitions') : Number(partitionsIn)
    if (!Number.isInteger(partitions) || partitions < 1) throw new HttpError(400, 'partitions must be a positive integer')
    const configs: Record<string, string> = {}
    if (configsIn !== undefined) {
      if (typeof configsIn !== 'object' || configsIn === null) throw new HttpError(400, 'configs must be an object of strings')
      for (const [k, v] of Object.entries(configsIn)) configs[k] = String(v)
    }
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
    b.logger.info({ topic: name, partitions, configs }, 'created topic from the console')
    return { name: created.name, topicId: created.topicId, partitions: created.partitions }
  }
}

/** A topic's partition count, total size and record span (end minus start offsets). */
function topicSummary(b: BrokerContext, name: string): { name: string; topicId: string; partitions: number; sizeBytes: number; records: number; internal: boolean } {
  const t = b.logs.getTopic(name)!
  let sizeBytes = 0
  let records = 0
  for (let p = 0; p < t.partitions; p++) {
    const log = b.logs.partition(name, p)
    if (log === undefined) continue
    sizeBytes += log.sizeInBytes
    records += log.highWatermark - log.logStartOffset
  }
  return { name, topicId: t.topicId, partitions: t.partitions, sizeBytes, records, internal: name.startsWith('__') }
}

/** Runs a log manager call, turning its Kafka errors (invalid name, limits) into 400s. */
async function kafkaCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    const f = toKafkaError(err)
    throw new HttpError(400, f.message)
  }
}

function intParam(q: URLSearchParams, name: string, fallback: number): number {
  const text = q.get(name)
  if (text === null || text === '') return fallback
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new HttpError(400, `${name} must be an integer`)
  return n
}

function base64(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

const SOURCES = ['UNKNOWN', 'TOPIC_CONFIG', 'DYNAMIC_BROKER_CONFIG', 'DYNAMIC_DEFAULT_BROKER_CONFIG', 'STATIC_BROKER_CONFIG', 'DEFAULT_CONFIG']

function sourceName(source: number): string {
  return SOURCES[source] ?? 'UNKNOWN'
}
