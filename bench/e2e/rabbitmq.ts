// RabbitMQ as the work-queue peer of share groups: a node of Debian's rabbitmq-server started here
// in the foreground as a throwaway node (its own node name, AMQP port, distribution port, mnesia
// and log directories under the run's work directory, no plugins, HOME there too so the node and
// rabbitmqctl share a fresh Erlang cookie), bound to 127.0.0.1, and stopped at the end. Driven
// with amqplib: a durable queue, persistent messages with publisher confirms (a confirm for a
// persistent message on a classic queue means written and fsynced), manual acks with a prefetch.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { stamp, type RateTarget } from './fixed-rate.js'
import { freePort, runCommand, startService, stopService, type Service } from './procs.js'

const BIN = '/usr/lib/rabbitmq/bin'

/** The part of amqplib (a devDependency) the share section uses. */
export interface AmqpMessage {
  content: Buffer
}
export interface AmqpChannel {
  assertQueue(queue: string, options: { durable: boolean }): Promise<unknown>
  purgeQueue(queue: string): Promise<unknown>
  prefetch(count: number): Promise<unknown>
  consume(queue: string, onMessage: (msg: AmqpMessage | null) => void, options: { noAck: boolean }): Promise<unknown>
  ack(msg: AmqpMessage): void
  sendToQueue(queue: string, content: Buffer, options: { persistent: boolean }, confirmed?: (err: unknown) => void): boolean
  waitForConfirms(): Promise<void>
}
export interface AmqpConnection {
  createChannel(): Promise<AmqpChannel>
  createConfirmChannel(): Promise<AmqpChannel>
  close(): Promise<void>
}

/** amqplib, loaded when the section runs, so the rest of the bench works without it. */
export async function amqpConnect(url: string): Promise<AmqpConnection> {
  const name = 'amqplib'
  const mod = (await import(name)) as { connect?: (url: string) => Promise<AmqpConnection>; default?: { connect(url: string): Promise<AmqpConnection> } }
  const connect = mod.connect ?? mod.default?.connect
  if (connect === undefined) throw new Error('amqplib has no connect()')
  return connect(url)
}

/** Why the RabbitMQ runs cannot happen here, or null. */

export interface RabbitServer {
  service: Service
  /** The Erlang VM's pid (the service's child is the start script). */
  pid: number
  port: number
  url: string
  stop(): Promise<void>
}

export async function rabbitAvailable(): Promise<string | null> {
  if (!existsSync(`${BIN}/rabbitmq-server`)) return 'rabbitmq-server not installed (apt-get install -y rabbitmq-server)'
  const name = 'amqplib'
  return import(name).then(() => null, () => 'amqplib not installed (npm ci installs it: a devDependency)')
}

export async function startRabbit(dir: string): Promise<RabbitServer> {
  const port = await freePort()
  const distPort = await freePort()
  const node = `samsa-bench-${port}@localhost`
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n')
  const pidFile = path.join(dir, 'rabbit.pid')
  const env = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_BASE: dir,
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: pidFile,
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  }
  const service = await startService(`${BIN}/rabbitmq-server`, [], /Starting broker\.\.\. completed/, { cwd: dir, env, timeoutMs: 120_000 })
  const ctl = (args: string[], timeoutMs: number) => runCommand('/usr/bin/env', [...Object.entries(env).filter(([k]) => k === 'HOME' || k.startsWith('RABBITMQ_') || k.startsWith('ERL_')).map(([k, v]) => `${k}=${v}`), `${BIN}/rabbitmqctl`, '-n', node, ...args], timeoutMs)
  const ready = await ctl(['await_startup'], 60_000)
  if (ready.code !== 0) {
    await stopService(service.child)
    throw new Error(`rabbitmqctl await_startup failed: ${(ready.stdout + ready.stderr).slice(-300)}`)
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim()) || service.pid
  return {
    service, pid, port, url: `amqp://guest:guest@127.0.0.1:${port}`,
    async stop() {
      await ctl(['stop'], 30_000).catch(() => undefined)
      await stopService(service.child)
    },
  }
}

/** Declares (empty) a durable classic queue. */
export async function declareQueue(url: string, queue: string): Promise<void> {
  const conn = await amqpConnect(url)
  const ch = await conn.createChannel()
  await ch.assertQueue(queue, { durable: true })
  await ch.purgeQueue(queue)
  await conn.close()
}

/** Publishes `count` persistent messages of `recordBytes`, at most `window` unconfirmed at a time. */
export async function fillQueue(url: string, queue: string, count: number, recordBytes: number, window = 2000): Promise<{ records: number; seconds: number }> {
  const conn = await amqpConnect(url)
  const ch = await conn.createConfirmChannel()
  const value = Buffer.alloc(recordBytes, 97)
  const started = performance.now()
  let sent = 0
  while (sent < count) {
    const n = Math.min(window, count - sent)
    for (let i = 0; i < n; i++) ch.sendToQueue(queue, value, { persistent: true })
    await ch.waitForConfirms()
    sent += n
  }
  const seconds = (performance.now() - started) / 1000
  await conn.close()
  return { records: sent, seconds }
}

/** A fixed-rate publishing target for fixed-rate.ts: persistent messages, each awaited on its confirm. */
export async function rabbitRateTarget(url: string, queue: string, recordBytes: number): Promise<RateTarget> {
  const conn = await amqpConnect(url)
  const ch = await conn.createConfirmChannel()
  return {
    publish(due) {
      const confirms: Array<Promise<void>> = []
      for (let i = 0; i < due.length; i++) {
        const value = Buffer.allocUnsafe(recordBytes).fill(97, 8)
        stamp(value, due[i]!)
        confirms.push(new Promise((resolve, reject) => ch.sendToQueue(queue, value, { persistent: true }, (err) => (err ? reject(err instanceof Error ? err : new Error('nacked')) : resolve()))))
      }
      return Promise.all(confirms).then(() => undefined)
    },
    subscribe() {
      return Promise.reject(new Error('consumers run in share-worker.ts'))
    },
    async close() {
      await conn.close().catch(() => undefined)
    },
  }
}
