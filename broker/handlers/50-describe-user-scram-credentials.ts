// DescribeUserScramCredentials (key 50). Lists users' SCRAM mechanisms and iteration counts, never
// the keys. A null or empty user list means every user with a credential; a named user without
// one answers RESOURCE_NOT_FOUND, a user named twice DUPLICATE_RESOURCE. Needs DESCRIBE on the
// cluster. v0 only (flexible).
import {
  DescribeUserScramCredentialsApi,
  type DescribeUserScramCredentialsResponse,
} from '../../protocol/generated/describe-user-scram-credentials.js'
import { ErrorCode } from '../../protocol/errors.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { defineHandler } from '../handler.js'
import { scramMechanismCode } from '../security/scram-credentials.js'

type Result = DescribeUserScramCredentialsResponse['results'][number]

export default defineHandler({
  api: DescribeUserScramCredentialsApi,
  versions: [0, 0],
  handle(req, ctx): DescribeUserScramCredentialsResponse {
    if (!authorizeCluster(ctx, Op.DESCRIBE)) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null, results: [] }
    }
    const known = new Map(ctx.broker.scramCredentials.users().map((u) => [u.user, u.credentials]))
    const describe = (user: string): Result => {
      const credentials = known.get(user)
      if (credentials === undefined) {
        return { user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] }
      }
      return { user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: credentials.map((c) => ({ mechanism: scramMechanismCode(c.mechanism), iterations: c.iterations })) }
    }
    if (req.users === null || req.users.length === 0) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results: [...known.keys()].map(describe) }
    }
    const counts = new Map<string, number>()
    for (const u of req.users) counts.set(u.name, (counts.get(u.name) ?? 0) + 1)
    const results = [...counts].map(([user, n]): Result =>
      n > 1 ? { user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] } : describe(user),
    )
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results }
  },
})
