// --command-config FILE: Kafka client properties, as kafka-*.sh tools and librdkafka take them,
// turned into the client's TLS and SASL settings. Read: security.protocol; sasl.mechanism with
// sasl.username / sasl.password or sasl.jaas.config (PlainLoginModule / ScramLoginModule), or for
// OAUTHBEARER a token file (Kafka's sasl.oauthbearer.token.endpoint.url=file://...) or
// librdkafka's unsigned development token (enable.sasl.oauthbearer.unsecure.jwt=true with
// sasl.oauthbearer.config=principal=<name>);
// ssl.ca.location or ssl.truststore.location (PEM), ssl.certificate.location,
// ssl.key.location, ssl.key.password, and ssl.endpoint.identification.algorithm (empty turns off
// the host name check).
import fs from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { loadServerProperties } from '../../broker/config.js'
import type { ClientSecurity } from '../../broker/client/connection.js'
import type { SaslMechanismName } from '../../broker/client/sasl.js'
import { parseJaasOptions } from '../../broker/security/jaas.js'
import { CliError, ExitCode } from './errors.js'

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const
const MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER']

export function loadCommandConfig(file: string): ClientSecurity {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new CliError(`cannot read --command-config '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, ExitCode.Config)
  }
  return clientSecurity(loadServerProperties(text), file)
}

export function clientSecurity(props: Record<string, string>, source = 'command config'): ClientSecurity {
  const bad = (msg: string) => new CliError(`${source}: ${msg}`, ExitCode.Config)
  const protocol = (props['security.protocol'] ?? 'PLAINTEXT').toUpperCase()
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw bad(`security.protocol=${protocol} is not one of ${PROTOCOLS.join(', ')}`)
  const security: ClientSecurity = { protocol: protocol as ClientSecurity['protocol'] }
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    const read = (key: string): string | undefined => {
      const f = props[key]
      if (f === undefined || f === '') return undefined
      try {
        return fs.readFileSync(f, 'utf8')
      } catch (err) {
        throw bad(`cannot read ${key} '${f}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
      }
    }
    const opts: ConnectionOptions = {}
    const ca = read('ssl.ca.location') ?? read('ssl.truststore.location')
    if (ca !== undefined) opts.ca = ca
    const cert = read('ssl.certificate.location') ?? read('ssl.keystore.location')
    if (cert !== undefined) opts.cert = cert
    const key = read('ssl.key.location') ?? (props['ssl.keystore.location'] !== undefined ? cert : undefined)
    if (key !== undefined) opts.key = key
    if (props['ssl.key.password']) opts.passphrase = props['ssl.key.password']
    if (props['ssl.endpoint.identification.algorithm'] === '') opts.checkServerIdentity = () => undefined
    security.tls = opts
  }
  if (protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL') {
    const mechanism = (props['sasl.mechanism'] ?? props['sasl.mechanisms'] ?? 'GSSAPI').toUpperCase()
    if (!(MECHANISMS as readonly string[]).includes(mechanism)) throw bad(`sasl.mechanism=${mechanism} is not supported (use ${MECHANISMS.join(', ')})`)
    if (mechanism === 'OAUTHBEARER') {
      security.sasl = { mechanism, token: bearerToken(props, bad) }
      return security
    }
    const jaas = parseJaasOptions(props['sasl.jaas.config'] ?? '')
    const username = props['sasl.username'] ?? jaas['username']
    const password = props['sasl.password'] ?? jaas['password']
    if (username === undefined || password === undefined) throw bad('SASL needs sasl.username and sasl.password, or sasl.jaas.config with username and password')
    security.sasl = { mechanism: mechanism as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username, password }
  }
  return security
}

/** The OAUTHBEARER token the properties name: read from a file, or an unsigned one made here. */
function bearerToken(props: Record<string, string>, bad: (msg: string) => CliError): string {
  const url = props['sasl.oauthbearer.token.endpoint.url']
  if (url !== undefined && url !== '') {
    if (!url.startsWith('file:')) throw bad(`sasl.oauthbearer.token.endpoint.url: only a file:// URL holding the token is supported, got ${url}`)
    let token: string
    try {
      token = fs.readFileSync(new URL(url), 'utf8').trim()
    } catch (err) {
      throw bad(`cannot read the OAUTHBEARER token '${url}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    if (token === '') throw bad(`the OAUTHBEARER token file '${url}' is empty`)
    return token
  }
  if (props['enable.sasl.oauthbearer.unsecure.jwt'] === 'true') {
    // librdkafka's format: space-separated name=value pairs.
    const opts = new Map((props['sasl.oauthbearer.config'] ?? '').split(/\s+/).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const))
    const principal = opts.get('principal')
    if (principal === undefined || principal === '') throw bad('enable.sasl.oauthbearer.unsecure.jwt=true needs sasl.oauthbearer.config=principal=<name>')
    const now = Math.floor(Date.now() / 1000)
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const claims = { [opts.get('principalClaimName') || 'sub']: principal, iat: now, exp: now + (Number(opts.get('lifeSeconds')) || 3600) }
    return `${part({ alg: 'none' })}.${part(claims)}.`
  }
  throw bad('OAUTHBEARER needs sasl.oauthbearer.token.endpoint.url=file://<file holding the token> (or, against a broker that accepts unsigned tokens, enable.sasl.oauthbearer.unsecure.jwt=true with sasl.oauthbearer.config=principal=<name>)')
}
