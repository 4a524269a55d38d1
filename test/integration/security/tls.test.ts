// SSL listeners over real TLS sockets: kafkajs, confluent-kafka and kcat with client
// certificates (mTLS), refusal of clients without one, the certificate subject as principal
// through ssl.principal.mapping.rules, TLS versions, a keystore reloaded without restart, and
// hostile openings (garbage instead of a handshake, plaintext Kafka to the TLS port).
import { readFileSync } from 'node:fs'
import net from 'node:net'
import tls from 'node:tls'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { distinguishedName } from '../../../broker/security/tls.js'
import { parsePrincipalMappingRules } from '../../../broker/security/principal-mapping.js'
import { ApiKey } from '../../../protocol/generated/index.js'
import type { ApiVersionsResponse } from '../../../protocol/generated/api-versions.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { WireClient, createTopics } from '../../helpers/wire.js'
import { PYTHON, probeKcat, probePythonModule } from '../../helpers/external-clients.js'
import { run } from '../../helpers/run.js'
import { waitFor } from '../../helpers/wait.js'

let dir: string
let pki: TestPki
let alice: { certFile: string; keyFile: string }
let broker: RunningBroker
const port = (name: string) => broker.listeners.find((l) => l.name === name)!.port

beforeAll(async () => {
  dir = await makeTempDir('samsa-tls-')
  pki = makePki(dir)
  alice = pki.clientCert('alice', '/C=US/O=Acme, Inc./OU=eng/CN=alice')
  broker = await startBroker({
    logLevel: 'silent',
    config: {
      listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,MTLS://127.0.0.1:0,TLS12://127.0.0.1:0,MAPPED://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,TLS12:SSL,MAPPED:SSL',
      ...sslConfig(pki),
      'ssl.reload.check.interval.ms': '100',
      'group.initial.rebalance.delay.ms': '0',
      'listener.name.mtls.ssl.client.auth': 'required',
      'listener.name.tls12.ssl.enabled.protocols': 'TLSv1.2',
      'listener.name.mapped.ssl.client.auth': 'required',
      'listener.name.mapped.ssl.principal.mapping.rules': 'RULE:^CN=([a-z]+),OU=ops,.*$/$1/U',
    },
  })
})

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

const ca = () => readFileSync(pki.caFile, 'utf8')
const clientTls = () => ({ ca: ca(), cert: readFileSync(alice.certFile, 'utf8'), key: readFileSync(alice.keyFile, 'utf8'), servername: 'localhost' })

async function roundTrip(address: string, ssl: tls.ConnectionOptions, topic: string): Promise<string[]> {
  const kafka = kafkaClient(address, { ssl, retry: { retries: 0 } })
  const admin = kafka.admin()
  const producer = kafka.producer()
  const consumer = kafka.consumer({ groupId: `g-${topic}` })
  try {
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) })
    await waitFor(() => seen.length >= 2, { timeoutMs: 20_000 })
    return seen
  } finally {
    await consumer.disconnect().catch(() => {})
    await producer.disconnect().catch(() => {})
    await admin.disconnect().catch(() => {})
  }
}

