// PushTelemetry (key 72, KIP-714). v0 only. A client's metrics as OpenTelemetry MetricsData,
// possibly compressed, stored for the metrics endpoint under the client's id. Errors as Kafka's:
// UNKNOWN_SUBSCRIPTION_ID for a subscription that changed (the client fetches it again),
// TELEMETRY_TOO_LARGE, UNSUPPORTED_COMPRESSION_TYPE, INVALID_RECORD for a payload that does not
// decode, INVALID_REQUEST for the zero instance id. Not yet: throttling pushes that come early.
import { PushTelemetryApi, type PushTelemetryResponse } from '../../protocol/generated/push-telemetry.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'

export default defineHandler({
  api: PushTelemetryApi,
  versions: [0, 0],
  handle(req, ctx): PushTelemetryResponse {
    const t = ctx.broker.telemetry
    if (t === undefined) return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION }
    const errorCode = t.push({
      clientInstanceId: req.clientInstanceId,
      subscriptionId: req.subscriptionId,
      clientId: ctx.clientId ?? '',
      terminating: req.terminating,
      compressionType: req.compressionType,
      metrics: req.metrics,
    })
    if (errorCode !== ErrorCode.NONE) ctx.broker.logger.debug({ client: ctx.clientHost, clientId: ctx.clientId, errorCode }, 'PushTelemetry refused')
    return { throttleTimeMs: 0, errorCode }
  },
})
