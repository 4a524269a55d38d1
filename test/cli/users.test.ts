// `samsa users` offline (into a data directory before the broker starts) and online (through
// DescribeUserScramCredentials / AlterUserScramCredentials over SASL_SSL with --command-config),
// and other commands connecting with --command-config; the error codes of the two APIs.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { ApiKey } from '../../protocol/generated/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import type { AlterUserScramCredentialsResponse } from '../../protocol/generated/alter-user-scram-credentials.js'
import type { DescribeUserScramCredentialsResponse } from '../../protocol/generated/describe-user-scram-credentials.js'
import { makePki, sslConfig, type TestPki } from '../helpers/certs.js'
import { kafkaClient } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { WireClient } from '../helpers/wire.js'
import { ensureBuilt, jsonLines, samsa } from './harness.js'

let dir: string
let dataDir: string
let pki: TestPki
let broker: RunningBroker | undefined
const port = (name: string) => broker!.listeners.find((l) => l.name === name)!.port

beforeAll(async () => {
  ensureBuilt()
  dir = await makeTempDir('samsa-users-')
  dataDir = path.join(dir, 'data')
  pki = makePki(dir)
})

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

function commandConfig(name: string, lines: string[]): string {
  const file = path.join(dir, name)
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

/** Can `user` log in with kafkajs over SASL_SSL? */
async function canLogin(mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', username: string, password: string): Promise<boolean> {
  const admin = kafkaClient(`localhost:${port('SASL_SSL')}`, { ssl: { ca: readFileSync(pki.caFile, 'utf8'), servername: 'localhost' }, sasl: { mechanism, username, password } as never, retry: { retries: 0 } }).admin()
  try {
    await admin.connect()
    return true
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

describe('samsa users', () => {
  it('adds the first user offline, before the broker starts', async () => {
    const add = await samsa(['users', 'add', 'admin', '--password', 'admin-secret', '--data-dir', dataDir])
    expect(add.code, add.stderr).toBe(0)
    const list = await samsa(['users', 'list', '--data-dir', dataDir, '--json'])
    expect(jsonLines(list.stdout)).toEqual([
      { user: 'admin', credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }, { mechanism: 'SCRAM-SHA-512', iterations: 4096 }] },
    ])
    // The password is nowhere in the data directory.
    const stored = readFileSync(path.join(dataDir, 'metadata', 'data.mdb'))
    expect(stored.includes(Buffer.from('admin-secret'))).toBe(false)
    broker = await startBroker({
      dataDir,
      logLevel: 'silent',
      config: { listeners: 'SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0', 'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', ...sslConfig(pki) },
    })
    expect(await canLogin('scram-sha-512', 'admin', 'admin-secret')).toBe(true)
    expect(await canLogin('plain', 'admin', 'admin-secret')).toBe(true)
  }, 60_000)

  it('refuses to write offline into the data directory of a running broker', async () => {
    const r = await samsa(['users', 'add', 'x', '--password', 'y', '--data-dir', dataDir])
    expect(r.code).toBe(75)
    expect(r.stderr).toMatch(/in use by process/)
  })

  it('adds, lists and removes users online over SASL_SSL with --command-config', async () => {
    const cfg = commandConfig('admin.properties', [
      'security.protocol=SASL_SSL',
      'sasl.mechanism=SCRAM-SHA-256',
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";',
      `ssl.ca.location=${pki.caFile}`,
    ])
    const bootstrap = ['-b', `localhost:${port('SASL_SSL')}`, '--command-config', cfg]
    const add = await samsa([...bootstrap, 'users', 'add', 'bob', '--password', 'bob-secret', '--mechanism', 'SCRAM-SHA-512', '--iterations', '8192'])
    expect(add.code, add.stderr).toBe(0)
    expect(await canLogin('scram-sha-512', 'bob', 'bob-secret')).toBe(true)
    expect(await canLogin('scram-sha-256', 'bob', 'bob-secret')).toBe(false)
    const list = await samsa([...bootstrap, 'users', 'list', '--json'])
    expect(list.code, list.stderr).toBe(0)
    expect(jsonLines(list.stdout)).toContainEqual({ user: 'bob', credentials: [{ mechanism: 'SCRAM-SHA-512', iterations: 8192 }] })
    const table = await samsa([...bootstrap, 'users', 'list'])
    expect(table.stdout).toMatch(/bob\s+SCRAM-SHA-512\s+8192/)
    const remove = await samsa([...bootstrap, 'users', 'remove', 'bob'])
    expect(remove.code, remove.stderr).toBe(0)
    expect(await canLogin('scram-sha-512', 'bob', 'bob-secret')).toBe(false)
    const again = await samsa([...bootstrap, 'users', 'remove', 'bob'])
    expect(again.code).toBe(1)
  }, 60_000)

  it('connects every command with --command-config, and fails cleanly with a wrong password', async () => {
    const plain = commandConfig('plain.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=admin', 'sasl.password=admin-secret'])
    const b = ['-b', `127.0.0.1:${port('SASL_PLAINTEXT')}`, '--command-config', plain]
    expect((await samsa([...b, 'topics', 'create', 'secured', '--partitions', '1'])).code).toBe(0)
    const produced = await samsa([...b, 'produce', 'secured'], { input: 'one\ntwo\n' })
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await samsa([...b, 'consume', 'secured', '--from-beginning', '--exit-at-end'])
    expect(consumed.stdout.split('\n').filter(Boolean)).toEqual(['one', 'two'])
    const grouped = await samsa([...b, 'consume', 'secured', '--group', 'cli-g', '--from-beginning', '--exit-at-end'], { timeoutMs: 40_000 })
    expect(grouped.stdout.split('\n').filter(Boolean)).toEqual(['one', 'two'])
    const wrong = commandConfig('wrong.properties', ['security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=PLAIN', 'sasl.username=admin', 'sasl.password=nope'])
    const refused = await samsa(['-b', `127.0.0.1:${port('SASL_PLAINTEXT')}`, '--command-config', wrong, '--timeout', '5s', 'topics', 'list'])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/SASL authentication .*failed/)
    const tls = commandConfig('tls.properties', ['security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', 'sasl.username=admin', 'sasl.password=admin-secret', `ssl.truststore.location=${pki.caFile}`])
    const listed = await samsa(['-b', `localhost:${port('SASL_SSL')}`, '--command-config', tls, 'topics', 'list'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout).toContain('secured')
  }, 90_000)
})

