// The node flags `samsa serve` runs with: the list, its override, that `npm start` passes it, that
// the broker says when it runs without it, and the in-place re-exec where Node offers execve.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { reexecForServe, serveNodeFlags, SERVE_NODE_FLAGS } from '../../cli/node-flags.js'
import { CLI_MAIN, ensureBuilt } from './harness.js'

beforeAll(() => ensureBuilt())

const ROOT = path.resolve(import.meta.dirname, '../..')

/** Starts serve with `nodeFlags`, waits for its address line, stops it, and returns its stderr. */
async function serveStderr(nodeFlags: string[], env: Record<string, string> = {}): Promise<string> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'samsa-flags-'))
  const child = spawn(process.execPath, [...nodeFlags, CLI_MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], { env: { ...process.env, ...env } })
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes('\n')) resolve()
    })
    child.on('close', (code) => reject(new Error(`serve exited with ${code}: ${err}`)))
  })
  const exited = new Promise((r) => child.on('exit', r))
  child.kill('SIGTERM')
  await exited
  return err
}

describe('serve node flags', () => {
  it('defaults to single-threaded GC and honours SAMSA_NODE_FLAGS', () => {
    expect(SERVE_NODE_FLAGS).toContain('--single-threaded-gc')
    expect(serveNodeFlags({})).toEqual([...SERVE_NODE_FLAGS])
    expect(serveNodeFlags({ SAMSA_NODE_FLAGS: ' --max-semi-space-size=32   --single-threaded-gc ' })).toEqual(['--max-semi-space-size=32', '--single-threaded-gc'])
    expect(serveNodeFlags({ SAMSA_NODE_FLAGS: '' })).toEqual([])
  })

  it('is what npm start runs the broker with', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
    const start = pkg.scripts.start!.split(/\s+/)
    expect(start[0]).toBe('node')
    for (const flag of SERVE_NODE_FLAGS) expect(start.indexOf(flag)).toBeGreaterThan(0)
    expect(start.indexOf('dist/cli/main.js')).toBeGreaterThan(Math.max(...SERVE_NODE_FLAGS.map((f) => start.indexOf(f))))
  })

  it('says so in its log when node runs without the flags, and not when it has them', async () => {
    // Where Node can execve, the broker re-executes itself with the flags instead of warning.
    const canExec = typeof (process as unknown as { execve?: unknown }).execve === 'function'
    const without = await serveStderr([])
    if (canExec) expect(without).not.toContain('runs without')
    else expect(without).toContain('node runs without --single-threaded-gc')
    const withFlags = await serveStderr([...SERVE_NODE_FLAGS])
    expect(withFlags).not.toContain('runs without')
  }, 20_000)
})

describe('reexecForServe', () => {
  const proc = process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }
  const original = proc.execve
  afterEach(() => {
    proc.execve = original
    delete process.env.SAMSA_REEXEC
  })

  it('replaces the process with one that has the flags, only for serve and only once', () => {
    const calls: Array<{ file: string; args: string[]; env: NodeJS.ProcessEnv }> = []
    proc.execve = ((file: string, args: string[], env: NodeJS.ProcessEnv) => {
      calls.push({ file, args, env })
      throw new Error('exec')
    }) as never
    expect(() => reexecForServe(['node', '/x/main.js', 'serve', '--port', '0'])).toThrow('exec')
    expect(calls).toHaveLength(1)
    expect(calls[0]!.file).toBe(process.execPath)
    expect(calls[0]!.args).toEqual([process.execPath, ...process.execArgv, ...SERVE_NODE_FLAGS.filter((f) => !process.execArgv.includes(f)), '/x/main.js', 'serve', '--port', '0'])
    expect(calls[0]!.env.SAMSA_REEXEC).toBe('1')

    reexecForServe(['node', '/x/main.js', 'topics', 'list'])
    process.env.SAMSA_REEXEC = '1'
    reexecForServe(['node', '/x/main.js', 'serve'])
    expect(calls).toHaveLength(1)
  })
})
