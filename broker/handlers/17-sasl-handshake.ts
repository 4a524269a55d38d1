// SaslHandshake (key 17). Picks the connection's SASL mechanism from the listener's
// sasl.enabled.mechanisms (Samsa implements PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER). v0 means
// the tokens that follow are bare length-prefixed frames; v1 that they come in SaslAuthenticate
// requests. An authenticated connection may hand-shake again to re-authenticate (KIP-368). On a
// listener without SASL every handshake is refused with an empty mechanism list.
import { SaslHandshakeApi, type SaslHandshakeResponse } from '../../protocol/generated/sasl-handshake.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { offeredMechanisms, saslServer } from '../security/sasl/authenticator.js'

export default defineHandler({
  api: SaslHandshakeApi,
  versions: [0, 1],
  handle(req, ctx): SaslHandshakeResponse {
    const session = ctx.session
    if (session.sasl === 'none') return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] }
    const deps = { credentials: ctx.broker.scramCredentials, oauthBearer: ctx.broker.oauthBearer }
    const mechanisms = offeredMechanisms(ctx.broker.config, session.listenerName, deps)
    if (session.sasl !== 'handshake' && session.sasl !== 'complete') {
      session.closeAfterResponses = true
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms }
    }
    if (!mechanisms.includes(req.mechanism)) {
      // Re-authentication must keep to the mechanism the connection authenticated with.
      if (session.sasl === 'complete') session.closeAfterResponses = true
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms }
    }
    session.server = saslServer(req.mechanism, session.listenerName, deps)
    session.sasl = ctx.apiVersion === 0 ? 'raw' : 'authenticate'
    return { errorCode: ErrorCode.NONE, mechanisms }
  },
})
