import fs from 'node:fs'
import path from 'node:path'
import { Command, Option } from 'commander'
import { collectPairs } from '../lib/config-pairs.js'
import { serveNodeFlags } from '../node-flags.js'
import { CliError, ExitCode } from '../lib/errors.js'
import { formatAddress, resolveServeSettings, type ServeFlags } from '../lib/serve-config.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run a Samsa broker')
    .addOption(new Option('-d, --data-dir <dir>', 'where topic data lives (default: ./samsa-data)').env('SAMSA_DATA_DIR'))
    .addOption(new Option('--host <host>', 'interface to bind (default: 127.0.0.1; 0.0.0.0 for all)').env('SAMSA_HOST'))
    .addOption(new Option('-p, --port <port>', 'TCP port (default: 9092; 0 picks a free one)').env('SAMSA_PORT'))
    .addOption(new Option('--advertised-host <host>', 'host name clients are told to connect to').env('SAMSA_ADVERTISED_HOST'))
    .addOption(new Option('--advertised-port <port>', 'port clients are told to connect to').env('SAMSA_ADVERTISED_PORT'))
    .addOption(new Option('--node-id <id>', 'broker node id (default: 1)').env('SAMSA_NODE_ID'))
    .addOption(new Option('--cluster <etcd-url>', 'join a cluster kept in etcd: etcd://host:2379[,host:2379]/prefix (with --node-id; default: a single broker)').env('SAMSA_CLUSTER'))
    .addOption(new Option('-c, --config <file>', 'server.properties-style file of broker keys').env('SAMSA_CONFIG'))
    .addOption(new Option('--set <key=value>', 'broker key, repeatable (overrides --config)').argParser(collectPairs).default([]))
    .addOption(new Option('--http-port <port>', 'serve /metrics, /healthz, /readyz and the web console on this port (default: off; 0 picks a free one)').env('SAMSA_HTTP_PORT'))
    .addOption(new Option('--http-host <host>', 'interface for the HTTP port (default: --host)').env('SAMSA_HTTP_HOST'))
    .addOption(new Option('--http-tls', 'HTTPS on the HTTP port, with ssl.keystore.location (or listener.name.http.ssl.*)').env('SAMSA_HTTP_TLS'))
    .addOption(new Option('--http-allow-actions', 'let the console create and delete topics (default: read-only)').env('SAMSA_HTTP_ALLOW_ACTIONS'))
    .addOption(new Option('--http-client-telemetry-interval <ms>', 'how often clients push their metrics to /metrics (KIP-714; default 60000)').env('SAMSA_HTTP_CLIENT_TELEMETRY_INTERVAL'))
    .addOption(new Option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace, silent').env('SAMSA_LOG_LEVEL'))
    .addHelpText(
      'after',
      `
Any broker key may also come from the environment as SAMSA_<KEY>, upper case with dots as
underscores: SAMSA_NUM_PARTITIONS=3 sets num.partitions. Precedence: flags, SAMSA_* variables,
--config file, defaults. Logs go to stderr; stdout gets one line, "listening on HOST:PORT",
once the broker accepts connections (and "http on URL" with --http-port). With a SASL listener
the HTTP port asks for basic credentials of a SCRAM user (samsa users add). SIGTERM or Ctrl-C shuts down cleanly (exit 0).

Exit codes: 64 bad arguments, 73 data directory not writable, 75 port already in use,
78 unreadable or invalid --config file, or (--cluster) a data directory of another cluster,
1 anything else.

Examples:
  $ samsa serve
  $ samsa serve --data-dir /var/lib/samsa --host 0.0.0.0 --advertised-host kafka.internal
  $ samsa serve --port 0 --data-dir "$(mktemp -d)"
  $ samsa serve --config server.properties --set log.retention.ms=3600000
  $ samsa serve --http-port 9308          # then open http://127.0.0.1:9308/
  $ SAMSA_PORT=19092 SAMSA_NUM_PARTITIONS=6 samsa serve
  $ samsa serve --cluster etcd://127.0.0.1:2379/samsa --node-id 1 --port 9092 -d node1`,
    )
    .action(async (flags: ServeFlags & { config?: string }) => {
      let fileConfig: Record<string, string> = {}
      const { loadServerProperties, startBroker } = await import('../../broker/index.js')
      if (flags.config !== undefined) {
        let text: string
        try {
          text = fs.readFileSync(flags.config, 'utf8')
        } catch (err) {
          throw new CliError(`cannot read config file '${flags.config}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ExitCode.Config)
        }
        fileConfig = loadServerProperties(text)
      }
      const settings = resolveServeSettings(flags, fileConfig, process.env)
      if (!LOG_LEVELS.includes(settings.logLevel)) throw new CliError(`unknown log level '${settings.logLevel}' (${LOG_LEVELS.join(', ')})`, ExitCode.Usage)
      // Loaded here, with the broker, so that other commands do not pay for it at start-up.
      const { pino } = await import('pino')
      const logger = pino({ level: settings.logLevel, base: undefined }, pino.destination({ dest: 2, sync: true }))

      let broker
      try {
        broker = await startBroker({
          dataDir: path.resolve(settings.dataDir),
          host: settings.host,
          port: settings.port,
          advertisedHost: settings.advertisedHost,
          advertisedPort: settings.advertisedPort,
          nodeId: settings.nodeId,
          config: settings.config,
          logLevel: settings.logLevel,
          logger,
          http: settings.http,
        })
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { address?: string; port?: number }
        // Listen errors name the address that failed: a listener's or the HTTP port's.
        const failed = formatAddress(e.address ?? settings.host, e.port ?? settings.port)
        if (e.code === 'ECONFIG' || e.code === 'ECLUSTERID') throw new CliError(e.message, ExitCode.Config)
        if (e.code === 'EADDRINUSE') throw new CliError(`cannot listen on ${failed}: address already in use`, ExitCode.TempFail)
        if (e.code === 'EADDRNOTAVAIL') throw new CliError(`cannot listen on ${failed}: address not available on this machine`, ExitCode.TempFail)
        if (e.code === 'EACCES' && /listen/.test(e.syscall ?? '')) throw new CliError(`cannot listen on port ${settings.port}: permission denied`, ExitCode.TempFail)
        if (e.code === 'EDATADIR' || e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'ENOTDIR' || e.code === 'EEXIST') {
          throw new CliError(`data directory '${path.resolve(settings.dataDir)}' is not writable (${e.code})`, ExitCode.CantCreate)
        }
        throw err
      }
      const running = broker
      const missingFlags = serveNodeFlags().filter((f) => !process.execArgv.includes(f))
      if (missingFlags.length > 0) {
        logger.info({ missing: missingFlags }, `node runs without ${missingFlags.join(' ')}; start it with them (as npm start does) for steadier latency on small machines`)
      }
      process.stdout.write(`listening on ${formatAddress(running.host, running.port)}\n`)
      for (const l of running.listeners.slice(1)) process.stdout.write(`listening on ${l.name}://${formatAddress(l.host, l.port)}\n`)
      if (running.http !== undefined) process.stdout.write(`http on ${running.http.url}\n`)

      await new Promise<void>((resolve) => {
        let signalled = false
        const onSignal = (signal: NodeJS.Signals) => {
          if (signalled) {
            // A second Ctrl-C means "now": skip the orderly shutdown.
            process.exit(ExitCode.Failure)
          }
          signalled = true
          logger.info({ signal }, 'shutting down')
          running.stop().then(resolve, (err: unknown) => {
            logger.error({ err }, 'shutdown failed')
            process.exitCode = ExitCode.Failure
            resolve()
          })
        }
        process.on('SIGTERM', onSignal)
        process.on('SIGINT', onSignal)
      })
    })
}
