// The cluster under test: the cluster tests' etcd (test/cluster/harness.ts) and three broker child
// processes, each behind proxies the nemesis can cut. A broker has two listeners: CLIENT (for
// producers and consumers) and REPLICATION (inter.broker.listener.name, what followers fetch
// from), and each is advertised at a proxy's port, so every connection to a broker, from a client
// or from another broker, passes a proxy. Each broker also reaches etcd through a proxy of its own,
// so one broker can be cut off from etcd while the others keep it.
import { appendFile } from 'node:fs/promises'
import path from 'node:path'
import { Etcd, freePort } from '../cluster/harness.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { CuttableProxy } from './proxy.js'

export type BrokerState = 'up' | 'down' | 'paused'

export interface ChaosBroker {
  nodeId: number
  dataDir: string
  replicationPort: number
  client: CuttableProxy
  replication: CuttableProxy
  etcd: CuttableProxy
  child: ChildBroker | undefined
  state: BrokerState
}

export class ChaosCluster {
  readonly brokers: ChaosBroker[] = []

  private constructor(
    readonly etcd: Etcd,
    readonly logDir: string,
    private readonly config: Record<string, string>,
  ) {}

  static async start(count: number, logDir: string, config: Record<string, string>): Promise<ChaosCluster> {
    await ensureBuilt()
    const cluster = new ChaosCluster(await Etcd.start(), logDir, config)
    try {
      for (let nodeId = 1; nodeId <= count; nodeId++) {
        const replicationPort = await freePort()
        cluster.brokers.push({
          nodeId,
          dataDir: await makeTempDir(`samsa-chaos${nodeId}-`),
          replicationPort,
          // The client proxy's upstream is known once the broker is up (its CLIENT port is ephemeral).
          client: await CuttableProxy.start(0, 1),
          replication: await CuttableProxy.start(0, replicationPort),
          etcd: await CuttableProxy.start(0, cluster.etcd.clientPort),
          child: undefined,
          state: 'down',
        })
      }
      await Promise.all(cluster.brokers.map((b) => cluster.startBroker(b.nodeId)))
    } catch (err) {
      await cluster.stop(false)
      throw err
    }
    return cluster
  }

  broker(nodeId: number): ChaosBroker {
    const b = this.brokers.find((x) => x.nodeId === nodeId)
    if (b === undefined) throw new Error(`no broker ${nodeId}`)
    return b
  }

  /** The client proxies' addresses: a bootstrap list that works whatever is running. */
  bootstrap(): string[] {
    return this.brokers.map((b) => `127.0.0.1:${b.client.port}`)
  }

  async startBroker(nodeId: number): Promise<void> {
    const b = this.broker(nodeId)
    b.child = await startChildBroker(
      b.dataDir,
      {
        listeners: `CLIENT://127.0.0.1:0,REPLICATION://127.0.0.1:${b.replicationPort}`,
        'advertised.listeners': `CLIENT://127.0.0.1:${b.client.port},REPLICATION://127.0.0.1:${b.replication.port}`,
        'listener.security.protocol.map': 'CLIENT:PLAINTEXT,REPLICATION:PLAINTEXT',
        'inter.broker.listener.name': 'REPLICATION',
        'cluster.etcd.endpoints': `http://127.0.0.1:${b.etcd.port}`,
        'cluster.etcd.prefix': '/samsa-chaos',
        'node.id': String(nodeId),
        ...this.config,
      },
      { startTimeoutMs: 60_000 },
    )
    b.client.retarget(Number(b.child.address.slice(b.child.address.lastIndexOf(':') + 1)))
    b.state = 'up'
  }

  /** SIGKILL: no controlled shutdown; the lease runs out in etcd. */
  async kill(nodeId: number): Promise<void> {
    const b = this.broker(nodeId)
    if (b.state === 'paused') this.signal(b, 'SIGCONT')
    await b.child?.kill()
    await this.saveOutput(b, 'killed')
    b.child = undefined
    b.state = 'down'
  }

  /** SIGTERM: controlled shutdown, then exit (SIGKILL if it takes over a minute). */
  async stopBroker(nodeId: number): Promise<void> {
    const b = this.broker(nodeId)
    try {
      await b.child?.stop(60_000)
    } finally {
      await this.saveOutput(b, 'stopped')
      b.child = undefined
      b.state = 'down'
    }
  }

  /** Kills every broker (etcd stays): their data can then be read from disk. */
  async killBrokers(): Promise<void> {
    for (const b of this.brokers) await this.kill(b.nodeId)
  }

  pause(nodeId: number): void {
    const b = this.broker(nodeId)
    if (b.state !== 'up') return
    this.signal(b, 'SIGSTOP')
    b.state = 'paused'
  }

  resume(nodeId: number): void {
    const b = this.broker(nodeId)
    if (b.state !== 'paused') return
    this.signal(b, 'SIGCONT')
    b.state = 'up'
  }

  /** Whether the broker's process is still alive (it may exit on its own, which is worth knowing). */
  alive(nodeId: number): boolean {
    const proc = this.broker(nodeId).child?.proc
    return proc !== undefined && proc.exitCode === null && proc.signalCode === null
  }

  /** Resumes, restarts and reconnects whatever the nemesis left broken. */
  async healAll(): Promise<void> {
    for (const b of this.brokers) {
      b.client.heal()
      b.replication.heal()
      b.etcd.heal()
      if (b.state === 'paused') this.resume(b.nodeId)
    }
    if (this.etcd.proc === undefined || this.etcd.proc.exitCode !== null || this.etcd.proc.signalCode !== null) await this.etcd.run()
    for (const b of this.brokers) {
      if (b.state === 'up' && !this.alive(b.nodeId)) {
        await this.saveOutput(b, 'exited on its own')
        b.state = 'down'
      }
      if (b.state === 'down') await this.startBroker(b.nodeId)
    }
  }

  async stop(keepData: boolean): Promise<void> {
    for (const b of this.brokers) if (b.state === 'paused') this.signal(b, 'SIGCONT')
    await Promise.all(this.brokers.map(async (b) => {
      await b.child?.kill().catch(() => {})
      await this.saveOutput(b, 'end of run')
    }))
    for (const b of this.brokers) await Promise.all([b.client.close(), b.replication.close(), b.etcd.close()])
    if (keepData) {
      await this.etcd.kill()
      return
    }
    await this.etcd.stop()
    await Promise.all(this.brokers.map((b) => removeDir(b.dataDir)))
  }

  private signal(b: ChaosBroker, signal: NodeJS.Signals): void {
    b.child?.proc.kill(signal)
  }

  private async saveOutput(b: ChaosBroker, why: string): Promise<void> {
    if (b.child === undefined) return
    const file = path.join(this.logDir, `broker-${b.nodeId}.log`)
    await appendFile(file, `${b.child.output()}\n==== ${new Date().toISOString()} ${why} ====\n`)
  }
}
