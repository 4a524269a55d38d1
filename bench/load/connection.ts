// The load generator speaks through the client's own connection (broker/client/connection.ts):
// pipelined requests matched in order, read into one growable buffer, so a response costs no
// allocation and the broker is what is measured. Produce frames are encoded once and resent.
import { BrokerConnection, type ClientSecurity } from '../../broker/client/connection.js'
import { encodeRequestFrame } from '../../broker/client/request-frame.js'
import type { ApiDescriptor } from '../../protocol/types.js'

const CLIENT_ID = 'samsa-bench'

/** A connection to `host:port`; `security` for a TLS or SASL listener (plain TCP without). */
export function connect(host: string, port: number, security?: ClientSecurity): Promise<BrokerConnection> {
  return BrokerConnection.connect(`${host}:${port}`, { clientId: CLIENT_ID, connectTimeoutMs: 10_000, requestTimeoutMs: 120_000, security })
}

/** A whole request frame for BrokerConnection.sendFrame, encoded once for repeated sending. */
export function frame<Req>(api: ApiDescriptor<Req, unknown>, version: number, body: Req): Buffer {
  return encodeRequestFrame(api, version, body, 1, CLIENT_ID)
}
