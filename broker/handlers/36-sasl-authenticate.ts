// SaslAuthenticate (key 36). Carries one SASL token each way after a v1 SaslHandshake. v1 adds
// session_lifetime_ms (KIP-368: connections.max.reauth.ms or the credential's remaining lifetime,
// whichever is less, 0 when sessions do not expire); v2 is flexible. A failed login answers
// SASL_AUTHENTICATION_FAILED after a delay and closes.
import { SaslAuthenticateApi, type SaslAuthenticateResponse } from '../../protocol/generated/sasl-authenticate.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { authenticate } from '../security/sasl/authenticator.js'

const NO_BYTES = new Uint8Array(0)

export default defineHandler({
  api: SaslAuthenticateApi,
  versions: [0, 2],
  keepsRequestBytes: false,
  async handle(req, ctx): Promise<SaslAuthenticateResponse> {
    const session = ctx.session
    if (session.sasl !== 'authenticate') {
      session.closeAfterResponses = true
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate without a SaslHandshake v1 first', authBytes: NO_BYTES, sessionLifetimeMs: 0 }
    }
    const b = ctx.broker
    const token = Buffer.from(req.authBytes.buffer, req.authBytes.byteOffset, req.authBytes.byteLength)
    const outcome = await authenticate(session, token, { config: b.config, credentials: b.scramCredentials, failedLogins: b.failedLogins, logger: b.logger, metrics: b.metrics })
    if (!outcome.ok) return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: outcome.message, authBytes: NO_BYTES, sessionLifetimeMs: 0 }
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: outcome.token, sessionLifetimeMs: outcome.sessionLifetimeMs }
  },
})
