// The admin state of a cluster (storage/admin-state.ts) in etcd, under the prefix's admin/ keys:
// loaded whole when the broker starts, then kept current by a watch, so a change made through any
// broker reaches every broker within a watch round trip. Reads come from that copy: while etcd is
// unreachable the broker keeps authorizing and checking logins against the last state it saw.
// A change reads the key from etcd and writes it only if it is still at the revision read, again
// on a conflict (changes to one key through this broker run one at a time, so only other brokers
// race it); when etcd does not answer it fails with REQUEST_TIMED_OUT, what a Kafka broker answers
// when its controller cannot commit.
import type { Watcher } from 'etcd3'
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { sameValue, type AdminState } from '../../storage/admin-state.js'
import { KafkaError } from '../errors.js'
import { EtcdStore } from './etcd-store.js'
import { ADMIN_PREFIX, namespaceOf } from './keys.js'
import { unreachable } from './topic-admin.js'

/** Read-modify-write attempts before a change gives up on a key other brokers keep changing. */
const MAX_ATTEMPTS = 10
const RETRY_MS = 500

export class EtcdAdminState implements AdminState {
  private readonly values = new Map<string, unknown>()
  /** The mod revision each key was last seen at (deleted keys too): an older event changes nothing. */
  private readonly revisions = new Map<string, bigint>()
  private readonly listeners: Array<(key: string) => void> = []
  /** The last change queued for each key. */
  private readonly queues = new Map<string, Promise<unknown>>()
  private watcher: Watcher | undefined
  private closed = false

  private constructor(
    private readonly store: EtcdStore,
    private readonly logger: Logger,
  ) {}

  static async open(endpoints: string[], prefix: string, logger: Logger): Promise<EtcdAdminState> {
    const state = new EtcdAdminState(new EtcdStore(endpoints, `${namespaceOf(prefix)}${ADMIN_PREFIX}`, logger), logger)
    try {
      await state.load()
    } catch (err) {
      await state.close()
      throw err
    }
    return state
  }

  get<T>(key: string): T | undefined {
    return this.values.get(key) as T | undefined
  }

  keys(prefix: string): string[] {
    return [...this.values.keys()].filter((k) => k.startsWith(prefix)).sort()
  }

  update<T>(key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const run = (this.queues.get(key) ?? Promise.resolve()).then(() => this.compareAndSet(key, change))
    const tail = run.catch(() => undefined)
    this.queues.set(key, tail)
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key)
    })
    return run
  }

  private async compareAndSet<T>(key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      // Another broker won the last round: let the brokers racing for this key spread out.
      if (attempt > 0) await sleep(Math.random() * 20 * attempt)
      const stored = await this.store.get(key).catch((err: unknown) => Promise.reject(unreachable(err)))
      const current = stored === undefined ? undefined : (JSON.parse(stored.value) as T)
      const next = change(current)
      if (sameValue(current, next)) return current
      const text = next === undefined ? null : JSON.stringify(next)
      const revision = await this.store.putIf(key, stored?.modRevision ?? 'absent', text).catch((err: unknown) => Promise.reject(unreachable(err)))
      if (revision !== undefined) {
        // Here at once, so the request that made the change sees it; the watch brings it again.
        this.apply(key, text, revision)
        return next
      }
    }
    throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${key} kept changing in the cluster metadata while being altered; try again.`)
  }

  onChange(listener: (key: string) => void): void {
    this.listeners.push(listener)
  }

  /**
   * Copies `key` from a broker's own metadata store into etcd if etcd has no value for it: the
   * first broker to join a cluster with such state brings it along. 'copied', 'same' when etcd
   * already holds the same value, or 'kept' when etcd holds another (etcd's applies).
   */
  async adopt(key: string, value: unknown): Promise<'copied' | 'same' | 'kept'> {
    let outcome: 'copied' | 'same' | 'kept' = 'copied'
    await this.update<unknown>(key, (current) => {
      if (current === undefined) return value
      outcome = sameValue(current, value) ? 'same' : 'kept'
      return current
    })
    return outcome
  }

  async close(): Promise<void> {
    this.closed = true
    await this.watcher?.cancel().catch(() => {})
    this.store.close()
  }

  private async load(): Promise<void> {
    const loaded = await this.store.loadAll()
    const present = new Set(loaded.kvs.map((kv) => kv.key))
    for (const key of [...this.values.keys()]) if (!present.has(key)) this.apply(key, null, loaded.revision)
    for (const kv of loaded.kvs) this.apply(kv.key, kv.value, kv.modRevision)
    this.watcher = await this.store.watch(
      loaded.revision,
      (key, value, modRevision) => this.apply(key, value, modRevision),
      (err) => {
        if (this.closed) return
        this.logger.warn({ err: err.message }, 'etcd ended the admin-state watch; loading it again')
        void this.reload()
      },
    )
  }

  /** After a lost watch: everything read again, retried until etcd answers. */
  private async reload(): Promise<void> {
    await this.watcher?.cancel().catch(() => {})
    while (!this.closed) {
      try {
        await this.load()
        return
      } catch (err) {
        this.logger.debug({ err: (err as Error).message }, 'loading the admin state again failed; retrying')
        await sleep(RETRY_MS)
      }
    }
  }

  private apply(key: string, value: string | null, modRevision: string): void {
    const revision = BigInt(modRevision)
    const seen = this.revisions.get(key)
    if (seen !== undefined && revision <= seen) return
    this.revisions.set(key, revision)
    if (value === null) {
      if (!this.values.delete(key)) return
    } else {
      try {
        this.values.set(key, JSON.parse(value))
      } catch (err) {
        this.logger.error({ key, err: (err as Error).message }, 'unreadable admin state in etcd; keeping the last value')
        return
      }
    }
    for (const l of this.listeners) l(key)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
