// GetTelemetrySubscriptions (key 71, KIP-714). v0 only. Tells a client which metrics to push, how
// often, how large and compressed how; a client that sends the zero instance id gets one. Served
// only with the HTTP endpoint on (its /metrics shows what clients push), so a broker without it
// does not advertise the API and clients push nothing.
import { GetTelemetrySubscriptionsApi, type GetTelemetrySubscriptionsResponse } from '../../protocol/generated/get-telemetry-subscriptions.js'
import { ErrorCode } from '../../protocol/errors.js'
import { defineHandler } from '../handler.js'
import { ACCEPTED_COMPRESSION, ZERO_UUID } from '../telemetry/client-telemetry.js'

export default defineHandler({
  api: GetTelemetrySubscriptionsApi,
  versions: [0, 0],
  handle(req, ctx): GetTelemetrySubscriptionsResponse {
    const t = ctx.broker.telemetry
    if (t === undefined) {
      return { throttleTimeMs: 0, errorCode: ErrorCode.UNSUPPORTED_VERSION, clientInstanceId: ZERO_UUID, subscriptionId: 0, acceptedCompressionTypes: [], pushIntervalMs: 0, telemetryMaxBytes: 0, deltaTemporality: false, requestedMetrics: [] }
    }
    const assigned = t.subscribe(req.clientInstanceId)
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      // Only a newly assigned id is sent back; a client that has one gets the zero id.
      clientInstanceId: assigned === req.clientInstanceId ? ZERO_UUID : assigned,
      subscriptionId: t.subscriptionId,
      acceptedCompressionTypes: [...ACCEPTED_COMPRESSION],
      pushIntervalMs: t.opts.pushIntervalMs,
      telemetryMaxBytes: t.opts.maxBytes,
      deltaTemporality: false,
      // One empty prefix: every metric.
      requestedMetrics: [''],
    }
  },
})
