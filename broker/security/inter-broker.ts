// How a broker of a cluster connects to the others (replica fetchers, transaction markers), as
// Kafka's inter-broker settings say. The inter-broker listener is `inter.broker.listener.name`, or
// the listener named after `security.inter.broker.protocol` (only one of the two may be set), or
// without either the first listener. Every broker registers that listener's address, and the
// others connect to it with its security protocol, as clients of it:
//
// - TLS (SSL, SASL_SSL): the listener's PEM truststore (`ssl.truststore.location`) checks the
//   other broker's certificate, its keystore (`ssl.keystore.location`, `ssl.key.password`) is
//   offered as the client certificate, and `ssl.endpoint.identification.algorithm` (https, or
//   empty for none) says whether the certificate must name the host connected to. Each may be set
//   for the listener alone (`listener.name.<listener>.ssl.*`). The files are read at every
//   connect, so renewed certificates are used from the next connection on.
// - SASL (SASL_PLAINTEXT, SASL_SSL): `sasl.mechanism.inter.broker.protocol` (PLAIN, SCRAM-SHA-256
//   or SCRAM-SHA-512; it must be one of the listener's sasl.enabled.mechanisms) with the username
//   and password of `listener.name.<listener>.<mechanism>.sasl.jaas.config`, as Kafka reads them.
//   With ACLs on, that user is the brokers' principal: it needs CLUSTER_ACTION on the cluster, or
//   to be one of `super.users`.
import fs from 'node:fs'
import type { ConnectionOptions, SecureVersion } from 'node:tls'
import type { BrokerConfig } from '../config.js'
import type { ClientSecurity } from '../client/connection.js'
import { configError, listenerConfig, mechanismConfig, usesSasl, usesTls, type ListenerEndpoint } from './listeners.js'
import { parseJaasOptions } from './jaas.js'
import { readPemKeystore } from './tls.js'

const MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const
type InterBrokerMechanism = (typeof MECHANISMS)[number]

export interface InterBrokerSecurity {
  listener: ListenerEndpoint
  security: ClientSecurity
  /** Who this broker is to the others, for logs: the protocol, and the mechanism and user (never the secret). */
  identity: { protocol: string; mechanism?: string; username?: string }
}

/** The listener other brokers connect to, from inter.broker.listener.name or security.inter.broker.protocol. */
export function interBrokerListener<L extends ListenerEndpoint>(config: BrokerConfig, listeners: readonly L[]): L {
  const byName = config.get('inter.broker.listener.name')
  const byProtocol = config.has('security.inter.broker.protocol')
  if (byName !== '' && byProtocol) {
    throw configError('inter.broker.listener.name and security.inter.broker.protocol are both set; set only one of them')
  }
  if (byName !== '') {
    const l = listeners.find((x) => x.name === byName.toUpperCase())
    if (l === undefined) throw configError(`inter.broker.listener.name: ${byName} is not one of the listeners`)
    return l
  }
  if (byProtocol) {
    const protocol = config.get('security.inter.broker.protocol').toUpperCase()
    const l = listeners.find((x) => x.name === protocol)
    if (l === undefined) throw configError(`security.inter.broker.protocol=${protocol}: no listener is named ${protocol} (or set inter.broker.listener.name)`)
    return l
  }
  return listeners[0]!
}

/** How to connect to the other brokers; throws a config error (ECONFIG) for what cannot work. */
export function interBrokerSecurity(config: BrokerConfig, listeners: readonly ListenerEndpoint[]): InterBrokerSecurity {
  const listener = interBrokerListener(config, listeners)
  const protocol = listener.securityProtocol
  const security: ClientSecurity = { protocol }
  const identity: InterBrokerSecurity['identity'] = { protocol }
  if (usesTls(protocol)) {
    // Read once now so a broken store stops the broker at start, then at each connect.
    tlsOptions(config, listener.name)
    Object.defineProperty(security, 'tls', { enumerable: true, get: () => tlsOptions(config, listener.name) })
  }
  if (usesSasl(protocol)) {
    const sasl = saslCredentials(config, listener.name)
    security.sasl = sasl
    identity.mechanism = sasl.mechanism
    identity.username = sasl.username
  }
  return { listener, security, identity }
}

function tlsOptions(config: BrokerConfig, listenerName: string): ConnectionOptions {
  const get = (key: string) => listenerConfig(config, listenerName, key)
  const opts: ConnectionOptions = {}
  try {
    const truststore = get('ssl.truststore.location')
    if (truststore !== '') opts.ca = fs.readFileSync(truststore, 'utf8')
    const keystore = get('ssl.keystore.location')
    if (keystore !== '') {
      const { key, cert } = readPemKeystore(keystore)
      opts.key = key
      opts.cert = cert
      const password = get('ssl.key.password')
      if (password !== '') opts.passphrase = password
    }
  } catch (err) {
    throw configError(`inter-broker listener ${listenerName}: cannot load its TLS keystore or truststore: ${(err as Error).message}`)
  }
  const protocols = get('ssl.enabled.protocols').split(',').map((p) => p.trim()).filter((p) => p !== '').sort()
  if (protocols.length > 0) {
    opts.minVersion = protocols[0] as SecureVersion
    opts.maxVersion = protocols[protocols.length - 1] as SecureVersion
  }
  const identification = get('ssl.endpoint.identification.algorithm').toLowerCase()
  if (identification === '') opts.checkServerIdentity = () => undefined
  else if (identification !== 'https') throw configError(`ssl.endpoint.identification.algorithm=${identification}: use https or leave it empty`)
  return opts
}

function saslCredentials(config: BrokerConfig, listenerName: string): { mechanism: InterBrokerMechanism; username: string; password: string } {
  const mechanism = config.get('sasl.mechanism.inter.broker.protocol').trim().toUpperCase()
  if (!(MECHANISMS as readonly string[]).includes(mechanism)) {
    throw configError(`sasl.mechanism.inter.broker.protocol=${mechanism}: the inter-broker listener ${listenerName} uses SASL, and Samsa's brokers log in to each other with ${MECHANISMS.join(', ')}`)
  }
  const enabled = listenerConfig(config, listenerName, 'sasl.enabled.mechanisms').split(',').map((m) => m.trim().toUpperCase())
  if (!enabled.includes(mechanism)) {
    throw configError(`sasl.mechanism.inter.broker.protocol=${mechanism} is not one of the sasl.enabled.mechanisms of the inter-broker listener ${listenerName} (${enabled.join(', ')})`)
  }
  const key = `listener.name.${listenerName.toLowerCase()}.${mechanism.toLowerCase()}.sasl.jaas.config`
  const jaas = parseJaasOptions(mechanismConfig(config, listenerName, mechanism, 'sasl.jaas.config'))
  const username = jaas['username']
  const password = jaas['password']
  if (username === undefined || username === '' || password === undefined) {
    throw configError(`the inter-broker listener ${listenerName} uses SASL ${mechanism}: set ${key} with the brokers' username and password`)
  }
  return { mechanism: mechanism as InterBrokerMechanism, username, password }
}
