// MetadataStore: topics, committed consumer offsets and a small key-value space, in one LMDB
// environment (values msgpack-encoded, lmdb's default). Four named databases:
//   topics   name -> TopicRecord
//   offsets  `${encodeURIComponent(group)}/${topic}/${partition}` -> CommittedOffset (sorted, so a
//            group is a range; no NUL bytes: lmdb's key encoding treats NUL as an array separator,
//            and long keys containing one no longer sort or decode as the string they were)
//   kv       broker identity, dynamic configuration, producer ids and transaction state
//   share    shareStateKey(group, topicId, partition) -> ShareStateRecord (KIP-932 share partitions)
// Every stored key is spelled in metadata-keys.ts.
// Writes resolve once committed (visible, and crash-safe for the process); topic changes also
// wait for LMDB's flush so a topic acknowledged to a client survives a power loss. On a full disk a
// write is refused before it reaches lmdb (metadata-reserve.ts: lmdb itself must never meet a full
// disk); a commit that fails anyway rejects too. Either way the write rejects with
// KafkaStorageError and changes nothing, and the store takes writes again once the disk has room.
// Writes are not batched per event turn: lmdb's batch of a turn holds a promise of its own that
// nobody can handle, and a failed commit would reject it unhandled; writes that belong together
// use transaction().
//
// Concurrency: one process owns the environment; reads are synchronous and see the last commit.
import fs from 'node:fs'
import path from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import { KafkaStorageError } from './errors.js'
import {
  CLOSE_PROBE_KEY,
  committedOffsetKey,
  groupOfCommittedOffsetKey,
  groupOffsetsRange,
  LEGACY_OFFSET_KEY_SEPARATOR,
  parseCommittedOffsetKey,
} from './metadata-keys.js'
import { MetadataReserve } from './metadata-reserve.js'

export interface TopicRecord {
  name: string
  /** UUID, 8-4-4-4-12. */
  topicId: string
  partitions: number
  configs: Record<string, string>
  createdAt: number
}

/**
 * The persisted state of one share partition, as Kafka's share coordinator writes its ShareSnapshot
 * records: the start offset, the state epoch and the in-flight ranges as
 * [firstOffset, lastOffset, deliveryState, deliveryCount] (state 0 Available, 2 Acknowledged,
 * 4 Archived).
 */
export interface ShareStateRecord {
  startOffset: number
  stateEpoch: number
  leaderEpoch: number
  stateBatches: Array<[number, number, number, number]>
}

export interface CommittedOffset {
  offset: number
  leaderEpoch: number
  metadata: string | null
  commitTimestamp: number
  expireTimestamp: number
}

const SEP = '\u0000'

/** The key fetchOffsets() uses for one partition (in memory only, never stored). */
export function offsetKey(topic: string, partition: number): string {
  return `${topic}${SEP}${partition}`
}

/** Splits an offsetKey() back into topic and partition. */
export function parseOffsetKey(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf(SEP)
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) }
}

export class MetadataStore {
  /**
   * Every topic record, read once at open and kept in step with each committed change: topics are
   * looked up on every Fetch and Metadata request, and an LMDB read decodes a fresh copy each time.
   */
  private readonly topicCache = new Map<string, Readonly<TopicRecord>>()
  /** The last commit failed: lmdb's `flushed` then waits for a flush that never comes. */
  private lastCommitFailed = false

  private constructor(
    private readonly root: RootDatabase,
    private readonly reserve: MetadataReserve,
    private readonly topics: Database<TopicRecord, string>,
    private readonly offsets: Database<CommittedOffset, string>,
    private readonly kv: Database<unknown, string>,
    private readonly share: Database<ShareStateRecord, string>,
  ) {}

  /** Opens (creating) the store in directory `dir`. */
  static open(dir: string): MetadataStore {
    fs.mkdirSync(dir, { recursive: true })
    // noSubdir: the directory holds data.mdb and lock.mdb whatever its name (lmdb would otherwise
    // take a name with a dot for the data file's).
    const root = open({ path: dir, noSubdir: false, maxDbs: 8, eventTurnBatching: false })
    const { pageSize } = root.getStats() as { pageSize: number }
    const reserve = new MetadataReserve({
      file: path.join(dir, 'data.mdb'),
      pageSize,
      used: () => ((root.getStats() as { lastPageNumber: number }).lastPageNumber + 1) * pageSize,
      locked: (fn) => root.transactionSync(fn),
    })
    // Before the first write (openDB creates missing databases). On a full disk this fails, and
    // writes are refused until there is room.
    reserve.topUp()
    const store = new MetadataStore(
      root,
      reserve,
      root.openDB<TopicRecord, string>({ name: 'topics' }),
      root.openDB<CommittedOffset, string>({ name: 'offsets' }),
      root.openDB<unknown, string>({ name: 'kv' }),
      root.openDB<ShareStateRecord, string>({ name: 'share' }),
    )
    store.migrateNulKeys()
    for (const { value } of store.topics.getRange()) store.topicCache.set(value.name, frozen(value))
    return store
  }

