// SaslHandshake (key 17). v1 means the SASL tokens that follow are framed in SaslAuthenticate
// requests instead of raw bytes. No SASL mechanism is enabled yet, so every handshake is refused
// with an empty mechanism list and the client reports the mechanism as unsupported.
import { SaslHandshakeApi, type SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: SaslHandshakeApi,
  versions: [0, 1],
  handle(): SaslHandshakeResponse {
    return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] }
  },
})
