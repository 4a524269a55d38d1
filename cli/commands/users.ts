// `samsa users list|add|remove`: SCRAM credentials. Online (the default) through
// DescribeUserScramCredentials / AlterUserScramCredentials on --bootstrap-server; offline with
// --data-dir, written straight into a data directory no broker is running on, so the first
// users exist before the broker is reachable. Passwords are stored salted and hashed, never as
// given; PLAIN logins check against the same credentials.

import type { Command } from 'commander'
import type { UserScramCredentials } from '../../broker/client/admin-client.js'
import type { ScramCredentialStore } from '../../broker/security/scram-credentials.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { CliError, ExitCode, usageError } from '../lib/errors.js'
import { writeOut } from '../lib/output.js'
import { formatTable, jsonLine } from '../lib/table.js'

const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
type Mechanism = (typeof MECHANISMS)[number]

interface UserOptions {
  dataDir?: string
  password?: string
  mechanism: string[]
  iterations?: string
}

function mechanisms(opts: UserOptions): Mechanism[] {
  const list = opts.mechanism.length === 0 ? [...MECHANISMS] : opts.mechanism.map((m) => m.toUpperCase())
  for (const m of list) if (!(MECHANISMS as readonly string[]).includes(m)) throw usageError(`--mechanism must be ${MECHANISMS.join(' or ')}, got '${m}'`)
  return list as Mechanism[]
}

function iterations(opts: UserOptions): number | undefined {
  if (opts.iterations === undefined) return undefined
  const n = Number(opts.iterations)
  if (!Number.isInteger(n) || n < 4096 || n > 16384) throw usageError(`--iterations must be an integer from 4096 to 16384, got '${opts.iterations}'`)
  return n
}

/** Runs `fn` on the offline credential store of --data-dir; refuses while a broker holds it. */
async function offline<T>(dataDir: string, fn: (store: ScramCredentialStore) => Promise<T>): Promise<T> {
  const { withOfflineCredentials } = await import('../../broker/security/offline-credentials.js')
  try {
    return await withOfflineCredentials(dataDir, fn)
  } catch (err) {
    if ((err as Error).name === 'DataDirLockedError') {
      throw new CliError(`${(err as Error).message}; stop the broker or leave out --data-dir to go through it`, ExitCode.TempFail)
    }
    if ((err as Error).name === 'ClusterDataDirError') {
      throw new CliError(`${(err as Error).message}; leave out --data-dir and go through any broker of the cluster`, ExitCode.Usage)
    }
    throw err
  }
}

async function print(cmd: Command, users: UserScramCredentials[]): Promise<void> {
  if (globalOptions(cmd).json) {
    for (const u of users) await writeOut(jsonLine(u))
    return
  }
  const rows = users.flatMap((u) => u.credentials.map((c) => [u.user, c.mechanism, c.iterations]))
  await writeOut(formatTable(['USER', 'MECHANISM', 'ITERATIONS'], rows, [undefined, undefined, 'right']))
}

export function registerUsers(program: Command): void {
  const users = program
    .command('users')
    .description('SASL/SCRAM users: list, add (or change a password), remove')
    .addHelpText(
      'after',
      `
Without --data-dir the command goes through the broker (--bootstrap-server, --command-config);
with it, it writes into that data directory while no broker runs on it.

Examples:
  $ samsa users add alice --password s3cret --data-dir /var/lib/samsa
  $ samsa users add bob --password pw --mechanism SCRAM-SHA-512 --command-config admin.properties
  $ samsa users list
  $ samsa users remove bob`,
    )
  const dataDir = (c: Command) => c.option('--data-dir <dir>', "write into this data directory instead of through a broker (the broker must not be running)")

  dataDir(users.command('list').description('users with SCRAM credentials, their mechanisms and iteration counts')).action(async (opts: UserOptions, cmd: Command) => {
    if (opts.dataDir !== undefined) {
      await print(cmd, await offline(opts.dataDir, async (store) => store.users()))
      return
    }
    await print(cmd, await withAdmin(globalOptions(cmd), (admin) => admin.describeUserScramCredentials()))
  })

  dataDir(
    users
      .command('add')
      .description('adds a user, or sets a new password for one')
      .argument('<name>', 'user name (the principal is User:<name>)')
      .requiredOption('--password <password>', 'the password (stored salted and hashed)')
      .option('--mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default both)', (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option('--iterations <n>', 'PBKDF2 iterations, 4096-16384 (default 4096)'),
  ).action(async (name: string, opts: UserOptions, cmd: Command) => {
    if (name === '') throw usageError('the user name must not be empty')
    const list = mechanisms(opts)
    const n = iterations(opts)
    const password = opts.password!
    if (opts.dataDir !== undefined) {
      const { makeCredential } = await import('../../broker/security/scram-credentials.js')
      await offline(opts.dataDir, async (store) => {
        const upsertions = []
        for (const mechanism of list) upsertions.push({ user: name, mechanism, credential: await makeCredential(mechanism, password, n) })
        await store.alter({ upsertions })
      })
    } else {
      await withAdmin(globalOptions(cmd), (admin) => admin.alterUserScramCredentials({ upsertions: list.map((mechanism) => ({ user: name, mechanism, password, iterations: n })) }))
    }
    if (!globalOptions(cmd).json) process.stderr.write(`user '${name}' has ${list.join(' and ')} credentials\n`)
  })

  dataDir(
    users
      .command('remove')
      .description("removes a user's SCRAM credentials (all mechanisms unless --mechanism)")
      .argument('<name>', 'user name')
      .option('--mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[]),
  ).action(async (name: string, opts: UserOptions, cmd: Command) => {
    const wanted = mechanisms(opts)
    if (opts.dataDir !== undefined) {
      const removed = await offline(opts.dataDir, async (store) => {
        const have = store.users().find((u) => u.user === name)?.credentials.map((c) => c.mechanism) ?? []
        const deletions = wanted.filter((m) => have.includes(m)).map((mechanism) => ({ user: name, mechanism }))
        if (deletions.length > 0) await store.alter({ deletions })
        return deletions.length
      })
      if (removed === 0) throw new CliError(`user '${name}' has no ${wanted.join(' or ')} credentials`)
    } else {
      await withAdmin(globalOptions(cmd), async (admin) => {
        const have = (await admin.describeUserScramCredentials()).find((u) => u.user === name)?.credentials.map((c) => c.mechanism) ?? []
        const deletions = wanted.filter((m) => have.includes(m)).map((mechanism) => ({ user: name, mechanism }))
        if (deletions.length === 0) throw new CliError(`user '${name}' has no ${wanted.join(' or ')} credentials`)
        await admin.alterUserScramCredentials({ deletions })
      })
    }
    if (!globalOptions(cmd).json) process.stderr.write(`removed user '${name}'\n`)
  })
}
