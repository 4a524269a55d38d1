import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import kafkajs from 'kafkajs'
import { beforeAll, describe, expect, it } from 'vitest'
import { CLI_MAIN, ensureBuilt, samsa } from './harness.js'

beforeAll(() => ensureBuilt())

function serve(args: string[], env: Record<string, string> = {}): { child: ChildProcessWithoutNullStreams; firstLine: Promise<string>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', ...args], { env: { ...process.env, ...env } })
  let err = ''
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  const firstLine = new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const nl = out.indexOf('\n')
      if (nl !== -1) resolve(out.slice(0, nl))
    })
    child.on('close', (code) => reject(new Error(`serve exited with ${code}: ${err}`)))
  })
  return { child, firstLine, stderr: () => err }
}

describe('samsa serve', () => {
  it('serves /healthz and /metrics on --http-port and prints its URL', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'samsa-serve-'))
    const { child, firstLine } = serve(['--port', '0', '--http-port', '0', '--data-dir', dataDir])
    // Listening from the spawn on: the URL line may come in the same chunk as the first line.
    const urlLine = new Promise<string>((resolve) => {
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
        const m = /^http on (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)
        if (m !== null) resolve(m[1]!)
      })
    })
    expect(await firstLine).toMatch(/^listening on 127\.0\.0\.1:\d+$/)
    const url = await urlLine
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('kafka_server_kafkaserver_brokerstate 3')
    child.kill('SIGTERM')
    expect(await new Promise((r) => child.on('close', r))).toBe(0)
  })

  it('prints its address, serves clients, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'samsa-serve-'))
    const { child, firstLine } = serve(['--port', '0', '--data-dir', dataDir], { SAMSA_NUM_PARTITIONS: '3' })
    const line = await firstLine
    expect(line).toMatch(/^listening on 127\.0\.0\.1:\d+$/)
    const address = line.slice('listening on '.length)

    const admin = new kafkajs.Kafka({ brokers: [address], logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    await admin.createTopics({ topics: [{ topic: 'from-env' }] })
    const meta = await admin.fetchTopicMetadata({ topics: ['from-env'] })
    expect(meta.topics[0].partitions).toHaveLength(3)
    await admin.disconnect()

    let stdoutAfter = ''
    child.stdout.on('data', (c: Buffer) => (stdoutAfter += c.toString()))
    const exited = new Promise<number | null>((r) => child.on('exit', r))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(stdoutAfter).toBe('')
  })

  it('reads broker keys from a --config file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-serve-'))
    const file = path.join(dir, 'server.properties')
    writeFileSync(file, `# a Kafka-style file\nlog.dirs=${path.join(dir, 'data')}\nnum.partitions=2\n`)
    const { child, firstLine } = serve(['--port', '0', '--config', file, '--log-level', 'warn'])
    const address = (await firstLine).slice('listening on '.length)
    const created = await samsa(['-b', address, '--json', 'topics', 'create', 'from-file'])
    expect(JSON.parse(created.stdout)).toMatchObject({ partitions: 2 })
    const exited = new Promise<number | null>((r) => child.on('exit', r))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  })

  it('exits 75 with one line when the port is taken', async () => {
    const holder = net.createServer()
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r))
    const { port } = holder.address() as net.AddressInfo
    try {
      const r = await samsa(['serve', '--port', String(port), '--data-dir', mkdtempSync(path.join(os.tmpdir(), 'samsa-serve-'))])
      expect(r.code).toBe(75)
      expect(r.stdout).toBe('')
      // Broker log lines (JSON, on stderr) may precede the error; the error is the last line.
      expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`samsa: cannot listen on 127.0.0.1:${port}: address already in use`)
    } finally {
      holder.close()
    }
  })

  it('exits 73 with one line when the data dir cannot be created', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-serve-'))
    const blocker = path.join(dir, 'a-file')
    writeFileSync(blocker, 'not a directory')
    const r = await samsa(['serve', '--port', '0', '--data-dir', path.join(blocker, 'data')])
    expect(r.code).toBe(73)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(`samsa: data directory '${path.join(blocker, 'data')}' is not writable (EDATADIR)`)
  })

  it('exits 78 when the config file is missing', async () => {
    const r = await samsa(['serve', '--port', '0', '--config', '/nonexistent/server.properties'])
    expect(r.code).toBe(78)
    expect(r.stderr).toBe("samsa: cannot read config file '/nonexistent/server.properties': ENOENT\n")
  })

  it('prints every listener of --set listeners, each serving clients', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'samsa-serve-'))
    const { child } = serve(['--data-dir', dataDir, '--set', 'listeners=PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0', '--set', 'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT'])
    const lines = await new Promise<string[]>((resolve) => {
      let out = ''
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString()
        const got = out.split('\n').filter(Boolean)
        if (got.length >= 2) resolve(got)
      })
    })
    expect(lines[0]).toMatch(/^listening on 127\.0\.0\.1:\d+$/)
    expect(lines[1]).toMatch(/^listening on INTERNAL:\/\/127\.0\.0\.1:\d+$/)
    const admin = new kafkajs.Kafka({ brokers: [lines[1]!.slice('listening on INTERNAL://'.length)], logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    expect((await admin.describeCluster()).brokers[0]!.port).toBe(Number(lines[1]!.split(':').at(-1)))
    await admin.disconnect()
    child.kill('SIGTERM')
    await new Promise((r) => child.on('close', r))
  })

  it('exits 78 with one line for a TLS listener without a keystore', async () => {
    const r = await samsa(['serve', '--data-dir', mkdtempSync(path.join(os.tmpdir(), 'samsa-serve-')), '--set', 'listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0'])
    expect(r.code).toBe(78)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('samsa: listener SSL: SSL needs ssl.keystore.location (a PEM file with the key and certificate chain)')
  })
})
