// What one connection's requests share about its security: the listener it came in on, who is
// on the other end (principal), and how far SASL authentication has got. Created at accept, read
// by the router for every request, advanced by the SaslHandshake and SaslAuthenticate handlers.
import { type BoundListener, type SecurityProtocol, usesSasl } from './listeners.js'
import type { SaslServer } from './sasl/server.js'

/** The principal of a connection that has not authenticated (Kafka's KafkaPrincipal.ANONYMOUS). */
export const ANONYMOUS = 'User:ANONYMOUS'

export type SaslStage =
  /** No SASL on this listener. */
  | 'none'
  /** SASL listener, waiting for SaslHandshake. */
  | 'handshake'
  /** Mechanism chosen with SaslHandshake v1: tokens come in SaslAuthenticate requests. */
  | 'authenticate'
  /** Mechanism chosen with SaslHandshake v0: the next frames are bare tokens. */
  | 'raw'
  | 'complete'
  | 'failed'

export class ConnectionSession {
  principal = ANONYMOUS
  sasl: SaslStage
  server: SaslServer | undefined
  /** Set when the connection must end once its pending responses are written. */
  closeAfterResponses = false
  /** When the current SASL session ends (KIP-368), or Infinity. */
  sessionExpiresAt = Number.POSITIVE_INFINITY
  /** Set by the connection when its socket can take file ranges with sendfile (plain TCP, addon loaded). */
  sendfile = false

  constructor(
    readonly listener: BoundListener,
    readonly clientHost: string,
  ) {
    this.sasl = usesSasl(listener.securityProtocol) ? 'handshake' : 'none'
  }

  get listenerName(): string {
    return this.listener.name
  }

  get securityProtocol(): SecurityProtocol {
    return this.listener.securityProtocol
  }

  /** True when requests other than ApiVersions and the SASL ones may be served. */
  get authenticated(): boolean {
    if (this.sasl === 'none') return true
    return this.sasl === 'complete' && (this.sessionExpiresAt === Number.POSITIVE_INFINITY || Date.now() < this.sessionExpiresAt)
  }
}

/** A session for a PLAINTEXT connection on `host:port` (connections built outside a server). */
export function plaintextSession(clientHost: string, host = '', port = 0): ConnectionSession {
  return new ConnectionSession({ name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host, port, advertisedHost: host, advertisedPort: port }, clientHost)
}
