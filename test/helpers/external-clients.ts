// Finds the non-Node Kafka clients the integration tests drive (kcat, kafka-python,
// confluent-kafka). Locally a missing client skips its tests with the reason in the suite name;
// under CI (CI=true) it must be installed, so the suite runs and fails instead of passing silently.
import { spawnSync } from 'node:child_process'

export const isCI = process.env.CI === 'true' || process.env.CI === '1'

/** The interpreter the Debian packages python3-kafka and python3-confluent-kafka install into. */
export const PYTHON = process.env.SAMSA_TEST_PYTHON ?? '/usr/bin/python3'

export interface ClientProbe {
  ok: boolean
  /** Why the client is unusable; empty when ok. */
  reason: string
  /** True when the tests should be skipped rather than run (never under CI). */
  skip: boolean
}

function probe(cmd: string, args: string[], what: string): ClientProbe {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000 })
  const ok = r.status === 0
  const reason = ok ? '' : `${what} not available (${r.error?.message ?? (r.stderr || '').trim().split('\n').pop()})`
  return { ok, reason, skip: !ok && !isCI }
}

export function probeKcat(): ClientProbe {
  return probe('kcat', ['-V'], 'kcat')
}

export function probePythonModule(module: string): ClientProbe {
  return probe(PYTHON, ['-c', `import ${module}`], `${PYTHON} module ${module}`)
}

/** Suite title suffix stating why it is skipped, or nothing when it runs. */
export function skipNote(p: ClientProbe): string {
  return p.skip ? ` [skipped: ${p.reason}; install with apt-get install kcat python3-kafka python3-confluent-kafka]` : ''
}

/** Throws under CI when the client is missing, so a misconfigured runner cannot pass. */
export function assertAvailable(p: ClientProbe): void {
  if (!p.ok) throw new Error(`${p.reason}; CI must install it (see .ci/run)`)
}
