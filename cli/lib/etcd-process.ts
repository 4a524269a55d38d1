// A single-member etcd as a child process, for `samsa dev-cluster`: loopback ports, its own data
// directory, short raft timers (leases as short as a second or two), and a wait until /health
// says it serves.
import { spawn, type ChildProcess } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'

export interface EtcdProcess {
  endpoint: string
  proc: ChildProcess
  stop(): Promise<void>
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}

export async function startEtcd(opts: { binary: string; dataDir: string; clientPort: number; host?: string }): Promise<EtcdProcess> {
  const host = opts.host ?? '127.0.0.1'
  const clientPort = opts.clientPort === 0 ? await freePort(host) : opts.clientPort
  const peerPort = await freePort(host)
  const endpoint = `http://${host}:${clientPort}`
  const peer = `http://${host}:${peerPort}`
  const proc = spawn(
    opts.binary,
    etcdArgs({ name: 'dev', dataDir: path.join(opts.dataDir, 'etcd'), endpoint, peer }),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let stderr = ''
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)))
  const spawned = new Promise<void>((resolve, reject) => {
    proc.once('error', reject)
    proc.once('spawn', resolve)
  })
  await spawned
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
    await exited
  }
  try {
    await waitUntilHealthy(endpoint, proc, 20_000, () => stderr.trim())
  } catch (err) {
    await stop()
    throw err
  }
  return { endpoint, proc, stop }
}

/**
 * The command line of a single-member etcd on `endpoint` (client) and `peer`: short raft timers,
 * so that leases as short as a second or two work.
 */
export function etcdArgs(o: { name: string; dataDir: string; endpoint: string; peer: string }): string[] {
  return [
    '--name', o.name,
    '--data-dir', o.dataDir,
    '--listen-client-urls', o.endpoint,
    '--advertise-client-urls', o.endpoint,
    '--listen-peer-urls', o.peer,
    '--initial-advertise-peer-urls', o.peer,
    '--initial-cluster', `${o.name}=${o.peer}`,
    '--heartbeat-interval', '50',
    '--election-timeout', '500',
    '--log-level', 'warn',
  ]
}

/** Polls etcd's /health until it serves; throws if the process exits first or `timeoutMs` passes. */
export async function waitUntilHealthy(endpoint: string, proc: ChildProcess, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`etcd exited with code ${proc.exitCode}: ${output()}`)
    const health = await fetch(`${endpoint}/health`)
      .then((r) => r.json() as Promise<{ health?: string }>)
      .catch(() => undefined)
    if (health?.health === 'true') return
    if (Date.now() > deadline) throw new Error(`etcd did not become healthy within ${timeoutMs / 1000} s: ${output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
