// One SASL mechanism's server side, fed the client's tokens one at a time.

export type SaslStep =
  /** Send `token` and wait for the client's next one. */
  | { kind: 'challenge'; token: Buffer }
  /**
   * Authenticated as `user`; `token` is the final server message (empty for PLAIN). A credential
   * that expires (an OAUTHBEARER token) ends the session at `expiresAtMs` at the latest.
   */
  | { kind: 'complete'; token: Buffer; user: string; expiresAtMs?: number }
  /**
   * Refused. `reason` is logged; it never holds a secret. `clientMessage`, when set, is what the
   * client is told instead of the generic failure message.
   */
  | { kind: 'failed'; reason: string; clientMessage?: string }

export interface SaslServer {
  readonly mechanism: string
  evaluate(token: Buffer): SaslStep | Promise<SaslStep>
}
