// The inter-broker listener and the client settings a broker of a cluster uses to reach the others,
// from Kafka's keys; what cannot work is a config error (ECONFIG) before the broker starts.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BrokerConfig } from '../../../broker/config.js'
import { interBrokerListener, interBrokerSecurity } from '../../../broker/security/inter-broker.js'
import { parseEndpoints, parseProtocolMap } from '../../../broker/security/listeners.js'
import { KEY_PASSWORD, makePki, sslConfig } from '../../helpers/certs.js'

function setup(values: Record<string, string>) {
  const config = new BrokerConfig(values)
  return { config, listeners: parseEndpoints(config.get('listeners'), parseProtocolMap(config.get('listener.security.protocol.map'))) }
}

const TWO = { listeners: 'CLIENT://127.0.0.1:9092,BROKER://127.0.0.1:9093', 'listener.security.protocol.map': 'CLIENT:SASL_SSL,BROKER:SASL_PLAINTEXT' }
const SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="p\\"w";'

function errorOf(f: () => unknown): { code?: string; message: string } {
  try {
    f()
  } catch (err) {
    return err as { code?: string; message: string }
  }
  throw new Error('no error')
}

describe('the inter-broker listener', () => {
  it('is inter.broker.listener.name, else the listener named after security.inter.broker.protocol, else the first', () => {
    let s = setup({ ...TWO, 'inter.broker.listener.name': 'broker' })
    expect(interBrokerListener(s.config, s.listeners).name).toBe('BROKER')
    s = setup({ listeners: 'PLAINTEXT://127.0.0.1:9092,SASL_PLAINTEXT://127.0.0.1:9093', 'security.inter.broker.protocol': 'SASL_PLAINTEXT' })
    expect(interBrokerListener(s.config, s.listeners).name).toBe('SASL_PLAINTEXT')
    s = setup(TWO)
    expect(interBrokerListener(s.config, s.listeners).name).toBe('CLIENT')
  })

  it('refuses both keys at once, and a protocol no listener is named after', () => {
    let s = setup({ ...TWO, 'inter.broker.listener.name': 'BROKER', 'security.inter.broker.protocol': 'SASL_PLAINTEXT' })
    expect(errorOf(() => interBrokerListener(s.config, s.listeners))).toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/set only one/) })
    s = setup({ ...TWO, 'security.inter.broker.protocol': 'SSL' })
    expect(errorOf(() => interBrokerListener(s.config, s.listeners))).toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/no listener is named SSL/) })
  })
})

describe('inter-broker SASL', () => {
  const base = { ...TWO, 'inter.broker.listener.name': 'BROKER', 'sasl.enabled.mechanisms': 'SCRAM-SHA-512,PLAIN' }

  it("logs in with sasl.mechanism.inter.broker.protocol and the listener's JAAS username and password", () => {
    const s = setup({ ...base, 'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512', 'listener.name.broker.scram-sha-512.sasl.jaas.config': SCRAM_JAAS })
    const ib = interBrokerSecurity(s.config, s.listeners)
    expect(ib.listener.name).toBe('BROKER')
    expect(ib.security).toEqual({ protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-512', username: 'broker', password: 'p"w' } })
  })

  it('takes the listener-wide JAAS entry when no per-mechanism one is set', () => {
    const jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="b" password="x" user_b="x";'
    const s = setup({ ...base, 'sasl.mechanism.inter.broker.protocol': 'PLAIN', 'listener.name.broker.sasl.jaas.config': jaas })
    expect(interBrokerSecurity(s.config, s.listeners).security.sasl).toEqual({ mechanism: 'PLAIN', username: 'b', password: 'x' })
  })

  it('refuses GSSAPI (the default), a mechanism the listener does not enable, and missing credentials', () => {
    let s = setup({ ...base, 'listener.name.broker.gssapi.sasl.jaas.config': SCRAM_JAAS })
    expect(errorOf(() => interBrokerSecurity(s.config, s.listeners))).toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/sasl.mechanism.inter.broker.protocol=GSSAPI/) })
    s = setup({ ...base, 'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-256', 'listener.name.broker.scram-sha-256.sasl.jaas.config': SCRAM_JAAS })
    expect(errorOf(() => interBrokerSecurity(s.config, s.listeners))).toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/not one of the sasl.enabled.mechanisms/) })
    s = setup({ ...base, 'sasl.mechanism.inter.broker.protocol': 'PLAIN' })
    expect(errorOf(() => interBrokerSecurity(s.config, s.listeners))).toMatchObject({ code: 'ECONFIG', message: expect.stringContaining('listener.name.broker.plain.sasl.jaas.config') })
  })
})

describe('inter-broker TLS', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'samsa-ib-tls-'))
  const pki = makePki(dir)
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it("trusts the listener's truststore and offers its keystore as the client certificate", () => {
    const s = setup({ listeners: 'SSL://127.0.0.1:9093', ...sslConfig(pki), 'ssl.enabled.protocols': 'TLSv1.3' })
    const tls = interBrokerSecurity(s.config, s.listeners).security.tls!
    expect(tls.ca).toContain('BEGIN CERTIFICATE')
    expect(tls.key).toContain('ENCRYPTED PRIVATE KEY')
    expect(tls.cert).toContain('BEGIN CERTIFICATE')
    expect(tls.passphrase).toBe(KEY_PASSWORD)
    expect([tls.minVersion, tls.maxVersion]).toEqual(['TLSv1.3', 'TLSv1.3'])
    expect(tls.checkServerIdentity).toBeUndefined()
    const noHostCheck = setup({ listeners: 'SSL://127.0.0.1:9093', ...sslConfig(pki), 'ssl.endpoint.identification.algorithm': '' })
    expect(interBrokerSecurity(noHostCheck.config, noHostCheck.listeners).security.tls!.checkServerIdentity).toBeTypeOf('function')
  })

  it('refuses a keystore it cannot read', () => {
    const s = setup({ listeners: 'SSL://127.0.0.1:9093', ...sslConfig(pki), 'ssl.keystore.location': path.join(dir, 'missing.pem') })
    expect(errorOf(() => interBrokerSecurity(s.config, s.listeners))).toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/inter-broker listener SSL: cannot load/) })
  })
})
