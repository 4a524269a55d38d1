// The nemesis: one fault at a time, chosen with a seeded generator (the same seed gives the same
// choices of fault, broker and durations; what the cluster does in between is up to the machine).
//
//   kill            SIGKILL a broker, start it again on its data after a few seconds
//   pause           SIGSTOP a broker for a few seconds (longer than its etcd lease, at times), SIGCONT
//   restart         SIGTERM a broker (controlled shutdown) and start it again
//   etcd-restart    SIGKILL etcd, start it again on its data after a few seconds
//   etcd-partition  cut one broker off from etcd (it keeps its clients and peers) for a few seconds
//   isolate         cut one broker off from everything: etcd, clients and the brokers that fetch from it
//   replication-cut cut the connections followers use to fetch from one broker
import type { ChaosCluster } from './cluster.js'

export const FAULT_KINDS = ['kill', 'pause', 'restart', 'etcd-restart', 'etcd-partition', 'isolate', 'replication-cut'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

/** mulberry32: small, seedable, good enough to choose faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface FaultRecord {
  kind: FaultKind
  nodeId: number | undefined
  startedAt: number
  healedAt: number
  error?: string
}

export interface NemesisOptions {
  seed: number
  /** The broker's etcd lease: pauses are chosen around it, some shorter, some longer. */
  sessionTimeoutMs: number
  log: (line: string) => void
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export class Nemesis {
  readonly faults: FaultRecord[] = []
  private readonly random: () => number
  private stopping = false

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly opts: NemesisOptions,
  ) {
    this.random = seededRandom(opts.seed)
  }

  /** Injects faults until `until` (epoch ms) or stop(); each fault is healed before the next. */
  async run(until: number): Promise<void> {
    while (!this.stopping && Date.now() < until) {
      await this.quiet(this.between(3000, 8000), until)
      if (this.stopping || Date.now() >= until) break
      const kind = FAULT_KINDS[Math.floor(this.random() * FAULT_KINDS.length)]!
      const nodeId = kind === 'etcd-restart' ? undefined : 1 + Math.floor(this.random() * this.cluster.brokers.length)
      const record: FaultRecord = { kind, nodeId, startedAt: Date.now(), healedAt: 0 }
      this.opts.log(`nemesis: ${kind}${nodeId === undefined ? '' : ` broker ${nodeId}`}`)
      try {
        await this.inject(kind, nodeId)
      } catch (err) {
        record.error = (err as Error).message.split('\n')[0]
        this.opts.log(`nemesis: ${kind} failed: ${record.error}`)
      }
      record.healedAt = Date.now()
      this.faults.push(record)
    }
  }

  stop(): void {
    this.stopping = true
  }

  counts(): Record<FaultKind, number> {
    const out = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>
    for (const f of this.faults) out[f.kind]++
    return out
  }

  private between(lo: number, hi: number): number {
    return Math.round(lo + this.random() * (hi - lo))
  }

  private async quiet(ms: number, until: number): Promise<void> {
    const end = Math.min(Date.now() + ms, until)
    while (!this.stopping && Date.now() < end) await sleep(Math.min(250, end - Date.now()))
  }

  private async inject(kind: FaultKind, nodeId: number | undefined): Promise<void> {
    const c = this.cluster
    const b = nodeId === undefined ? undefined : c.broker(nodeId)
    const lease = this.opts.sessionTimeoutMs
    switch (kind) {
      case 'kill':
        await c.kill(nodeId!)
        await sleep(this.between(1000, 2 * lease))
        await c.startBroker(nodeId!)
        return
      case 'pause':
        c.pause(nodeId!)
        await sleep(this.between(lease / 2, 2 * lease))
        c.resume(nodeId!)
        return
      case 'restart':
        await c.stopBroker(nodeId!)
        await c.startBroker(nodeId!)
        return
      case 'etcd-restart':
        await c.etcd.kill()
        await sleep(this.between(1000, 2 * lease))
        await c.etcd.run()
        return
      case 'etcd-partition':
        b!.etcd.cut()
        await sleep(this.between(lease / 2, 3 * lease))
        b!.etcd.heal()
        return
      case 'isolate':
        b!.etcd.cut()
        b!.client.cut()
        b!.replication.cut()
        await sleep(this.between(lease / 2, 3 * lease))
        b!.etcd.heal()
        b!.client.heal()
        b!.replication.heal()
        return
      case 'replication-cut':
        b!.replication.cut()
        await sleep(this.between(lease, 3 * lease))
        b!.replication.heal()
        return
    }
  }
}
