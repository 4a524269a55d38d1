// SCRAM credential administration through DescribeUserScramCredentials (50) and
// AlterUserScramCredentials (51), sent to the bootstrap broker. The password is salted and hashed
// here (a fresh random salt each time), so only the salted password travels, as Kafka's
// Admin.alterUserScramCredentials does.
import { randomBytes } from 'node:crypto'
import { ErrorCode } from '../../protocol/errors.js'
import { DescribeUserScramCredentialsApi } from '../../protocol/generated/describe-user-scram-credentials.js'
import { AlterUserScramCredentialsApi } from '../../protocol/generated/alter-user-scram-credentials.js'
import { type ScramMechanism, MIN_ITERATIONS, saltPassword, scramMechanismCode, scramMechanismOfCode } from '../security/scram-credentials.js'
import type { Cluster } from './cluster.js'
import { KafkaProtocolError } from './errors.js'

export interface UserScramCredentials {
  user: string
  credentials: Array<{ mechanism: ScramMechanism | 'UNKNOWN'; iterations: number }>
}

/** Every user with SCRAM credentials, or the named ones (a name without any is an error). */
export async function describeUserScramCredentials(cluster: Cluster, users?: readonly string[]): Promise<UserScramCredentials[]> {
  const session = await cluster.bootstrap()
  const res = await session.send(DescribeUserScramCredentialsApi, { users: users === undefined ? null : users.map((name) => ({ name })) }, 0)
  if (res.errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(res.errorCode, `DescribeUserScramCredentials at ${session.address}`, res.errorMessage)
  const failed = res.results.find((r) => r.errorCode !== ErrorCode.NONE)
  if (failed) throw new KafkaProtocolError(failed.errorCode, `DescribeUserScramCredentials of ${failed.user}`, failed.errorMessage)
  return res.results.map((r) => ({
    user: r.user,
    credentials: r.credentialInfos.map((c) => ({ mechanism: scramMechanismOfCode(c.mechanism) ?? 'UNKNOWN', iterations: c.iterations })),
  }))
}

export interface ScramUpsertion {
  user: string
  mechanism: ScramMechanism
  password: string
  iterations?: number
}

/** Applies the changes; throws for the first user the broker refused. */
export async function alterUserScramCredentials(
  cluster: Cluster,
  changes: { upsertions?: readonly ScramUpsertion[]; deletions?: ReadonlyArray<{ user: string; mechanism: ScramMechanism }> },
): Promise<void> {
  const upsertions = []
  for (const u of changes.upsertions ?? []) {
    const salt = randomBytes(32)
    const iterations = u.iterations ?? MIN_ITERATIONS
    upsertions.push({ name: u.user, mechanism: scramMechanismCode(u.mechanism), iterations, salt, saltedPassword: await saltPassword(u.mechanism, u.password, salt, iterations) })
  }
  const deletions = (changes.deletions ?? []).map((d) => ({ name: d.user, mechanism: scramMechanismCode(d.mechanism) }))
  const session = await cluster.bootstrap()
  const res = await session.send(AlterUserScramCredentialsApi, { upsertions, deletions }, 0)
  const failed = res.results.find((r) => r.errorCode !== ErrorCode.NONE)
  if (failed) throw new KafkaProtocolError(failed.errorCode, `AlterUserScramCredentials of ${failed.user}`, failed.errorMessage)
}