  /** Rewrites offsets stored under the earlier NUL-separated key layout. */
  private migrateNulKeys(): void {
    const old: Array<{ key: unknown; value: CommittedOffset }> = []
    for (const { key, value } of this.offsets.getRange()) {
      if (typeof key !== 'string' || key.includes(LEGACY_OFFSET_KEY_SEPARATOR)) old.push({ key, value })
    }
    if (old.length === 0) return
    const release = this.reserve.admit('rewriting offsets stored under the earlier key layout', old.map(({ key, value }) => [key, value]))
    try {
      this.offsets.transactionSync(() => {
        for (const { key, value } of old) {
          const parts = Array.isArray(key) ? key.map(String) : String(key).split(LEGACY_OFFSET_KEY_SEPARATOR)
          if (parts.length >= 3) {
            const partition = Number(parts[parts.length - 1])
            const group = parts.slice(0, parts.length - 2).join(LEGACY_OFFSET_KEY_SEPARATOR)
            this.offsets.putSync(committedOffsetKey(group, parts[parts.length - 2]!, partition), value)
          }
          this.offsets.removeSync(key as string)
        }
      })
    } finally {
      release()
    }
  }

  /** The stored record (frozen: change a topic through putTopic with a copy). */
  getTopic(name: string): Readonly<TopicRecord> | undefined {
    return this.topicCache.get(name)
  }

