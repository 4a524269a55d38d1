// TLS for SSL and SASL_SSL listeners, configured with Kafka's PEM keys: ssl.keystore.location is
// one PEM file holding the private key (encrypted when ssl.key.password is set) and the
// certificate chain, ssl.truststore.location the CA certificates that client certificates must
// chain to. ssl.client.auth asks for (requested) or insists on (required) a client certificate;
// its subject, mapped by ssl.principal.mapping.rules, is the principal of an SSL connection.
//
// The files are checked every ssl.reload.check.interval.ms; when one changed, the server's
// secure context is rebuilt and new handshakes use it (connections already open keep theirs). A
// half-written file fails to load and is retried on the next check.
import fs from 'node:fs'
import tls from 'node:tls'
import net from 'node:net'
import { X509Certificate } from 'node:crypto'
import type { Logger } from 'pino'
import type { BrokerConfig } from '../config.js'
import { configError, listenerConfig, type ListenerEndpoint } from './listeners.js'
import { parsePrincipalMappingRules, type PrincipalMapper } from './principal-mapping.js'
import { ANONYMOUS } from './session.js'

const HANDSHAKE_TIMEOUT_MS = 10_000

type ClientAuth = 'required' | 'requested' | 'none'

interface StoreFiles {
  keystore: string
  truststore: string | undefined
}

export class TlsListener {
  readonly clientAuth: ClientAuth
  private readonly files: StoreFiles
  private readonly mapper: PrincipalMapper
  private stamps = ''
  private server: tls.Server | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly config: BrokerConfig,
    readonly listener: ListenerEndpoint,
    private readonly logger: Logger,
  ) {
    const get = (key: string) => listenerConfig(config, listener.name, key)
    const keystore = get('ssl.keystore.location')
    if (keystore === '') throw configError(`listener ${listener.name}: ${listener.securityProtocol} needs ssl.keystore.location (a PEM file with the key and certificate chain)`)
    for (const key of ['ssl.keystore.type', 'ssl.truststore.type']) {
      if (get(key).toUpperCase() !== 'PEM') throw configError(`listener ${listener.name}: ${key}=${get(key)} is not supported; use PEM`)
    }
    this.files = { keystore, truststore: get('ssl.truststore.location') || undefined }
    this.clientAuth = get('ssl.client.auth') as ClientAuth
    this.mapper = parsePrincipalMappingRules(get('ssl.principal.mapping.rules'))
  }

  /** A TLS server for the listener; `accept` gets each connection once its handshake is done. */
  createServer(accept: (socket: net.Socket) => void): net.Server {
    let options: tls.TlsOptions
    try {
      options = this.options()
    } catch (err) {
      throw configError(`listener ${this.listener.name}: cannot load its TLS keystore or truststore: ${(err as Error).message}`)
    }
    const server = tls.createServer({ ...options, handshakeTimeout: HANDSHAKE_TIMEOUT_MS, noDelay: true }, (socket) => {
      // 'requested' lets a handshake without a certificate through, never one with a bad certificate.
      if (this.clientAuth === 'requested' && !socket.authorized && socket.getPeerCertificate()?.raw !== undefined) {
        this.logger.warn({ client: socket.remoteAddress, listener: this.listener.name, reason: socket.authorizationError }, 'client certificate refused')
        socket.destroy()
        return
      }
      accept(socket)
    })
    server.on('tlsClientError', (err, socket) => {
      this.logger.info({ client: socket.remoteAddress, listener: this.listener.name, reason: err.message }, 'TLS handshake failed')
      socket.destroy()
    })
    this.server = server
    this.stamps = this.fileStamps()
    const every = this.config.getLong('ssl.reload.check.interval.ms')
    if (every > 0 && Number.isFinite(every)) {
      this.timer = setInterval(() => this.reloadIfChanged(), every)
      this.timer.unref()
      server.on('close', () => clearInterval(this.timer))
    }
    return server
  }

  /**
   * The principal of an SSL connection: the mapped certificate subject, ANONYMOUS without a
   * certificate, undefined when no mapping rule applies (the connection is refused, as in Kafka).
   */
  principal(socket: net.Socket): string | undefined {
    if (!(socket instanceof tls.TLSSocket) || !socket.authorized) return ANONYMOUS
    const cert = socket.getPeerX509Certificate()
    if (cert === undefined) return ANONYMOUS
    const name = this.mapper(distinguishedName(cert))
    return name === undefined ? undefined : `User:${name}`
  }

  private options(): tls.SecureContextOptions & tls.TlsOptions {
    const get = (key: string) => listenerConfig(this.config, this.listener.name, key)
    const { key, cert } = readPemKeystore(this.files.keystore)
    const protocols = get('ssl.enabled.protocols').split(',').map((p) => p.trim()).filter((p) => p !== '').sort()
    const password = get('ssl.key.password')
    const ca = this.files.truststore === undefined ? undefined : fs.readFileSync(this.files.truststore, 'utf8')
    const opts: tls.SecureContextOptions & tls.TlsOptions = {
      key,
      cert,
      passphrase: password === '' ? undefined : password,
      minVersion: protocols[0] as tls.SecureVersion,
      maxVersion: protocols[protocols.length - 1] as tls.SecureVersion,
      requestCert: this.clientAuth !== 'none',
      rejectUnauthorized: this.clientAuth === 'required',
    }
    if (ca !== undefined) opts.ca = ca
    // Fails here, at start or reload, rather than at the first handshake.
    tls.createSecureContext(opts)
    return opts
  }

  private fileStamps(): string {
    return [this.files.keystore, this.files.truststore]
      .map((f) => {
        if (f === undefined) return ''
        try {
          const st = fs.statSync(f)
          return `${st.mtimeMs}:${st.size}:${st.ino}`
        } catch {
          return 'missing'
        }
      })
      .join('|')
  }

  private reloadIfChanged(): void {
    const stamps = this.fileStamps()
    if (stamps === this.stamps || this.server === undefined) return
    try {
      this.server.setSecureContext(this.options())
      this.stamps = stamps
      this.logger.info({ listener: this.listener.name }, 'reloaded TLS keystore and truststore')
    } catch (err) {
      this.logger.warn({ listener: this.listener.name, reason: (err as Error).message }, 'TLS stores changed but do not load; keeping the previous ones')
    }
  }
}

