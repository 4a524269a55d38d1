// `samsa dev-cluster`: etcd and N brokers on this machine, in one command, for trying cluster mode
// and for developing against it. etcd runs as a child process; the brokers run in this process,
// each with its own data directory under --data-dir and node ids 1..N. Ctrl-C stops the brokers
// (controlled shutdown) and then etcd.
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { Command, Option } from 'commander'
import { pino } from 'pino'
import { CliError, ExitCode, usageError } from '../lib/errors.js'
import { startEtcd } from '../lib/etcd-process.js'
import { collectPairs } from '../lib/config-pairs.js'

interface DevClusterFlags {
  brokers: string
  port: string
  host: string
  dataDir: string
  etcd: string
  etcdPort: string
  set: [string, string][]
  logLevel: string
}

function count(text: string, what: string, min: number): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > 65535) throw usageError(`${what} must be an integer of at least ${min}, got '${text}'`)
  return n
}

export function registerDevCluster(program: Command): void {
  program
    .command('dev-cluster')
    .description('run etcd and several brokers in cluster mode on this machine (for development)')
    .addOption(new Option('--brokers <n>', 'how many brokers').default('3'))
    .addOption(new Option('-p, --port <port>', 'first broker port; the others follow (0: free ports)').default('9092'))
    .addOption(new Option('--host <host>', 'interface for the brokers and etcd').default('127.0.0.1'))
    .addOption(new Option('-d, --data-dir <dir>', 'etcd and every broker keep their data under it').default('./samsa-dev-cluster'))
    .addOption(new Option('--etcd <path>', 'the etcd binary (Debian: apt-get install etcd-server)').default('/usr/bin/etcd').env('SAMSA_ETCD'))
    .addOption(new Option('--etcd-port <port>', "etcd's client port (0: a free one)").default('0'))
    .addOption(new Option('--set <key=value>', 'broker key for every broker, repeatable').argParser(collectPairs).default([]))
    .addOption(new Option('--log-level <level>', 'broker log level').default('warn'))
    .addHelpText(
      'after',
      `
Prints "etcd on URL", then "listening on HOST:PORT" for each broker and a "bootstrap" line once
all serve. Data survives a restart with the same --data-dir.

Examples:
  $ samsa dev-cluster
  $ samsa dev-cluster --brokers 5 --port 19092 --set default.replication.factor=3
  $ samsa dev-cluster --port 0 -d "$(mktemp -d)"`,
    )
    .action(async (flags: DevClusterFlags) => {
      const brokers = count(flags.brokers, '--brokers', 1)
      const firstPort = count(flags.port, '--port', 0)
      const etcdPort = count(flags.etcdPort, '--etcd-port', 0)
      if (!existsSync(flags.etcd)) throw new CliError(`no etcd at ${flags.etcd} (apt-get install etcd-server, or --etcd PATH)`, ExitCode.Unavailable)
      const dataDir = path.resolve(flags.dataDir)
      await mkdir(dataDir, { recursive: true })
      const etcd = await startEtcd({ binary: flags.etcd, dataDir, clientPort: etcdPort, host: flags.host })
      process.stdout.write(`etcd on ${etcd.endpoint}\n`)
      const { startBroker } = await import('../../broker/index.js')
      const logger = pino({ level: flags.logLevel, base: undefined }, pino.destination({ dest: 2, sync: true }))
      const running: Array<{ stop(): Promise<void> }> = []
      const stopAll = async (): Promise<void> => {
        await Promise.allSettled(running.map((b) => b.stop()))
        await etcd.stop()
      }
      const addresses: string[] = []
      try {
        for (let id = 1; id <= brokers; id++) {
          const b = await startBroker({
            dataDir: path.join(dataDir, `node-${id}`),
            host: flags.host,
            port: firstPort === 0 ? 0 : firstPort + id - 1,
            nodeId: id,
            logger: logger.child({ node: id }),
            config: { ...internalTopicDefaults(brokers), ...Object.fromEntries(flags.set), 'cluster.etcd.endpoints': etcd.endpoint, 'cluster.etcd.prefix': '/samsa', 'node.id': String(id) },
          })
          running.push(b)
          addresses.push(b.address)
          process.stdout.write(`listening on ${b.address}\n`)
        }
      } catch (err) {
        await stopAll()
        throw err
      }
      process.stdout.write(`bootstrap ${addresses.join(',')}\n`)
      await new Promise<void>((resolve) => {
        let signalled = false
        const onSignal = (): void => {
          if (signalled) process.exit(ExitCode.Failure)
          signalled = true
          stopAll().then(resolve, (err: unknown) => {
            logger.error({ err }, 'stopping the cluster failed')
            process.exitCode = ExitCode.Failure
            resolve()
          })
        }
        process.on('SIGTERM', onSignal)
        process.on('SIGINT', onSignal)
      })
    })
}

/** A cluster of fewer than 3 brokers could never create __consumer_offsets with Kafka's default replication factor of 3. */
function internalTopicDefaults(brokers: number): Record<string, string> {
  const rf = String(Math.min(3, brokers))
  const minIsr = String(Math.min(2, brokers))
  return {
    'offsets.topic.replication.factor': rf,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': minIsr,
  }
}