describe('TLS listeners', () => {
  it('kafkajs produces and consumes over SSL', async () => {
    expect(await roundTrip(`localhost:${port('SSL')}`, { ca: ca(), servername: 'localhost' }, 'tls-plain')).toEqual(['a', 'b'])
  }, 40_000)

  it('kafkajs produces and consumes with a client certificate (mTLS)', async () => {
    expect(await roundTrip(`localhost:${port('MTLS')}`, clientTls(), 'tls-mutual')).toEqual(['a', 'b'])
  }, 40_000)

  it('refuses a client without a certificate when ssl.client.auth=required', async () => {
    // TLS 1.3 clients finish their side of the handshake before the server checks their
    // certificate; the refusal then arrives as an alert and a close, never as a response.
    const c = await WireClient.connectTls(`127.0.0.1:${port('MTLS')}`, { ca: ca(), servername: 'localhost' }).catch(() => undefined)
    if (c !== undefined) {
      await c.write(c.frame(ApiKey.ApiVersions, 0, () => {})).catch(() => {})
      expect(await c.readFrame(5000)).toBeNull()
    }
    const withCert = await WireClient.connectTls(`127.0.0.1:${port('MTLS')}`, clientTls())
    const { body } = await withCert.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
    expect(body.errorCode).toBe(0)
    withCert.close()
  })

  it('takes the principal from the certificate subject in RFC 2253 form, through the mapping rules', () => {
    const dn = distinguishedName(new X509Certificate(readFileSync(alice.certFile)))
    expect(dn).toBe('CN=alice,OU=eng,O=Acme\\, Inc.,C=US')
    expect(parsePrincipalMappingRules('DEFAULT')(dn)).toBe(dn)
    const rules = parsePrincipalMappingRules('RULE:^CN=([a-z]+),OU=ops,.*$/$1/U, RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L, DEFAULT')
    expect(rules(dn)).toBe('alice@eng')
    expect(rules('CN=bob,OU=ops,O=x')).toBe('BOB')
    expect(parsePrincipalMappingRules('RULE:^CN=x$/y/')(dn)).toBeUndefined()
  })

  it('closes an SSL connection whose certificate no mapping rule covers', async () => {
    const c = await WireClient.connectTls(`127.0.0.1:${port('MAPPED')}`, clientTls())
    expect(await c.closedWithin(5000)).toBe(true)
    // The same certificate is served on a listener with the DEFAULT rule.
    const ok = await WireClient.connectTls(`127.0.0.1:${port('MTLS')}`, clientTls())
    const { body } = await ok.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
    expect(body.errorCode).toBe(0)
    ok.close()
  })

  it('authorizes requests as the certificate subject when ACLs are on', async () => {
    const bob = pki.clientCert('bob', '/O=Acme/CN=bob')
    const acl = await startBroker({
      logLevel: 'silent',
      config: {
        listeners: 'SSL://127.0.0.1:0',
        ...sslConfig(pki),
        'ssl.client.auth': 'required',
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:CN=alice,OU=eng,O=Acme\\, Inc.,C=US',
      },
    })
    try {
      const asAlice = await WireClient.connectTls(acl.address, clientTls())
      expect((await createTopics(asAlice, [{ name: 'by-alice', partitions: 1 }])).has('by-alice')).toBe(true)
      const asBob = await WireClient.connectTls(acl.address, { ...clientTls(), cert: readFileSync(bob.certFile, 'utf8'), key: readFileSync(bob.keyFile, 'utf8') })
      await expect(createTopics(asBob, [{ name: 'by-bob', partitions: 1 }])).rejects.toThrow(/by-bob error 29/)
      asAlice.close()
      asBob.close()
    } finally {
      await acl.stop()
    }
  })

  it('honours ssl.enabled.protocols', async () => {
    const version = (port: number, opts: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port, ca: ca(), servername: 'localhost', ...opts }, () => {
          resolve(s.getProtocol() ?? '')
          s.destroy()
        })
        s.on('error', (err) => resolve(`error: ${err.message}`))
      })
    expect(await version(port('SSL'), {})).toBe('TLSv1.3')
    expect(await version(port('TLS12'), {})).toBe('TLSv1.2')
    expect(await version(port('TLS12'), { minVersion: 'TLSv1.3' })).toMatch(/^error/)
    expect(await version(port('SSL'), { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).toMatch(/^error/)
  })

  it('serves new handshakes with a reissued keystore without a restart', async () => {
    const serial = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: port('SSL'), ca: ca(), servername: 'localhost' }, () => {
          resolve(String(Number.parseInt(s.getPeerCertificate().serialNumber, 16)))
          s.destroy()
        })
        s.on('error', reject)
      })
    const before = await serial()
    const open = await WireClient.connectTls(`127.0.0.1:${port('SSL')}`, { ca: ca(), servername: 'localhost' })
    const issued = pki.reissueBroker()
    expect(issued).not.toBe(before)
    await waitFor(async () => (await serial()) === issued, { timeoutMs: 10_000 })
    // A connection made before the reload keeps working.
    const { body } = await open.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
    expect(body.errorCode).toBe(0)
    open.close()
  })

  it('closes garbage handshakes and plaintext Kafka on the TLS port, and keeps serving others', async () => {
    const rawClose = (bytes: Buffer) =>
      new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: port('SSL') }, () => s.write(bytes))
        const timer = setTimeout(() => resolve(false), 5000)
        s.on('data', () => {})
        s.on('error', () => {})
        s.on('close', () => {
          clearTimeout(timer)
          resolve(true)
        })
      })
    const plain = await WireClient.connect(`127.0.0.1:${port('PLAINTEXT')}`)
    const frame = plain.frame(ApiKey.ApiVersions, 0, () => {})
    const results = await Promise.all([
      rawClose(Buffer.alloc(4096, 0x5a)),
      rawClose(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x7f, 0xff]), Buffer.alloc(2000, 0xee)])),
      rawClose(frame),
    ])
    expect(results).toEqual([true, true, true])
    const { body } = await plain.request<ApiVersionsResponse>(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })
    expect(body.errorCode).toBe(0)
    plain.close()
    expect(await roundTrip(`localhost:${port('SSL')}`, { ca: ca(), servername: 'localhost' }, 'tls-after-garbage')).toEqual(['a', 'b'])
  }, 40_000)
})

const confluent = probePythonModule('confluent_kafka')
describe.skipIf(confluent.skip)('TLS with librdkafka', () => {
  it('confluent-kafka produces and consumes with a client certificate', async () => {
    const conf = {
      'bootstrap.servers': `localhost:${port('MTLS')}`,
      'security.protocol': 'SSL',
      'ssl.ca.location': pki.caFile,
      'ssl.certificate.location': alice.certFile,
      'ssl.key.location': alice.keyFile,
    }
    const r = await run(PYTHON, ['test/integration/python/secure-roundtrip.py', 'confluent-kafka', 'tls-confluent', JSON.stringify(conf)], { timeoutMs: 60_000 })
    expect(JSON.parse(r.stdout), r.stderr).toEqual({ values: ['one', 'two', 'three'] })
  }, 70_000)

  it.skipIf(probeKcat().skip)('kcat lists metadata with a client certificate and fails without one', async () => {
    const base = ['-b', `localhost:${port('MTLS')}`, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${pki.caFile}`, '-L']
    const ok = await run('kcat', [...base, '-m', '10', '-X', `ssl.certificate.location=${alice.certFile}`, '-X', `ssl.key.location=${alice.keyFile}`])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toContain(`broker 1 at 127.0.0.1:${port('MTLS')}`)
    // The broker's TLS alert reaches kcat at once; kcat then waits out its metadata timeout, so a
    // short one does, and the alert in its log says why it failed.
    const refused = await run('kcat', [...base, '-m', '3'], { timeoutMs: 30_000 })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/certificate required/)
  }, 60_000)
})
