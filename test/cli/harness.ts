// Runs the compiled CLI as a child process, the way users run it.

import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ITopicConfig, Kafka, Producer, ProducerConfig } from 'kafkajs'
import { afterAll, beforeAll } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { kafkaClient } from '../helpers/broker.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const CLI_MAIN = path.join(ROOT, 'dist/cli/main.js')

/** `npm test` builds first; a bare `vitest run` on a fresh checkout builds here. */
export function ensureBuilt(): void {
  if (existsSync(CLI_MAIN)) return
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' })
}

export interface RunResult {
  code: number | null
  stdout: string
  stdoutBytes: Buffer
  stderr: string
}

export interface RunOptions {
  input?: string | Buffer
  env?: Record<string, string>
  timeoutMs?: number
}

export function samsa(args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env }
    if (opts.env?.SAMSA_BOOTSTRAP === undefined) delete env.SAMSA_BOOTSTRAP
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`samsa ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 30_000} ms; stderr: ${Buffer.concat(err).toString()}`))
    }, opts.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const stdoutBytes = Buffer.concat(out)
      resolve({ code, stdout: stdoutBytes.toString(), stdoutBytes, stderr: Buffer.concat(err).toString() })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

/** A port nothing listens on: bind an ephemeral one and release it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((r) => server.close(() => r()))
  return port
}

export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T)
}

/** Broker settings for tests: no initial rebalance delay so consumers join at once. */
export const TEST_BROKER_CONFIG = { 'group.initial.rebalance.delay.ms': '0' }

export interface BrokerWithTopics {
  /** `--bootstrap-server <address>` of the broker. */
  b: string[]
  kafka: Kafka
  /** A connected kafkajs producer, disconnected after the file's tests. */
  producer(config: ProducerConfig): Promise<Producer>
}

/**
 * An in-process broker for one test file, with `topics` created through kafkajs; its fields are
 * set once the file's beforeAll has run, and everything stops after its tests.
 */
export function useBrokerWithTopics(topics: ITopicConfig[]): BrokerWithTopics {
  let broker: RunningBroker | undefined
  const producers: Producer[] = []
  const env: BrokerWithTopics = {
    b: [],
    kafka: undefined as unknown as Kafka,
    async producer(config) {
      const p = env.kafka.producer(config)
      await p.connect()
      producers.push(p)
      return p
    },
  }
  beforeAll(async () => {
    ensureBuilt()
    broker = await startBroker({ port: 0, config: TEST_BROKER_CONFIG })
    env.b = ['--bootstrap-server', broker.address]
    env.kafka = kafkaClient(broker.address)
    const admin = env.kafka.admin()
    await admin.connect()
    await admin.createTopics({ topics })
    await admin.disconnect()
  })
  afterAll(async () => {
    for (const p of producers) await p.disconnect().catch(() => {})
    await broker?.stop()
  })
  return env
}
