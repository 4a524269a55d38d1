// Child processes for the benchmark: start a service and wait for its readiness line, sample its
// CPU and RSS from /proc while a workload runs, and stop it. Linux only, like the rest of the run.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import net from 'node:net'

export interface Service {
  child: ChildProcess
  pid: number
  /** Milliseconds from spawn to the readiness line. */
  startMs: number
  match: RegExpExecArray
}

/**
 * Spawns `cmd` and resolves once `ready` matches its stdout or stderr. Rejects on exit or after
 * `timeoutMs`, killing the child, so a broken service never hangs the run.
 */
export function startService(cmd: string, args: string[], ready: RegExp, opts: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Service> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let seen = ''
    let done = false
    const finish = (err: Error | null, svc?: Service) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err) {
        child.kill('SIGKILL')
        reject(err)
      } else resolve(svc!)
    }
    const onData = (d: Buffer) => {
      if (done) return
      seen = (seen + d.toString()).slice(-8192)
      const m = ready.exec(seen)
      if (m) finish(null, { child, pid: child.pid!, startMs: performance.now() - started, match: m })
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', (err) => finish(err))
    child.once('exit', (code, signal) => finish(new Error(`${cmd} exited (${code ?? signal}) before it was ready: ${seen.slice(-500)}`)))
    const timer = setTimeout(() => finish(new Error(`${cmd} not ready after ${opts.timeoutMs ?? 20000} ms: ${seen.slice(-500)}`)), opts.timeoutMs ?? 20000)
  })
}

/** Sends SIGTERM, then SIGKILL if the process has not exited within `graceMs`. */
export function stopService(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  timedOut: boolean
}

/** Runs a command to completion; after `timeoutMs` it gets `signal` (then SIGKILL 3 s later). */
export function runCommand(cmd: string, args: string[], timeoutMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-65536)))
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-65536)))
    let hard: NodeJS.Timeout | undefined
    const soft = setTimeout(() => {
      timedOut = true
      child.kill(signal)
      hard = setTimeout(() => child.kill('SIGKILL'), 3000)
    }, timeoutMs)
    child.once('error', (err) => {
      stderr += String(err)
    })
    child.once('close', (code) => {
      clearTimeout(soft)
      clearTimeout(hard)
      resolve({ code, stdout, stderr, timedOut })
    })
  })
}

const CLOCK_TICKS = 100
const PAGE_KIB = 4

/** CPU seconds (user + system) consumed so far by `pid`, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name may contain spaces and parentheses; the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
}

/** Resident set size of `pid` in MiB, from /proc/<pid>/status (VmRSS). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const m = /VmRSS:\s+(\d+) kB/.exec(status)
  if (m) return Number(m[1]) / 1024
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')
  return (Number(statm[1]) * PAGE_KIB) / 1024
}

export interface ResourceUsage {
  /** Average CPU over the window, in percent of one core. */
  cpuPct: number
  rssMaxMiB: number
  rssEndMiB: number
}

/** Samples a process every 200 ms between start() and stop(); survives the process exiting. */
export class ProcSampler {
  private timer: NodeJS.Timeout | undefined
  private cpu0 = 0
  private t0 = 0
  private rssMax = 0
  private rssLast = 0
  private cpuLast = 0

  constructor(private readonly pid: number) {}

  start(): this {
    this.cpu0 = this.cpuLast = safe(() => cpuSeconds(this.pid), 0)
    this.t0 = performance.now()
    this.sample()
    this.timer = setInterval(() => this.sample(), 200)
    this.timer.unref()
    return this
  }

  stop(): ResourceUsage {
    clearInterval(this.timer)
    this.sample()
    const secs = (performance.now() - this.t0) / 1000
    return { cpuPct: secs > 0 ? ((this.cpuLast - this.cpu0) / secs) * 100 : 0, rssMaxMiB: this.rssMax, rssEndMiB: this.rssLast }
  }

  private sample(): void {
    this.cpuLast = safe(() => cpuSeconds(this.pid), this.cpuLast)
    this.rssLast = safe(() => rssMiB(this.pid), this.rssLast)
    if (this.rssLast > this.rssMax) this.rssMax = this.rssLast
  }
}

function safe<T>(f: () => T, fallback: T): T {
  try {
    return f()
  } catch {
    return fallback
  }
}

/** A free TCP port on 127.0.0.1, for services that cannot bind port 0 and report it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

/** Resolves once a TCP connection to 127.0.0.1:port succeeds, polling for up to `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 10000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await sleep(50)
  }
  throw new Error(`port ${port} did not open within ${timeoutMs} ms`)
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
