// One SASL mechanism's server side, fed the client's tokens one at a time.

export type SaslStep =
  /** Send `token` and wait for the client's next one. */
  | { kind: 'challenge'; token: Buffer }
  /** Authenticated as `user`; `token` is the final server message (empty for PLAIN). */
  | { kind: 'complete'; token: Buffer; user: string }
  /** Refused. `reason` is logged and may be told to the client; it never holds a secret. */
  | { kind: 'failed'; reason: string }

export interface SaslServer {
  readonly mechanism: string
  evaluate(token: Buffer): SaslStep | Promise<SaslStep>
}
