// `samsa console`: the broker's web console served by the CLI in front of any Kafka cluster,
// through the admin client (and a reader and producer for records). Prints "console on URL" once
// it listens, and runs until interrupted.
import type { Command } from 'commander'
import { AdminClient } from '../../broker/client/admin-client.js'
import { AdminConsoleSource } from '../../broker/http/console-admin.js'
import { ConsoleServer } from '../../broker/http/console-server.js'
import { clientOptions, globalOptions, withDeadline } from '../lib/client.js'
import { usageError } from '../lib/errors.js'
import { info } from '../lib/output.js'

interface ConsoleOptions {
  port: string
  host: string
  allowActions: boolean
}

export function registerConsole(program: Command): void {
  program
    .command('console')
    .description('serve the web console for any Kafka cluster, through its admin API')
    .option('--port <port>', 'HTTP port (0 picks a free one)', '8080')
    .option('--host <host>', 'interface to bind (the console logs nobody in: keep it local unless you put it behind one)', '127.0.0.1')
    .option('--allow-actions', 'let the console create and delete topics, alter configs and produce test records', false)
    .addHelpText('after', '\nExamples:\n  $ samsa console --bootstrap-server broker:9092 --port 8080\n  $ samsa console -b broker:9093 --command-config client.properties --allow-actions')
    .action(async (opts: ConsoleOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      const port = Number(opts.port)
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be 0..65535, got '${opts.port}'`)
      const clientOpts = clientOptions(g)
      const admin = new AdminClient(clientOpts)
      await withDeadline(admin.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
      const sasl = clientOpts.security?.sasl
      const principal = sasl !== undefined && 'username' in sasl ? `User:${sasl.username}` : 'User:ANONYMOUS'
      const server = new ConsoleServer(new AdminConsoleSource(admin, clientOpts), {
        host: opts.host,
        port,
        allowActions: opts.allowActions,
        principal,
        onError: (err) => info(`console: ${(err as Error).message}`),
      })
      await server.listen()
      process.stdout.write(`console on ${server.url}\n`)
      await new Promise<void>((resolve) => {
        const stop = () => resolve()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
      await server.close()
      await admin.close().catch(() => {})
    })
}
