// The command tree. Global options live on the root; each command reads them with
// optsWithGlobals() so they may be given before or after the subcommand.
//
// Each command's module (with what it imports: the client library, the console, the broker's
// settings) is loaded only when the command line needs it. When argv names a command right after
// `samsa`, only that command is registered, so `samsa serve` does not load some seventy modules of
// the other commands before the broker's; anything else (help, a global option first, an unknown
// or misspelt command) registers them all, so help, suggestions and errors are as before.

import { Command, CommanderError, Option } from 'commander'
import type { GlobalOptions } from './lib/client.js'
import { describeError, ExitCode } from './lib/errors.js'
import { parseDuration } from './lib/time.js'
export const VERSION = '0.1.0'

type Register = (program: Command) => void

/** The commands in the order help lists them, each with how to load its module. */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ['serve', async () => (await import('./commands/serve.js')).registerServe],
  ['topics', async () => (await import('./commands/topics.js')).registerTopics],
  ['produce', async () => (await import('./commands/produce.js')).registerProduce],
  ['consume', async () => (await import('./commands/consume.js')).registerConsume],
  ['groups', async () => (await import('./commands/groups.js')).registerGroups],
  ['configs', async () => (await import('./commands/configs.js')).registerConfigs],
  ['transactions', async () => (await import('./commands/transactions.js')).registerTransactions],
  ['producers', async () => (await import('./commands/producers.js')).registerProducers],
  ['acls', async () => (await import('./commands/acls.js')).registerAcls],
  ['users', async () => (await import('./commands/users.js')).registerUsers],
  ['top', async () => (await import('./commands/top.js')).registerTop],
  ['console', async () => (await import('./commands/console.js')).registerConsole],
  ['cluster', async () => (await import('./commands/cluster.js')).registerCluster],
  ['reassign', async () => (await import('./commands/reassign.js')).registerReassign],
  ['dev-cluster', async () => (await import('./commands/dev-cluster.js')).registerDevCluster],
]

/** The command tree for argv: only the command argv names after `samsa`, or all of them. */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const named = COMMANDS.filter(([name]) => name === argv[2])
  const registers = await Promise.all((named.length === 1 ? named : COMMANDS).map(([, load]) => load()))
  const program = new Command('samsa')
    .description('Samsa: a Kafka-compatible event log. Run a broker, or manage any Kafka-compatible cluster.')
    .version(VERSION, '-V, --version')
    .addOption(
      new Option('-b, --bootstrap-server <host:port,...>', 'broker(s) to connect to')
        .env('SAMSA_BOOTSTRAP')
        .default('localhost:9092'),
    )
    .option('--client-id <id>', 'client id sent to the broker', 'samsa-cli')
    .addOption(
      new Option('--timeout <duration>', 'request and connection timeout (ms, or 30s, 1m)')
        .argParser(parseDuration)
        .default(30_000, '30s'),
    )
    .addOption(new Option('--command-config <file>', 'Kafka client properties: security.protocol, sasl.*, ssl.*').env('SAMSA_COMMAND_CONFIG'))
    .option('--json', 'machine-readable output: one JSON document per line', false)
    .option('-v, --verbose', 'show client logs and stack traces on errors', false)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ samsa serve --data-dir ./data --port 9092
  $ samsa topics create orders --partitions 3
  $ seq 1 100 | samsa produce orders
  $ samsa consume orders --from-beginning --exit-at-end
  $ samsa transactions list --state Ongoing
  $ SAMSA_BOOTSTRAP=broker:9092 samsa groups list --json`,
    )
  for (const register of registers) register(program)
  applyExitOverride(program)
  return program
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride()
  for (const sub of cmd.commands) applyExitOverride(sub)
}

/** Parses argv and runs the command; resolves to the process exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv)
  try {
    await program.parseAsync([...argv])
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.Ok
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage
    }
    const opts = program.opts() as Partial<GlobalOptions>
    const { message, exitCode } = describeError(err, opts.bootstrapServer)
    process.stderr.write(`samsa: ${message}\n`)
    if (opts.verbose === true && err instanceof Error && err.stack !== undefined) process.stderr.write(err.stack + '\n')
    return exitCode
  }
}
