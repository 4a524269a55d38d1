// V8 flags `samsa serve` runs with. The broker is one event loop over a small heap (tens of MB), so
// V8's parallel and concurrent GC helper threads buy little pause time, and on small machines they
// take CPU from the event loop and from the kernel's network and disk work exactly when the broker is
// busy: on a 2-core host, single-threaded GC cut the produce p99 at 50k records/s from about 7.5 ms
// to 4 ms (bench/README.md). Heap flags must be given when node starts, so `npm start` passes them,
// and the `samsa` command re-executes itself in place with them where Node can (process.execve,
// Node 22.15+); SAMSA_NODE_FLAGS overrides the list ('' for none).

export const SERVE_NODE_FLAGS: readonly string[] = ['--single-threaded-gc']

/** The flags to run `serve` with: SAMSA_NODE_FLAGS when set, else SERVE_NODE_FLAGS. */
export function serveNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.SAMSA_NODE_FLAGS
  if (override !== undefined) return override.split(/\s+/).filter(Boolean)
  return [...SERVE_NODE_FLAGS]
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never

/**
 * For `serve`: when this node lacks the serve flags and can replace itself (same pid, so signals,
 * supervisors and kill -9 behave as for any process), does so and never returns. Otherwise returns
 * and the broker runs with the flags it has.
 */
export function reexecForServe(argv: readonly string[]): void {
  if (argv[2] !== 'serve') return
  const missing = serveNodeFlags().filter((f) => !process.execArgv.includes(f))
  const execve = (process as unknown as { execve?: Execve }).execve
  if (missing.length === 0 || typeof execve !== 'function') return
  // The marker stops a loop should the flags not show up in execArgv after the exec.
  if (process.env.SAMSA_REEXEC === '1') return
  execve(process.execPath, [process.execPath, ...process.execArgv, ...missing, ...argv.slice(1)], { ...process.env, SAMSA_REEXEC: '1' })
}
