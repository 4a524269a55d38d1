// A cluster on this machine for tests: a real etcd (Debian's etcd-server) on free loopback ports
// with a temporary data directory, and brokers in child processes (test/fixtures/broker-child.mjs
// over the built dist/) joined to it, each with its own data directory and node id. Leases are
// short (broker.session.timeout.ms 2000 unless given) so failover fits in a test.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import type { Admin, Kafka } from 'kafkajs'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { CuttableProxy } from '../chaos/proxy.js'
import { etcdArgs, freePort, waitUntilHealthy } from '../../cli/lib/etcd-process.js'

export const ETCD_BINARY = process.env.SAMSA_ETCD ?? '/usr/bin/etcd'
/** Why cluster tests cannot run here, or undefined when they can. */
export const etcdMissing: string | undefined = existsSync(ETCD_BINARY) ? undefined : `no etcd at ${ETCD_BINARY} (apt-get install etcd-server)`

/** A free TCP port on 127.0.0.1, for a process that must be told its port up front. */
export { freePort }

/** Runs `fn` with a connected admin client of `kafka`, and disconnects it however `fn` ends. */
export async function withAdmin<T>(kafka: Kafka, fn: (a: Admin) => Promise<T>): Promise<T> {
  const a = kafka.admin()
  await a.connect()
  try {
    return await fn(a)
  } finally {
    await a.disconnect()
  }
}

export class Etcd {
  proc: ChildProcess | undefined
  private out = ''

  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    private readonly peerPort: number,
  ) {}

  static async start(): Promise<Etcd> {
    const etcd = new Etcd(await makeTempDir('samsa-etcd-'), await freePort(), await freePort())
    await etcd.run()
    return etcd
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`
  }

  output(): string {
    return this.out
  }

  /** Starts (again, on the same data and ports) and waits until it serves clients. */
  async run(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`
    const proc = spawn(ETCD_BINARY, etcdArgs({ name: 'test', dataDir: path.join(this.dataDir, 'data'), endpoint: this.endpoint, peer }), { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.out += d))
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.out += d))
    await waitUntilHealthy(this.endpoint, proc, 15_000, () => this.out)
  }

  /** SIGKILL, and waits for the exit. */
  async kill(): Promise<void> {
    const proc = this.proc
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise((r) => proc.once('exit', r))
    proc.kill('SIGKILL')
    await exited
  }

  async stop(): Promise<void> {
    await this.kill()
    await removeDir(this.dataDir)
  }
}

export interface ClusterBroker {
  nodeId: number
  dataDir: string
  child: ChildBroker | undefined
  /** The broker's own way to etcd, when the cluster was started with etcdProxies: cut() isolates it from etcd. */
  etcdProxy?: CuttableProxy
}

export class TestCluster {
  readonly brokers: ClusterBroker[] = []

  private constructor(
    readonly etcd: Etcd,
    private readonly config: Record<string, string>,
    private readonly nodeConfig?: (nodeId: number) => Record<string, string>,
    private readonly http: boolean | 'actions' = false,
  ) {}

  /**
   * etcd and `count` brokers (node ids 1..count), all started and registered. `prepare` runs on each
   * broker's empty data directory before it starts (users, ACLs); `nodeConfig` adds to or overrides
   * `config` for one broker; `http` serves each broker's HTTP endpoint (/metrics, the console;
   * 'actions': with the console's actions allowed).
   */
  static async start(
    count: number,
    config: Record<string, string> = {},
    opts: { etcdProxies?: boolean; prepare?: (b: ClusterBroker) => Promise<void>; nodeConfig?: (nodeId: number) => Record<string, string>; http?: boolean | 'actions' } = {},
  ): Promise<TestCluster> {
    await ensureBuilt()
    const etcd = await Etcd.start()
    const cluster = new TestCluster(etcd, config, opts.nodeConfig, opts.http ?? false)
    try {
      for (let id = 1; id <= count; id++) {
        const etcdProxy = opts.etcdProxies === true ? await CuttableProxy.start(0, etcd.clientPort) : undefined
        cluster.brokers.push({ nodeId: id, dataDir: await makeTempDir(`samsa-node${id}-`), child: undefined, etcdProxy })
      }
      if (opts.prepare !== undefined) for (const b of cluster.brokers) await opts.prepare(b)
      await Promise.all(cluster.brokers.map((b) => cluster.startBroker(b.nodeId)))
    } catch (err) {
      await cluster.stop()
      throw err
    }
    return cluster
  }

