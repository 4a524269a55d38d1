// `npm run chaos -- --minutes N [--seed S] [--keep]`: the fault-injection suite (test/chaos/) with
// N minutes of faults (default 1). --seed replays a run's choices of faults; --keep leaves the
// data directories of etcd and the brokers for inspection (they are always kept on an anomaly), and the whole history is written out.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const args = process.argv.slice(2)
const env = { ...process.env, SAMSA_CHAOS_MINUTES: '1' }
for (let i = 0; i < args.length; i++) {
  const a = args[i]
  if (a === '--minutes') env.SAMSA_CHAOS_MINUTES = args[++i]
  else if (a === '--seed') env.SAMSA_CHAOS_SEED = args[++i]
  else if (a === '--keep') env.SAMSA_CHAOS_KEEP = '1'
  else {
    console.error(`usage: npm run chaos -- [--minutes N] [--seed S] [--keep]  (unknown: ${a})`)
    process.exit(2)
  }
}
if (!(Number(env.SAMSA_CHAOS_MINUTES) > 0)) {
  console.error(`--minutes must be a positive number, not ${env.SAMSA_CHAOS_MINUTES}`)
  process.exit(2)
}
const vitest = path.join(root, 'node_modules/.bin/vitest')
const child = spawn(vitest, ['run', 'test/chaos/chaos.test.ts', '--disableConsoleIntercept'], { cwd: root, env, stdio: 'inherit' })
child.on('exit', (code, signal) => process.exit(code ?? (signal === null ? 1 : 128)))
