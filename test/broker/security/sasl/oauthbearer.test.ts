// The OAUTHBEARER client first message (RFC 7628 section 3.1) as kafkajs, librdkafka and Kafka's
// Java client write it, and the ways it can be malformed.
import { describe, expect, it } from 'vitest'
import { parseClientFirstMessage } from '../../../../broker/security/sasl/oauthbearer.js'
import { sessionLifetime } from '../../../../broker/security/sasl/authenticator.js'

const SOH = '\x01'

describe('parseClientFirstMessage', () => {
  it('reads the token, the authorization id and extensions', () => {
    expect(parseClientFirstMessage(`n,,${SOH}auth=Bearer abc.def.ghi${SOH}${SOH}`)).toEqual({ authzid: '', token: 'abc.def.ghi', extensions: new Map() })
    const withAll = parseClientFirstMessage(`n,a=us=2Cer=3D1,${SOH}traceId=123${SOH}auth=bearer   abc.def.${SOH}logicalCluster=lkc-1${SOH}${SOH}`)
    expect(withAll).toEqual({ authzid: 'us,er=1', token: 'abc.def.', extensions: new Map([['traceId', '123'], ['logicalCluster', 'lkc-1']]) })
  })

  it('refuses messages that are not RFC 7628 client first messages', () => {
    for (const bad of [
      '',
      SOH,
      `n,,auth=Bearer x${SOH}${SOH}`,
      `n,,${SOH}auth=Bearer x${SOH}`,
      `p=tls-unique,,${SOH}auth=Bearer x${SOH}${SOH}`,
      `n,,${SOH}${SOH}`,
      `n,,${SOH}auth=Basic x${SOH}${SOH}`,
      `n,,${SOH}auth=Bearer ${SOH}${SOH}`,
      `n,,${SOH}auth=Bearer a b${SOH}${SOH}`,
      `n,,${SOH}auth=Bearer x${SOH}auth=Bearer y${SOH}${SOH}`,
      `n,,${SOH}auth=Bearer x${SOH}bad key=1${SOH}${SOH}`,
    ]) {
      expect(typeof parseClientFirstMessage(bad), JSON.stringify(bad)).toBe('string')
    }
  })
})

describe('sessionLifetime', () => {
  it('is connections.max.reauth.ms or the credential lifetime left, whichever is less', () => {
    expect(sessionLifetime(0, undefined, 1000)).toBe(0)
    expect(sessionLifetime(5000, undefined, 1000)).toBe(5000)
    expect(sessionLifetime(0, 61_000, 1000)).toBe(60_000)
    expect(sessionLifetime(5000, 61_000, 1000)).toBe(5000)
    expect(sessionLifetime(90_000, 61_000, 1000)).toBe(60_000)
    // Accepted within the clock skew but already expired: the session ends at once, not never.
    expect(sessionLifetime(0, 500, 1000)).toBe(1)
    expect(sessionLifetime(9.3e18, undefined, 0)).toBe(0)
  })
})
