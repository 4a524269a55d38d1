// A connection to one broker with the API versions it negotiated (ApiVersions, KIP-511).
import type { ApiDescriptor } from '../../protocol/types.js'
import { Reader } from '../../protocol/reader.js'
import { ErrorCode } from '../../protocol/errors.js'
import { ApiVersionsApi, decodeApiVersionsResponse, type ApiVersionsResponse } from '../../protocol/generated/api-versions.js'
import type { BrokerConnection } from './connection.js'
import { KafkaProtocolError, UnsupportedApiError } from './errors.js'
import { pickVersion, type VersionRange } from './versions.js'

export interface ClientSoftware {
  clientSoftwareName: string
  clientSoftwareVersion: string
}

export class NodeSession {
  constructor(
    readonly connection: BrokerConnection,
    readonly versions: ReadonlyMap<number, VersionRange>,
  ) {}

  get address(): string {
    return this.connection.address
  }

  /** The newest version both sides speak, at most `cap` (a client that reads only up to it). */
  version(api: ApiDescriptor<unknown, unknown>, cap = Infinity): number {
    const range = this.versions.get(api.apiKey)
    const picked = pickVersion(api, range)
    const version = picked === null ? null : Math.min(picked, cap)
    if (version !== null && version >= (range?.[0] ?? 0)) return version
    if (range === undefined) {
      throw new UnsupportedApiError(this.address, api.apiKey, `the broker at ${this.address} does not support ${api.name} (API key ${api.apiKey})`)
    }
    throw new UnsupportedApiError(
      this.address,
      api.apiKey,
      `the broker at ${this.address} supports ${api.name} v${range[0]}-${range[1]}, this client v${api.minVersion}-${Math.min(api.maxStableVersion, cap)}`,
    )
  }

  send<Req, Res>(api: ApiDescriptor<Req, Res>, body: Req, version = this.version(api)): Promise<Res> {
    return this.connection.request(api, version, body)
  }
}

/**
 * ApiVersions at our newest version. A broker that does not know it answers UNSUPPORTED_VERSION
 * in a v0 body listing the ApiVersions range it does know (KIP-511), so retry once within it.
 */
export async function negotiate(
  connection: BrokerConnection,
  software: ClientSoftware,
): Promise<Map<number, VersionRange>> {
  let version = ApiVersionsApi.maxStableVersion
  for (let attempt = 0; ; attempt++) {
    const frame = await connection.roundTrip(ApiVersionsApi, version, software)
    // The response header of ApiVersions is always v0: just the correlation id.
    const errorCode = new Reader(frame, 4).readInt16()
    const res: ApiVersionsResponse = decodeApiVersionsResponse(new Reader(frame, 4), errorCode === ErrorCode.UNSUPPORTED_VERSION ? 0 : version)
    if (errorCode === ErrorCode.UNSUPPORTED_VERSION && attempt === 0) {
      const own = res.apiKeys.find((k) => k.apiKey === ApiVersionsApi.apiKey)
      version = Math.min(version - 1, own?.maxVersion ?? 0)
      continue
    }
    if (errorCode !== ErrorCode.NONE) throw new KafkaProtocolError(errorCode, `ApiVersions v${version} at ${connection.address}`)
    return new Map(res.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as const]))
  }
}

