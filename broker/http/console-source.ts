// What the web console shows and does, as one interface with two implementations: the broker's
// own state read in process (console-broker.ts, `samsa serve --http-port`), and any Kafka
// cluster through the admin client (console-admin.ts, `samsa console`). A broker of a cluster
// composes the two (console-cluster.ts): its own state and ACL checks, the cluster metadata, and
// the other brokers through the admin client. The JSON API
// (console-api.ts) and the front end are the same for both; what one side cannot know (segment
// counts through the Kafka API, uptime of a remote cluster) is null, with a note saying why.

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

export interface ClusterView {
  /** 'broker' when served by the broker itself, 'cluster' through the admin API. */
  mode: 'broker' | 'cluster'
  clusterId: string | null
  controllerId: number
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null; controller: boolean }>
  topics: number
  partitions: number
  /** Cluster mode: partitions whose ISR is smaller than their replica set. */
  underReplicatedPartitions?: number
  /** Cluster mode: partitions without a live leader. */
  offlinePartitions?: number
  groups: number
  uptimeMs: number | null
  logDir: { dir: string; totalBytes: number; usableBytes: number } | null
  principal: string
  actions: boolean
  notes: string[]
}

export interface TopicSummary {
  name: string
  topicId: string
  partitions: number
  sizeBytes: number | null
  /** End minus start offsets, summed over the partitions. */
  records: number
  /** The partitions' end offsets summed: its growth is the topic's rate in. */
  endOffsets: number
  internal: boolean
}

export interface PartitionDetail {
  partition: number
  leader: number | null
  logStartOffset: number
  highWatermark: number
  lastStableOffset: number
  sizeBytes: number | null
  segments: number | null
  /** Where the replication metadata is known (cluster mode, the admin API): the replica set, the ISR, replicas whose broker is down. */
  replicas?: number[]
  isr?: number[]
  offlineReplicas?: number[]
}

export interface ConfigView {
  name: string
  value: string | null
  source: string
  readOnly: boolean
  sensitive: boolean
}

export interface TopicDetail extends TopicSummary {
  partitionDetails: PartitionDetail[]
  /** Empty when the caller may not describe them. */
  configs: ConfigView[]
  notes: string[]
}

export interface MessageQuery {
  partition: number
  offset?: number
  timestamp?: number
  from?: 'start' | 'end'
  limit: number
  /** Only records whose key, as UTF-8, contains this text. */
  key?: string
}

export interface MessageView {
  offset: number
  timestamp: number
  key: string | null
  value: string | null
  headers: Array<{ key: string; value: string | null }>
}

export interface MessagePage {
  topic: string
  partition: number
  logStartOffset: number
  highWatermark: number
  start: number
  /** Where to read on from: past the last record returned, or the last one scanned. */
  next: number
  /** Records looked at: with a key filter, more than those returned. */
  scanned: number
  messages: MessageView[]
}

export interface GroupSummary {
  groupId: string
  type: string
  protocolType: string
  state: string
  members: number
  lag: number
}

export interface SharePartitionView {
  topic: string
  partition: number
  startOffset: number
  endOffset: number
  /** Records between the share-partition start offset and the log end. */
  lag: number
  /** In-flight record states (broker only; null through the admin API). */
  acquired: number | null
  acknowledged: number | null
  archived: number | null
}

export interface GroupDetail {
  groupId: string
  type: string
  protocolType: string
  state: string
  members: Array<{ memberId: string; clientId: string; clientHost: string; assignment: Array<{ topic: string; partitions: number[] }> }>
  offsets: Array<{ topic: string; partition: number; committedOffset: number; endOffset: number; lag: number }>
  sharePartitions: SharePartitionView[]
  notes: string[]
}

export interface AclView {
  resourceType: string
  resourceName: string
  patternType: string
  principal: string
  host: string
  operation: string
  permission: string
}

export interface UserView {
  user: string
  mechanisms: Array<{ mechanism: string; iterations: number }>
}

/** One config change with IncrementalAlterConfigs semantics: a value SETs, null DELETEs (back to the default). */
export interface ConfigEdit {
  name: string
  value: string | null
}

export interface TestRecord {
  /** Default: by key hash, or partition 0 without a key. */
  partition?: number
  key: string | null
  value: string | null
  headers: Array<{ key: string; value: string }>
}

export interface ConsoleSource {
  readonly mode: 'broker' | 'cluster'
  cluster(c: Caller, actions: boolean): Promise<ClusterView>
  topics(c: Caller): Promise<TopicSummary[]>
  topic(c: Caller, name: string): Promise<TopicDetail>
  messages(c: Caller, topic: string, q: MessageQuery): Promise<MessagePage>
  groups(c: Caller): Promise<GroupSummary[]>
  group(c: Caller, id: string): Promise<GroupDetail>
  /** null when the cluster has no authorizer (SECURITY_DISABLED). */
  acls(c: Caller): Promise<AclView[] | null>
  users(c: Caller): Promise<UserView[]>
  createTopic(c: Caller, name: string, partitions: number | undefined, configs: Record<string, string>): Promise<{ name: string; partitions: number }>
  deleteTopic(c: Caller, name: string): Promise<void>
  alterTopicConfigs(c: Caller, name: string, edits: readonly ConfigEdit[]): Promise<void>
  produce(c: Caller, topic: string, record: TestRecord): Promise<{ partition: number; offset: number }>
  close?(): Promise<void>
}

/** Records scanned at most for one page of a key search, so a search cannot pin the server. */
export const MAX_SCAN = 20_000
export const MAX_MESSAGES = 500

export function base64(bytes: Uint8Array | null): string | null {
  return bytes === null ? null : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')
}

/** Whether a record's key matches a key search (substring of its UTF-8 text). */
export function keyMatches(key: Uint8Array | null, wanted: string | undefined): boolean {
  if (wanted === undefined) return true
  if (key === null) return false
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8').includes(wanted)
}
