// AlterUserScramCredentials (key 51). Deletes and upserts SCRAM credentials; an upsertion carries
// the salt and the salted password (the client derives it), from which the stored and server keys
// are computed, so the password never reaches the broker. Per user, all changes apply or none:
// an unknown mechanism answers UNSUPPORTED_SASL_MECHANISM, iterations outside 4096-16384 or an
// empty name UNACCEPTABLE_CREDENTIAL, a mechanism named twice for a user DUPLICATE_RESOURCE,
// deleting a credential that does not exist RESOURCE_NOT_FOUND. Needs ALTER on the cluster.
import {
  AlterUserScramCredentialsApi,
  type AlterUserScramCredentialsResponse,
} from '../../protocol/generated/alter-user-scram-credentials.js'
import { ErrorCode } from '../../protocol/errors.js'
import { authorizeCluster, Op } from '../acls/authorize.js'
import { defineHandler } from '../handler.js'
import { toKafkaError } from '../errors.js'
import {
  type ScramCredential,
  type ScramMechanism,
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  credentialFromSaltedPassword,
  scramMechanismOfCode,
} from '../security/scram-credentials.js'

type Failure = { errorCode: number; errorMessage: string }

export default defineHandler({
  api: AlterUserScramCredentialsApi,
  versions: [0, 0],
  async handle(req, ctx): Promise<AlterUserScramCredentialsResponse> {
    const users = [...new Set([...req.deletions.map((d) => d.name), ...req.upsertions.map((u) => u.name)])]
    if (!authorizeCluster(ctx, Op.ALTER)) {
      return { throttleTimeMs: 0, results: users.map((user) => ({ user, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorMessage: null })) }
    }
    const store = ctx.broker.scramCredentials
    const failures = new Map<string, Failure>()
    const fail = (user: string, errorCode: number, errorMessage: string) => void (failures.has(user) || failures.set(user, { errorCode, errorMessage }))
    const seen = new Set<string>()
    const mechanismOf = (user: string, code: number): ScramMechanism | undefined => {
      const m = scramMechanismOfCode(code)
      if (m === undefined) fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${code}`)
      else if (seen.has(`${user}\u0000${m}`)) fail(user, ErrorCode.DUPLICATE_RESOURCE, `A user credential cannot be altered twice in the same request: ${user} ${m}`)
      else seen.add(`${user}\u0000${m}`)
      return m
    }
    const deletions: Array<{ user: string; mechanism: ScramMechanism }> = []
    for (const d of req.deletions) {
      if (d.name === '') fail(d.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty')
      const mechanism = mechanismOf(d.name, d.mechanism)
      if (mechanism === undefined) continue
      if (store.get(d.name, mechanism) === undefined) fail(d.name, ErrorCode.RESOURCE_NOT_FOUND, `Attempt to delete a user credential that does not exist: ${d.name} ${mechanism}`)
      deletions.push({ user: d.name, mechanism })
    }
    const upsertions: Array<{ user: string; mechanism: ScramMechanism; credential: ScramCredential }> = []
    for (const u of req.upsertions) {
      if (u.name === '') fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty')
      const mechanism = mechanismOf(u.name, u.mechanism)
      if (mechanism === undefined) continue
      if (u.iterations < MIN_ITERATIONS || u.iterations > MAX_ITERATIONS) {
        fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Iterations must be from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, got ${u.iterations}`)
        continue
      }
      if (u.salt.length === 0 || u.saltedPassword.length === 0) {
        fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt and salted password must not be empty')
        continue
      }
      upsertions.push({ user: u.name, mechanism, credential: credentialFromSaltedPassword(mechanism, Buffer.from(u.salt), Buffer.from(u.saltedPassword), u.iterations) })
    }
    const ok = (c: { user: string }) => !failures.has(c.user)
    if (deletions.some(ok) || upsertions.some(ok)) {
      try {
        await store.alter({ deletions: deletions.filter(ok), upsertions: upsertions.filter(ok) })
      } catch (err) {
        // Not committed (in a cluster: etcd did not answer): no user changed.
        const f = toKafkaError(err)
        for (const u of users) fail(u, f.code, f.message)
      }
    }
    for (const u of users) if (!failures.has(u)) ctx.broker.logger.info({ user: u, principal: ctx.principal, client: ctx.clientHost }, 'altered SCRAM credentials')
    return {
      throttleTimeMs: 0,
      results: users.map((user) => ({ user, errorCode: failures.get(user)?.errorCode ?? ErrorCode.NONE, errorMessage: failures.get(user)?.errorMessage ?? null })),
    }
  },
})
