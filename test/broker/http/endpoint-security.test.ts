// The HTTP endpoint under the broker's security settings: HTTPS with the listeners' keystore,
// basic credentials checked against the SCRAM users when a listener uses SASL (wrong ones
// refused and counted), probes open to all, and console reads and actions held to the ACLs.
import https from 'node:https'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { withOfflineCredentials } from '../../../broker/security/offline-credentials.js'
import { makeCredential } from '../../../broker/security/scram-credentials.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { kafkaClient } from '../../helpers/broker.js'
import { makeTempDir, removeDir } from '../../helpers/temp-dir.js'
import { parsePrometheusText, series } from '../../helpers/prometheus-text.js'

let dir: string
let pki: TestPki
let broker: RunningBroker

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

function request(path: string, opts: { user?: string; password?: string; method?: string; json?: unknown; cert?: { certFile: string; keyFile: string } } = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (opts.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`
  if (opts.json !== undefined) headers['content-type'] = 'application/json'
  return new Promise((resolve, reject) => {
    const tlsOpts = opts.cert === undefined ? {} : { cert: readFileSync(opts.cert.certFile), key: readFileSync(opts.cert.keyFile) }
    const req = https.request(`${broker.http!.url}${path}`, { method: opts.method ?? 'GET', headers, ca: readFileSync(pki.caFile), ...tlsOpts }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(opts.json === undefined ? undefined : JSON.stringify(opts.json))
  })
}

const admin = { user: 'admin', password: 'admin-secret' }
const alice = { user: 'alice', password: 'alice-secret' }

beforeAll(async () => {
  dir = await makeTempDir('samsa-http-sec-')
  pki = makePki(dir)
  await withOfflineCredentials(`${dir}/data`, async (store) => {
    await store.alter({
      upsertions: [
        { user: 'alice', mechanism: 'SCRAM-SHA-256', credential: await makeCredential('SCRAM-SHA-256', 'alice-secret') },
        { user: 'admin', mechanism: 'SCRAM-SHA-512', credential: await makeCredential('SCRAM-SHA-512', 'admin-secret') },
      ],
    })
  })
  broker = await startBroker({
    dataDir: `${dir}/data`,
    logLevel: 'silent',
    http: { port: 0, host: '127.0.0.1', tls: true, allowActions: true },
    config: {
      listeners: 'SASL_PLAINTEXT://127.0.0.1:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      'super.users': 'User:admin',
      'connection.failed.authentication.delay.ms': '10',
      // The HTTP port asks for a client certificate; one that maps to a principal logs in.
      'listener.name.http.ssl.client.auth': 'requested',
      ...sslConfig(pki),
    },
  })
}, 60_000)

afterAll(async () => {
  await broker?.stop()
  await removeDir(dir)
})

describe('HTTP endpoint security', () => {
  it('speaks HTTPS with the keystore and leaves the probes open', async () => {
    expect(broker.http!.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect((await request('/healthz')).status).toBe(200)
    expect((await request('/readyz')).status).toBe(200)
    // Plain HTTP on the TLS port gets no answer.
    await expect(fetch(broker.http!.url.replace('https:', 'http:') + '/healthz')).rejects.toThrow()
  })

  it('asks for credentials, refuses wrong ones, counts the failures, and takes a SCRAM user', async () => {
    const none = await request('/metrics')
    expect(none.status).toBe(401)
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm="samsa"/)
    expect((await request('/metrics', { user: 'alice', password: 'wrong' })).status).toBe(401)
    expect((await request('/metrics', { user: 'mallory', password: 'alice-secret' })).status).toBe(401)
    expect((await request('/', { user: 'alice', password: 'nope' })).status).toBe(401)
    const ok = await request('/metrics', alice)
    expect(ok.status).toBe(200)
    const s = parsePrometheusText(ok.body)
    expect(s.get(series('kafka_server_socket_server_metrics_failed_authentication_total', { listener: 'HTTP' }))).toBe(3)
    expect((await request('/', alice)).body).toContain('<title>Samsa</title>')
  })

  it('takes a client certificate as the login, its subject mapped to the principal', async () => {
    const cert = pki.clientCert('http-admin', '/CN=admin/O=Samsa')
    const topics = await request('/api/topics', { cert })
    expect(topics.status).toBe(200)
    const cluster = JSON.parse((await request('/api/cluster', { cert })).body) as { principal: string }
    // RFC 2253 order, last RDN first, as Kafka's X500Principal.getName() gives it.
    expect(cluster.principal).toBe('User:O=Samsa,CN=admin')
  })

  it('counts SASL logins on the Kafka listener', async () => {
    const kafka = kafkaClient(broker.address, { sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'wrong' }, retry: { retries: 0 } })
    const a = kafka.admin()
    await expect(a.connect()).rejects.toThrow()
    const s = parsePrometheusText((await request('/metrics', admin)).body)
    expect(s.get(series('kafka_server_socket_server_metrics_failed_authentication_total', { listener: 'SASL_PLAINTEXT' }))).toBe(1)
  })

  it('holds console reads and actions to the ACLs', async () => {
    expect((await request('/api/topics', { ...alice, method: 'POST', json: { name: 'by-alice' } })).status).toBe(403)
    const created = await request('/api/topics', { ...admin, method: 'POST', json: { name: 'by-admin', partitions: 3 } })
    expect(created.status).toBe(200)
    expect(JSON.parse(created.body)).toMatchObject({ name: 'by-admin', partitions: 3 })
    // The topic is real: a Kafka client sees it.
    const kafka = kafkaClient(broker.address, { sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'admin-secret' } })
    const a = kafka.admin()
    await a.connect()
    expect(await a.listTopics()).toContain('by-admin')
    await a.disconnect()
    // alice may describe no topic: she sees none, and reading one is not found.
    expect(JSON.parse((await request('/api/topics', alice)).body)).toEqual([])
    expect((await request('/api/topics/by-admin', alice)).status).toBe(404)
    expect(JSON.parse((await request('/api/topics', admin)).body).map((t: { name: string }) => t.name)).toContain('by-admin')
    expect((await request('/api/topics/by-admin', { ...alice, method: 'DELETE' })).status).toBe(403)
    expect((await request('/api/topics/by-admin', { ...admin, method: 'DELETE' })).status).toBe(200)
    expect(JSON.parse((await request('/api/topics', admin)).body)).toEqual([])
  })

  it('takes actions only as JSON', async () => {
    const form = await new Promise<number>((resolve, reject) => {
      const req = https.request(`${broker.http!.url}/api/topics`, {
        method: 'POST',
        ca: readFileSync(pki.caFile),
        headers: { authorization: `Basic ${Buffer.from('admin:admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      req.end('name=from-a-form')
    })
    expect(form).toBe(415)
  })

  it('holds config edits, test records, ACL and user lists to credentials and ACLs', async () => {
    const created = await request('/api/topics', { ...admin, method: 'POST', json: { name: 'guarded', partitions: 1 } })
    expect(created.status).toBe(200)
    // No credentials: 401 before anything is looked at.
    expect((await request('/api/topics/guarded/configs', { method: 'POST', json: { set: { 'retention.ms': '1000' } } })).status).toBe(401)
    expect((await request('/api/topics/guarded/messages', { method: 'POST', json: { value: 'x' } })).status).toBe(401)
    expect((await request('/api/acls')).status).toBe(401)
    // alice has no ACLs: the topic is not found for her, the lists need DESCRIBE on the cluster.
    expect((await request('/api/topics/guarded/configs', { ...alice, method: 'POST', json: { set: { 'retention.ms': '1000' } } })).status).toBe(404)
    expect((await request('/api/topics/guarded/messages', { ...alice, method: 'POST', json: { value: 'x' } })).status).toBe(404)
    expect((await request('/api/acls', alice)).status).toBe(403)
    expect((await request('/api/users', alice)).status).toBe(403)
    // With DESCRIBE only she sees the topic but may neither alter it nor write to it.
    const kafka = kafkaClient(broker.address, { sasl: { mechanism: 'scram-sha-512', username: 'admin', password: 'admin-secret' } })
    const a = kafka.admin()
    await a.connect()
    try {
      await a.createAcls({ acl: [{ resourceType: 2, resourceName: 'guarded', resourcePatternType: 3, principal: 'User:alice', host: '*', operation: 8, permissionType: 3 }] })
      expect((await request('/api/topics/guarded/configs', { ...alice, method: 'POST', json: { set: { 'retention.ms': '1000' } } })).status).toBe(403)
      expect((await request('/api/topics/guarded/messages', { ...alice, method: 'POST', json: { value: 'x' } })).status).toBe(403)
      // The super user may do both, and lists ACLs (alice's DESCRIBE) and users.
      expect((await request('/api/topics/guarded/configs', { ...admin, method: 'POST', json: { set: { 'retention.ms': '1000' } } })).status).toBe(200)
      const produced = await request('/api/topics/guarded/messages', { ...admin, method: 'POST', json: { key: 'k', value: 'v' } })
      expect(JSON.parse(produced.body)).toEqual({ partition: 0, offset: 0 })
      const cfg = await a.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: 'guarded', configNames: ['retention.ms'] }] })
      expect(cfg.resources[0]!.configEntries[0]!.configValue).toBe('1000')
      expect((await a.fetchTopicOffsets('guarded'))[0]!.high).toBe('1')
      const acls = JSON.parse((await request('/api/acls', admin)).body) as { acls: Array<{ principal: string; operation: string; resourceName: string }> }
      expect(acls.acls).toContainEqual(expect.objectContaining({ principal: 'User:alice', operation: 'DESCRIBE', resourceName: 'guarded' }))
      const users = JSON.parse((await request('/api/users', admin)).body) as Array<{ user: string }>
      expect(users.map((u) => u.user).sort()).toEqual(['admin', 'alice'])
    } finally {
      await a.disconnect()
    }
  })
})
