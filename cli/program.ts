// The command tree. Global options live on the root; each command reads them with
// optsWithGlobals() so they may be given before or after the subcommand.

import { Command, CommanderError, Option } from 'commander'
import type { GlobalOptions } from './lib/client.js'
import { describeError, ExitCode } from './lib/errors.js'
import { parseDuration } from './lib/time.js'
import { registerTopics } from './commands/topics.js'
import { registerProduce } from './commands/produce.js'
import { registerConsume } from './commands/consume.js'
import { registerGroups } from './commands/groups.js'
import { registerConfigs } from './commands/configs.js'
import { registerServe } from './commands/serve.js'
import { registerTransactions } from './commands/transactions.js'
import { registerProducers } from './commands/producers.js'
import { registerAcls } from './commands/acls.js'
import { registerUsers } from './commands/users.js'
import { registerTop } from './commands/top.js'
import { registerConsole } from './commands/console.js'
import { registerCluster } from './commands/cluster.js'
import { registerDevCluster } from './commands/dev-cluster.js'
import { registerReassign } from './commands/reassign.js'

export const VERSION = '0.1.0'

export function buildProgram(): Command {
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
  registerServe(program)
  registerTopics(program)
  registerProduce(program)
  registerConsume(program)
  registerGroups(program)
  registerConfigs(program)
  registerTransactions(program)
  registerProducers(program)
  registerAcls(program)
  registerUsers(program)
  registerTop(program)
  registerConsole(program)
  registerCluster(program)
  registerReassign(program)
  registerDevCluster(program)
  applyExitOverride(program)
  return program
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride()
  for (const sub of cmd.commands) applyExitOverride(sub)
}

/** Parses argv and runs the command; resolves to the process exit code. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram()
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
