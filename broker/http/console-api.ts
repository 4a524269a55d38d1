// The console's JSON API under /api/, over a ConsoleSource (the broker's own state, or any Kafka
// cluster through the admin client). Reads are always served; actions only when the server was
// started with them allowed, and then the source checks the caller's ACLs (the broker) or the
// cluster does (the admin client's credentials).
//
//   GET    /api/cluster                       brokers, counts, log directory, notes
//   GET    /api/topics                        topics with partitions, sizes and offsets
//   GET    /api/topics/NAME                   one topic: partitions and its configs
//   GET    /api/topics/NAME/messages?partition=P&offset=O|timestamp=MS|from=start|end&limit=N&key=TEXT
//   GET    /api/groups                        consumer and share groups with state, members and lag
//   GET    /api/groups/ID                     members, assignments, committed offsets and lag, share-partition state
//   GET    /api/acls                          ACL bindings (null without an authorizer)
//   GET    /api/users                         SCRAM users and their mechanisms
//   POST   /api/topics {name, partitions?, configs?}
//   DELETE /api/topics/NAME
//   POST   /api/topics/NAME/configs {set: {KEY: VALUE}, delete: [KEY]}   IncrementalAlterConfigs
//   POST   /api/topics/NAME/messages {partition?, key?, value?, headers?}  produce one record
import { HttpError, MAX_MESSAGES, type Caller, type ConfigEdit, type ConsoleSource, type MessageQuery } from './console-source.js'

export { HttpError, type Caller } from './console-source.js'

const MAX_RECORD_TEXT = 16 * 1024

export class ConsoleApi {
  constructor(
    private readonly source: ConsoleSource,
    private readonly allowActions: boolean,
  ) {}

  async handle(method: string, url: URL, body: unknown, caller: Caller): Promise<unknown> {
    let parts: string[]
    try {
      parts = url.pathname.split('/').slice(2).map(decodeURIComponent)
    } catch {
      throw new HttpError(400, 'malformed path')
    }
    const s = this.source
    if (method === 'GET') {
      if (parts.length === 1 && parts[0] === 'cluster') return s.cluster(caller, this.allowActions)
      if (parts.length === 1 && parts[0] === 'topics') return s.topics(caller)
      if (parts.length === 2 && parts[0] === 'topics') return s.topic(caller, parts[1]!)
      if (parts.length === 3 && parts[0] === 'topics' && parts[2] === 'messages') return s.messages(caller, parts[1]!, messageQuery(url.searchParams))
      if (parts.length === 1 && parts[0] === 'groups') return s.groups(caller)
      if (parts.length === 2 && parts[0] === 'groups') return s.group(caller, parts[1]!)
      if (parts.length === 1 && parts[0] === 'acls') return { acls: await s.acls(caller) }
      if (parts.length === 1 && parts[0] === 'users') return s.users(caller)
      throw new HttpError(404, 'no such API')
    }
    if (method !== 'POST' && method !== 'DELETE') throw new HttpError(405, 'method not allowed')
    if (!this.allowActions) throw new HttpError(403, 'the console is read-only (start it with --http-allow-actions / --allow-actions)')
    if (method === 'POST' && parts.length === 1 && parts[0] === 'topics') {
      const req = object(body)
      if (typeof req.name !== 'string' || req.name === '') throw new HttpError(400, 'name is required')
      const partitions = req.partitions === undefined ? undefined : Number(req.partitions)
      if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1)) throw new HttpError(400, 'partitions must be a positive integer')
      return s.createTopic(caller, req.name, partitions, stringRecord(req.configs, 'configs'))
    }
    if (method === 'DELETE' && parts.length === 2 && parts[0] === 'topics') {
      await s.deleteTopic(caller, parts[1]!)
      return { deleted: parts[1] }
    }
    if (method === 'POST' && parts.length === 3 && parts[0] === 'topics' && parts[2] === 'configs') {
      const req = object(body)
      const edits: ConfigEdit[] = Object.entries(stringRecord(req.set, 'set')).map(([name, value]) => ({ name, value }))
      if (req.delete !== undefined) {
        if (!Array.isArray(req.delete) || !req.delete.every((k) => typeof k === 'string')) throw new HttpError(400, 'delete must be a list of config names')
        for (const name of req.delete as string[]) edits.push({ name, value: null })
      }
      if (edits.length === 0) throw new HttpError(400, 'nothing to change')
      await s.alterTopicConfigs(caller, parts[1]!, edits)
      return { altered: parts[1], changes: edits }
    }
    if (method === 'POST' && parts.length === 3 && parts[0] === 'topics' && parts[2] === 'messages') {
      const req = object(body)
      const partition = req.partition === undefined || req.partition === null || req.partition === '' ? undefined : Number(req.partition)
      if (partition !== undefined && (!Number.isInteger(partition) || partition < 0)) throw new HttpError(400, 'partition must be a non-negative integer')
      const text = (v: unknown, what: string): string | null => {
        if (v === undefined || v === null) return null
        if (typeof v !== 'string' || v.length > MAX_RECORD_TEXT) throw new HttpError(400, `${what} must be a string of at most ${MAX_RECORD_TEXT} characters`)
        return v
      }
      const headers = Object.entries(stringRecord(req.headers, 'headers')).map(([key, value]) => ({ key, value }))
      return s.produce(caller, parts[1]!, { partition, key: text(req.key, 'key'), value: text(req.value, 'value'), headers })
    }
    throw new HttpError(404, 'no such action')
  }
}

function messageQuery(q: URLSearchParams): MessageQuery {
  const from = q.get('from')
  const key = q.get('key')
  return {
    partition: intParam(q, 'partition') ?? 0,
    offset: intParam(q, 'offset'),
    timestamp: intParam(q, 'timestamp'),
    from: from === 'end' ? 'end' : from === 'start' ? 'start' : undefined,
    limit: Math.min(MAX_MESSAGES, Math.max(1, intParam(q, 'limit') ?? 50)),
    key: key === null || key === '' ? undefined : key,
  }
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const text = q.get(name)
  if (text === null || text === '') return undefined
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new HttpError(400, `${name} must be an integer`)
  return n
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object')
  return body as Record<string, unknown>
}

function stringRecord(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, `${what} must be an object of strings`)
  const out: Record<string, string> = {}
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw new HttpError(400, `${what}.${k} must be a string`)
    out[k] = String(x)
  }
  return out
}
