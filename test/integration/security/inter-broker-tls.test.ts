// How a broker checks the broker it connects to over an SSL inter-broker listener: the settings
// interBrokerSecurity builds from the listener's keys, used by the project's client connection
// against real TLS listeners on 127.0.0.1. The certificate must chain to the listener's
// truststore, and name the host connected to unless ssl.endpoint.identification.algorithm is
// empty; the listener's keystore is offered as the client certificate.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type RunningBroker } from '../../../broker/index.js'
import { BrokerConfig } from '../../../broker/config.js'
import { BrokerConnection } from '../../../broker/client/connection.js'
import { interBrokerSecurity } from '../../../broker/security/inter-broker.js'
import { parseEndpoints, parseProtocolMap } from '../../../broker/security/listeners.js'
import { ApiVersionsApi } from '../../../protocol/generated/api-versions.js'
import { makePki, sslConfig, type TestPki } from '../../helpers/certs.js'
import { removeDir } from '../../helpers/temp-dir.js'

/** What a broker configured with `values` would send when it connects to `address`. */
async function connectAsBroker(address: string, values: Record<string, string>): Promise<BrokerConnection> {
  const config = new BrokerConfig({ listeners: 'SSL://127.0.0.1:0', ...values })
  const { security } = interBrokerSecurity(config, parseEndpoints(config.get('listeners'), parseProtocolMap(config.get('listener.security.protocol.map'))))
  return BrokerConnection.connect(address, { clientId: 'inter-broker-tls-test', connectTimeoutMs: 5000, requestTimeoutMs: 5000, security })
}

async function failureOf(p: Promise<BrokerConnection>): Promise<string> {
  try {
    ;(await p).close()
  } catch (err) {
    return (err as Error).message
  }
  return 'connected'
}

describe('inter-broker TLS', () => {
  let dir: string
  let pki: TestPki
  let stranger: TestPki
  let withSan: RunningBroker
  let withoutSan: RunningBroker

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-ib-tls-'))
    pki = makePki(dir)
    stranger = makePki(mkdtempSync(path.join(dir, 'stranger-')), 'Stranger CA')
    // A certificate from the same CA that names no host or address.
    const bare = pki.clientCert('bare', '/CN=broker-without-names/O=Samsa')
    const bareKeystore = path.join(dir, 'bare-keystore.pem')
    writeFileSync(bareKeystore, [readFileSync(bare.keyFile, 'utf8'), readFileSync(bare.certFile, 'utf8')].join(''))
    const start = (ssl: Record<string, string>) =>
      startBroker({ host: '127.0.0.1', port: 0, config: { listeners: 'SSL://127.0.0.1:0', ...ssl, 'ssl.client.auth': 'required' }, logLevel: 'silent' })
    withSan = await start(sslConfig(pki))
    withoutSan = await start(sslConfig(pki, { 'ssl.keystore.location': bareKeystore, 'ssl.key.password': '' }))
  }, 60_000)

  afterAll(async () => {
    await withSan?.stop()
    await withoutSan?.stop()
    await removeDir(dir)
  })

  it('connects to a broker whose certificate chains to the truststore and names the address, offering its own certificate', async () => {
    // The listener requires a client certificate: the keystore is what gets the connection through.
    const conn = await connectAsBroker(withSan.address, sslConfig(pki))
    try {
      const res = await conn.request(ApiVersionsApi, 3, { clientSoftwareName: 'samsa', clientSoftwareVersion: '0' })
      expect(res.errorCode).toBe(0)
    } finally {
      conn.close()
    }
  })

  it('refuses a certificate from a CA outside the truststore', async () => {
    const message = await failureOf(connectAsBroker(withSan.address, sslConfig(pki, { 'ssl.truststore.location': stranger.caFile })))
    expect(message).toMatch(/TLS connection to 127\.0\.0\.1:\d+ failed/)
  })

  it('checks the host name unless ssl.endpoint.identification.algorithm is empty', async () => {
    const strict = await failureOf(connectAsBroker(withoutSan.address, sslConfig(pki)))
    expect(strict).toMatch(/TLS connection to 127\.0\.0\.1:\d+ failed: .*127\.0\.0\.1/)
    expect(await failureOf(connectAsBroker(withoutSan.address, sslConfig(pki, { 'ssl.endpoint.identification.algorithm': '' })))).toBe('connected')
  })
})