  /** Every topic, in name order. */
  listTopics(): Array<Readonly<TopicRecord>> {
    return [...this.topicCache.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async putTopic(t: TopicRecord): Promise<void> {
    const record = frozen(t)
    let flushed: Promise<void> | undefined
    await this.write(`storing topic ${t.name}`, [[t.name, record]], () => {
      const committed = this.topics.put(t.name, record)
      flushed = this.flushOf()
      return committed
    })
    this.topicCache.set(t.name, record)
    await flushed
  }

  async deleteTopic(name: string): Promise<void> {
    let flushed: Promise<void> | undefined
    await this.write(`deleting topic ${name}`, [[name, undefined]], () => {
      const committed = this.topics.remove(name)
      flushed = this.flushOf()
      return committed
    })
    this.topicCache.delete(name)
    await flushed
  }

  /** Stores all entries in one transaction. */
  async commitOffsets(group: string, entries: Array<{ topic: string; partition: number } & CommittedOffset>): Promise<void> {
    const records = entries.map((e) => [
      committedOffsetKey(group, e.topic, e.partition),
      { offset: e.offset, leaderEpoch: e.leaderEpoch, metadata: e.metadata, commitTimestamp: e.commitTimestamp, expireTimestamp: e.expireTimestamp },
    ] as const)
    await this.write(`storing offsets of group ${group}`, records, () =>
      this.offsets.transaction(() => {
        for (const [key, value] of records) this.offsets.put(key, value)
      }),
    )
  }

  /** Committed offsets of `group`, keyed by offsetKey(topic, partition). */
  fetchOffsets(group: string): Map<string, CommittedOffset> {
    const out = new Map<string, CommittedOffset>()
    for (const { key, value } of this.offsets.getRange(groupOffsetsRange(group))) {
      const { topic, partition } = parseCommittedOffsetKey(group, key)
      out.set(offsetKey(topic, partition), value)
    }
    return out
  }

  /** Deletes the group's offsets, or only those matching `filter`; returns how many went. */
  async deleteOffsets(group: string, filter?: Array<{ topic: string; partition?: number }>): Promise<number> {
    const victims: string[] = []
    for (const key of this.fetchOffsets(group).keys()) {
      if (filter !== undefined) {
        const { topic, partition } = parseOffsetKey(key)
        if (!filter.some((f) => f.topic === topic && (f.partition === undefined || f.partition === partition))) continue
      }
      const { topic, partition } = parseOffsetKey(key)
      victims.push(committedOffsetKey(group, topic, partition))
    }
    if (victims.length === 0) return 0
    await this.write(`deleting offsets of group ${group}`, victims.map((k) => [k, undefined]), () =>
      this.offsets.transaction(() => {
        for (const k of victims) this.offsets.remove(k)
      }),
    )
    return victims.length
  }

  /** Groups that have at least one committed offset. */
  listOffsetGroups(): string[] {
    const out: string[] = []
    let last: string | undefined
    for (const key of this.offsets.getKeys()) {
      const group = groupOfCommittedOffsetKey(key)
      if (group !== last) out.push(group)
      last = group
    }
    return out
  }

  /**
   * Writes and deletes share-partition states in one transaction (null deletes): the group commit
   * of every state changed while the previous one was being written.
   */
  async writeShareStates(entries: ReadonlyMap<string, ShareStateRecord | null>): Promise<void> {
    await this.write('storing share-partition state', [...entries], () =>
      this.share.transaction(() => {
        for (const [key, value] of entries) {
          if (value === null) this.share.remove(key)
          else this.share.put(key, value)
        }
      }),
    )
  }

  /** Every stored share-partition state, by key (metadata-keys.ts spells and parses them). */
  listShareStates(): Array<{ key: string; value: ShareStateRecord }> {
    const out: Array<{ key: string; value: ShareStateRecord }> = []
    for (const { key, value } of this.share.getRange()) if (typeof key === 'string') out.push({ key, value })
    return out
  }

  get<T>(key: string): T | undefined {
    return this.kv.get(key) as T | undefined
  }

  /** The kv keys that start with `prefix`, in order. */
  kvKeys(prefix: string): string[] {
    const out: string[] = []
    for (const key of this.kv.getKeys({ start: prefix, end: `${prefix}\uffff` })) if (typeof key === 'string' && key.startsWith(prefix)) out.push(key)
    return out
  }

  async put(key: string, value: unknown): Promise<void> {
    await this.write(`storing ${key}`, [[key, value]], () => this.kv.put(key, value))
  }

  async delete(key: string): Promise<void> {
    await this.write(`deleting ${key}`, [[key, undefined]], () => this.kv.remove(key))
  }

  async close(): Promise<void> {
    if (this.lastCommitFailed) {
      // lmdb's close waits for the flush of the last write, which for a failed one never comes. A
      // write that changes nothing needs no new page, so it commits on a full disk and its flush
      // stands in.
      await this.committed(this.kv.remove(CLOSE_PROBE_KEY), 'closing').catch(() => {})
    }
    if (this.lastCommitFailed) {
      this.root.close().catch(() => {}) // left to the process's exit
      return
    }
    await this.root.flushed
    await this.root.close()
  }

  /**
   * Issues a write of `entries` (key and value pairs, value undefined for a removal) once the disk
   * has room for it (metadata-reserve.ts; a full disk refuses it with KafkaStorageError before lmdb
   * sees it) and waits for its commit.
   */
  private async write<T>(what: string, entries: ReadonlyArray<readonly [unknown, unknown]>, issue: () => Promise<T>): Promise<T> {
    const release = this.reserve.admit(what, entries)
    try {
      return await this.committed(issue(), what)
    } finally {
      release()
    }
  }

  /**
   * Waits for a write's commit; a failed one becomes a KafkaStorageError. lmdb hangs the cause on
   * the error as a second promise (commitError) that rejects too: it is handled here, so a failed
   * commit never surfaces as an unhandled rejection (lmdb prints the cause itself).
   */
  private async committed<T>(write: Promise<T>, what: string): Promise<T> {
    try {
      const result = await write
      this.lastCommitFailed = false
      return result
    } catch (err) {
      this.lastCommitFailed = true
      // Not awaited: lmdb settles it only when the write thread reports an error status.
      ;(err as { commitError?: Promise<unknown> }).commitError?.catch(() => {})
      throw new KafkaStorageError(`metadata store: ${what} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
    }
  }

  /**
   * A promise for the flush of the write just issued, taken before anything else can start a new
   * transaction: `root.flushed` follows the latest one, which may be another write's failed commit.
   */
  private flushOf(): Promise<void> {
    const flushed = new Promise<void>((resolve, reject) => {
      this.root.flushed.then(() => resolve(), reject)
    })
    flushed.catch(() => {}) // awaited only when the commit succeeded
    return flushed
  }
}

function frozen(t: TopicRecord): Readonly<TopicRecord> {
  return Object.freeze({ ...t, configs: Object.freeze({ ...t.configs }) })
}