describe('DescribeUserScramCredentials and AlterUserScramCredentials', () => {
  it('answer Kafka error codes for bad requests and change nothing for a refused user', async () => {
    const c = await WireClient.connect(`127.0.0.1:${port('SASL_PLAINTEXT')}`)
    // Authenticate with PLAIN over the wire first.
    const { saslClient } = await import('../../broker/client/sasl.js')
    await c.request(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })
    const auth = await c.request<{ errorCode: number }>(ApiKey.SaslAuthenticate, 2, { authBytes: saslClient({ mechanism: 'PLAIN', username: 'admin', password: 'admin-secret' }).start() })
    expect(auth.body.errorCode).toBe(0)
    const salt = Buffer.alloc(16, 1)
    const salted = Buffer.alloc(32, 2)
    const alter = await c.request<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [{ name: 'ghost', mechanism: 1 }],
      upsertions: [
        { name: 'low', mechanism: 1, iterations: 100, salt, saltedPassword: salted },
        { name: 'weird', mechanism: 9, iterations: 4096, salt, saltedPassword: salted },
        { name: 'twice', mechanism: 2, iterations: 4096, salt, saltedPassword: salted },
        { name: 'twice', mechanism: 2, iterations: 4096, salt, saltedPassword: salted },
        { name: 'fine', mechanism: 2, iterations: 4096, salt, saltedPassword: salted },
      ],
    })
    const codes = Object.fromEntries(alter.body.results.map((r) => [r.user, r.errorCode]))
    expect(codes).toEqual({
      ghost: ErrorCode.RESOURCE_NOT_FOUND,
      low: ErrorCode.UNACCEPTABLE_CREDENTIAL,
      weird: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      twice: ErrorCode.DUPLICATE_RESOURCE,
      fine: ErrorCode.NONE,
    })
    const described = await c.request<DescribeUserScramCredentialsResponse>(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'fine' }, { name: 'twice' }, { name: 'nobody' }, { name: 'nobody' }] })
    expect(described.body.results.map((r) => [r.user, r.errorCode, r.credentialInfos])).toEqual([
      ['fine', ErrorCode.NONE, [{ mechanism: 2, iterations: 4096 }]],
      ['twice', ErrorCode.RESOURCE_NOT_FOUND, []],
      ['nobody', ErrorCode.DUPLICATE_RESOURCE, []],
    ])
    c.close()
  })
})