  /** A further broker with an empty data directory, not started yet. */
  async addBroker(nodeId: number): Promise<ClusterBroker> {
    const b: ClusterBroker = { nodeId, dataDir: await makeTempDir(`samsa-node${nodeId}-`), child: undefined }
    this.brokers.push(b)
    return b
  }

  broker(nodeId: number): ClusterBroker {
    const b = this.brokers.find((x) => x.nodeId === nodeId)
    if (b === undefined) throw new Error(`no broker ${nodeId}`)
    return b
  }

  /** host:port of a running broker. */
  address(nodeId: number): string {
    const child = this.broker(nodeId).child
    if (child === undefined) throw new Error(`broker ${nodeId} is not running`)
    return child.address
  }

  /** host:port of a running broker's listener `name` (as configured in `listeners`). */
  listenerAddress(nodeId: number, name: string): string {
    const child = this.broker(nodeId).child
    if (child === undefined) throw new Error(`broker ${nodeId} is not running`)
    const m = new RegExp(`^listener ${name} (\\S+)$`, 'm').exec(child.output())
    if (m === null) throw new Error(`broker ${nodeId} has no listener ${name}`)
    return m[1]!
  }

  /** Every running broker's address, for a client's bootstrap list. */
  bootstrap(): string[] {
    return this.brokers.filter((b) => b.child !== undefined).map((b) => b.child!.address)
  }

  async startBroker(nodeId: number): Promise<ChildBroker> {
    const b = this.broker(nodeId)
    b.child = await startChildBroker(
      b.dataDir,
      {
        'cluster.etcd.endpoints': b.etcdProxy === undefined ? this.etcd.endpoint : `http://127.0.0.1:${b.etcdProxy.port}`,
        'cluster.etcd.prefix': '/samsa-test',
        'node.id': String(nodeId),
        'broker.session.timeout.ms': '2000',
        'controlled.shutdown.timeout.ms': '5000',
        // The internal topics need as many live brokers as their replication factor (3 by default).
        'offsets.topic.replication.factor': String(Math.min(3, this.brokers.length)),
        'transaction.state.log.replication.factor': String(Math.min(3, this.brokers.length)),
        'transaction.state.log.min.isr': String(Math.min(2, this.brokers.length)),
        'share.coordinator.state.topic.replication.factor': String(Math.min(3, this.brokers.length)),
        'share.coordinator.state.topic.min.isr': String(Math.min(2, this.brokers.length)),
        ...this.config,
        ...this.nodeConfig?.(nodeId),
      },
      { startTimeoutMs: 20_000, http: this.http !== false, httpActions: this.http === 'actions' },
    )
    return b.child
  }

  /** SIGKILL: no controlled shutdown, the lease runs out in etcd. */
  async kill(nodeId: number): Promise<void> {
    const b = this.broker(nodeId)
    await b.child?.kill()
    b.child = undefined
  }

  /** SIGTERM: controlled shutdown, then exit; how the process ended. */
  async stopBroker(nodeId: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    const b = this.broker(nodeId)
    const exit = await b.child?.stop(20_000)
    b.child = undefined
    return exit
  }

  async stop(): Promise<void> {
    await Promise.all(this.brokers.map((b) => b.child?.kill().catch(() => {})))
    await Promise.all(this.brokers.map((b) => b.etcdProxy?.close()))
    await this.etcd.stop()
    await Promise.all(this.brokers.map((b) => removeDir(b.dataDir)))
  }
}
