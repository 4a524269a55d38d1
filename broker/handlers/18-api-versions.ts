// ApiVersions (key 18). v1 adds throttle time; v3 is flexible and carries the client's software
// name and version, and the (empty) feature lists. An unknown request version is answered by the
// router with UNSUPPORTED_VERSION in a v0 body. Features are not implemented: none are advertised.
import { ApiVersionsApi, type ApiVersionsResponse } from '../../protocol/generated/api-versions.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

const SOFTWARE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?$/

export default defineHandler({
  api: ApiVersionsApi,
  versions: [0, 4],
  handle(req, ctx): ApiVersionsResponse {
    // KIP-511: v3+ clients must send a valid software name and version (empty is not allowed).
    if (ctx.apiVersion >= 3 && !(SOFTWARE_NAME.test(req.clientSoftwareName) && SOFTWARE_NAME.test(req.clientSoftwareVersion))) {
      return emptyResponse(ErrorCode.INVALID_REQUEST)
    }
    return {
      ...emptyResponse(ErrorCode.NONE),
      apiKeys: ctx.broker.servedApis.map((a) => ({ apiKey: a.apiKey, minVersion: a.minVersion, maxVersion: a.maxVersion })),
    }
  },
})

function emptyResponse(errorCode: number): ApiVersionsResponse {
  return {
    errorCode,
    apiKeys: [],
    throttleTimeMs: 0,
    supportedFeatures: [],
    finalizedFeaturesEpoch: -1,
    finalizedFeatures: [],
    zkMigrationReady: false,
  }
}
