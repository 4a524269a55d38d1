// The few etcd operations cluster mode needs, on the cluster's prefix: read everything, watch
// everything from a revision on, and transactions that write only if each key is still at the
// mod revision the writer read (or still absent). Nothing here knows what the keys mean.
import { Etcd3, isRecoverableError, type Namespace, type Watcher, type IOptions } from 'etcd3'
import type { Logger } from 'pino'
import { namespaceOf } from './keys.js'
import { LeaseKeeper, type LeaseEvents } from './lease-keeper.js'

export interface StoredKey {
  key: string
  value: string
  modRevision: string
}

/** One key of a conditional write: `expect` is the mod revision read, or 'absent'; value null deletes. */
export interface GuardedWrite {
  key: string
  expect: string | 'absent'
  value: string | null
  /** Attach the write to this lease (the key goes when the lease does). */
  lease?: string
}

type FaultHandling = NonNullable<IOptions['faultHandling']>
type Backoff = NonNullable<FaultHandling['watchBackoff']>
type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>

/**
 * etcd3's circuit breaker for one etcd host, with a short pause: after three failures in a row the
 * host is passed over (another endpoint is tried) for half a second. etcd3's own pauses five
 * seconds, long enough for a lease of a short session timeout, which a restarted etcd extends by
 * about its TTL, to run out before the broker is let through to renew it.
 */
class ShortCircuit {
  private failures = 0
  private openUntil = 0

  async execute<T>(fn: () => T | Promise<T>): Promise<T> {
    if (Date.now() < this.openUntil) throw new Error('etcd host passed over for a moment after failing three times in a row')
    try {
      const result = await fn()
      this.failures = 0
      return result
    } catch (err) {
      if (err instanceof Error && isRecoverableError(err) && ++this.failures >= 3) {
        this.failures = 0
        this.openUntil = Date.now() + 500
      }
      throw err
    }
  }
}

/** Watches reconnect at a steady pace instead of backing off to half a minute: metadata must catch up soon after etcd returns. */
class SteadyBackoff {
  constructor(readonly duration: number) {}
  next(): SteadyBackoff {
    return this
  }
}

export class EtcdStore {
  private readonly client: Etcd3
  readonly ns: Namespace

  constructor(endpoints: string[], prefix: string, readonly logger: Logger) {
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: 5_000,
      // A request to an unreachable etcd fails within seconds, so a client's admin request gets
      // a retriable error rather than waiting out its own timeout.
      defaultCallOptions: (call) => (call.isStream ? {} : { deadline: Date.now() + 5_000 }),
      faultHandling: { watchBackoff: new SteadyBackoff(500) as unknown as Backoff, host: () => new ShortCircuit() as unknown as HostPolicy },
    })
    this.ns = this.client.namespace(namespaceOf(prefix))
  }

  /** Every key under the prefix, and the revision they were read at (a watch continues from there). */
  async loadAll(): Promise<{ revision: string; kvs: StoredKey[] }> {
    const res = await this.ns.getAll().exec()
    return {
      revision: res.header.revision,
      kvs: res.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), modRevision: kv.mod_revision })),
    }
  }

  async get(key: string): Promise<StoredKey | undefined> {
    const res = await this.ns.get(key).exec()
    const kv = res.kvs[0]
    return kv === undefined ? undefined : { key, value: kv.value.toString(), modRevision: kv.mod_revision }
  }

  /**
   * Calls onChange for every change after `revision`, in order (value null: deleted). Reconnects
   * by itself; `onLost` is called when etcd cancels the watch for good (its revision was
   * compacted away), after which the caller must load everything again.
   */
  async watch(revision: string, onChange: (key: string, value: string | null, modRevision: string) => void, onLost: (err: Error) => void): Promise<Watcher> {
    const watcher = await this.ns
      .watch()
      .prefix('')
      .startRevision(String(BigInt(revision) + 1n))
      .create()
    watcher.on('put', (kv) => onChange(kv.key.toString(), kv.value.toString(), kv.mod_revision))
    watcher.on('delete', (kv) => onChange(kv.key.toString(), null, kv.mod_revision))
    watcher.on('disconnected', (err) => this.logger.warn({ err: err.message }, 'etcd watch disconnected; reconnecting'))
    watcher.on('connected', () => this.logger.debug('etcd watch connected'))
    watcher.on('error', (err) => onLost(err))
    return watcher
  }

  /**
   * Applies every write if every key, and every guard (a key only compared, such as the
   * controller's), is as expected; false (and nothing written) otherwise.
   */
  async writeIf(writes: GuardedWrite[], guards: Array<{ key: string; expect: string }> = []): Promise<boolean> {
    if (writes.length === 0) return true
    const [first, ...rest] = writes
    const txn = first!.expect === 'absent' ? this.ns.if(first!.key, 'Create', '==', 0) : this.ns.if(first!.key, 'Mod', '==', first!.expect)
    for (const g of guards) txn.and(g.key, 'Mod', '==', g.expect)
    for (const w of rest) {
      if (w.expect === 'absent') txn.and(w.key, 'Create', '==', 0)
      else txn.and(w.key, 'Mod', '==', w.expect)
    }
    txn.then(
      ...writes.map((w) => {
        if (w.value === null) return this.ns.delete().key(w.key)
        const put = this.ns.put(w.key).value(w.value)
        return w.lease === undefined ? put : put.lease(w.lease)
      }),
    )
    const res = await txn.commit()
    return res.succeeded
  }

  /**
   * Writes (value null: deletes) one key if it is still at mod revision `expect` (or absent); the
   * revision of the write, or undefined (nothing written) when the key had moved on.
   */
  async putIf(key: string, expect: string | 'absent', value: string | null): Promise<string | undefined> {
    const txn = expect === 'absent' ? this.ns.if(key, 'Create', '==', 0) : this.ns.if(key, 'Mod', '==', expect)
    const res = await txn.then(value === null ? this.ns.delete().key(key) : this.ns.put(key).value(value)).commit()
    return res.succeeded ? res.header.revision : undefined
  }

  /** Creates `key` under `lease` if absent; the mod revision it was written at, or undefined if it existed. */
  async createLeased(key: string, value: string, lease: string): Promise<string | undefined> {
    const res = await this.ns.if(key, 'Create', '==', 0).then(this.ns.put(key).value(value).lease(lease)).commit()
    return res.succeeded ? res.header.revision : undefined
  }

  async delete(key: string): Promise<void> {
    await this.ns.delete().key(key)
  }

  /** The value at `key`, writing `value` first if there is none (the first writer wins). */
  async getOrCreate(key: string, value: string): Promise<string> {
    await this.writeIf([{ key, expect: 'absent', value }])
    const stored = await this.get(key)
    if (stored === undefined) throw new Error(`etcd key ${key} vanished after it was created`)
    return stored.value
  }

  /** A new lease, kept alive until etcd says it is gone (lease-keeper.ts). */
  lease(ttlSeconds: number, events: LeaseEvents): Promise<LeaseKeeper> {
    return LeaseKeeper.grant(this.ns, ttlSeconds, events)
  }

  close(): void {
    this.client.close()
  }
}