/** A PEM keystore file: its one private key (maybe encrypted) and its certificate chain. */
export function readPemKeystore(file: string): { key: string; cert: string } {
  const keystore = fs.readFileSync(file, 'utf8')
  const keys = pemBlocks(keystore, /PRIVATE KEY/)
  const certs = pemBlocks(keystore, /^CERTIFICATE$/)
  if (keys.length !== 1 || certs.length === 0) {
    throw configError(`${file}: expected one private key and a certificate chain, found ${keys.length} keys and ${certs.length} certificates`)
  }
  return { key: keys[0]!, cert: certs.join('\n') }
}

/** The PEM blocks of `text` whose label matches, e.g. CERTIFICATE or ENCRYPTED PRIVATE KEY. */
function pemBlocks(text: string, label: RegExp): string[] {
  const out: string[] = []
  for (const m of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)) {
    if (label.test(m[1]!)) out.push(m[0])
  }
  return out
}

/**
 * The subject as Java's X500Principal.getName() writes it (RFC 2253), which is what Kafka's
 * principal mapping rules see: most specific RDN first, comma-separated, no spaces
 * ("CN=alice,OU=eng,O=Acme\, Inc.,C=US"). Node already escapes the values as RFC 2253 does.
 */
export function distinguishedName(cert: X509Certificate): string {
  return cert.subject.split('\n').filter((rdn) => rdn !== '').reverse().join(',')
}
