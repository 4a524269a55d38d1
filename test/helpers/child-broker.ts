// A broker in a child process (test/fixtures/broker-child.mjs running the built dist/), so a
// test can stop it with SIGTERM or kill it with SIGKILL and start it again on the same data.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from './run.js'
import { waitForLine } from './wait.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const fixture = path.join(root, 'test/fixtures/broker-child.mjs')
const builtEntry = path.join(root, 'dist/broker/index.js')
const SOURCE_DIRS = ['broker', 'storage', 'protocol']

function newestSourceMtime(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMtime(p))
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
  }
  return newest
}

/**
 * Makes sure dist/ holds the broker built from the current sources: `npm test` builds first,
 * but a single test file run directly would otherwise exercise stale output.
 */
export async function ensureBuilt(): Promise<void> {
  const newest = Math.max(...SOURCE_DIRS.map((d) => newestSourceMtime(path.join(root, d))))
  if (existsSync(builtEntry) && statSync(builtEntry).mtimeMs >= newest) return
  const tsc = path.join(root, 'node_modules/.bin/tsc')
  const r = await run(tsc, ['-p', path.join(root, 'tsconfig.build.json')], { timeoutMs: 180_000 })
  // Type errors still emit JavaScript; only a missing entry point makes the tests meaningless.
  if (!existsSync(builtEntry)) throw new Error(`build did not produce ${builtEntry}:\n${r.stdout}\n${r.stderr}`)
}

export interface ChildBroker {
  address: string
  /** The HTTP endpoint's base URL, when started with `http`. */
  httpUrl?: string
  proc: ChildProcess
  /** Everything the child printed so far, stdout and stderr interleaved. */
  output(): string
  /** SIGTERM, then waits for exit. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL, then waits for exit: no chance to flush or close anything. */
  kill(): Promise<void>
}

export interface ChildBrokerOptions {
  /** Soft limit on open files for the child (`ulimit -n` in a shell that then execs node). */
  maxOpenFiles?: number
  /** How long to wait for `listening on`; default 20 s. */
  startTimeoutMs?: number
  /** Serve the HTTP endpoint (/metrics) on a free port too. */
  http?: boolean
  /** With `http`: allow the console's actions (create topics, produce test records...). */
  httpActions?: boolean
}

export async function startChildBroker(dataDir: string, config: Record<string, string> = {}, opts: ChildBrokerOptions = {}): Promise<ChildBroker> {
  const args = [fixture, dataDir, ...Object.entries(config).map(([k, v]) => `${k}=${v}`)]
  const env = { ...process.env, SAMSA_PORT: '0', ...(opts.http === true ? { SAMSA_HTTP_PORT: '0' } : {}), ...(opts.httpActions === true ? { SAMSA_HTTP_ALLOW_ACTIONS: '1' } : {}) }
  const proc =
    opts.maxOpenFiles === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
      : spawn('sh', ['-c', `ulimit -n ${opts.maxOpenFiles} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let out = ''
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  )
  let address: string
  try {
    address = (await waitForLine(proc.stdout!, /^listening on (\S+)$/, opts.startTimeoutMs ?? 20_000))[1]!
  } catch (err) {
    proc.kill('SIGKILL')
    await exited
    throw new Error(`broker child did not start: ${(err as Error).message}\n${out}`)
  }
  const waitExit = async (timeoutMs: number) => {
    let t: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`broker child did not exit within ${timeoutMs} ms\n${out}`)), timeoutMs)
    })
    try {
      return await Promise.race([exited, timeout])
    } finally {
      clearTimeout(t)
    }
  }
  return {
    address,
    httpUrl: /^http on (\S+)$/m.exec(out)?.[1],
    proc,
    output: () => out,
    async stop(timeoutMs = 15_000) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
      try {
        return await waitExit(timeoutMs)
      } catch (err) {
        proc.kill('SIGKILL')
        throw err
      }
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      await waitExit(10_000)
    },
  }
}
