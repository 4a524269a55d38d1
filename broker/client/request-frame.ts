// A request as it goes on the wire (int32 size, the generated request header, the body), and
// its response frame (after the size: the response header, the body) decoded back.
import type { ApiDescriptor } from '../../protocol/types.js'
import { Reader } from '../../protocol/reader.js'
import { Writer } from '../../protocol/writer.js'
import { decodeResponseHeader, encodeRequestHeader, requestHeaderVersion, responseHeaderVersion } from '../../protocol/generated/index.js'

/** Byte offset of the correlation id in a framed request (after size, api key and version). */
export const CORRELATION_ID_OFFSET = 8

/** Encodes a whole request frame; callers that resend one frame many times encode it once. */
export function encodeRequestFrame<Req>(api: ApiDescriptor<Req, unknown>, version: number, body: Req, correlationId: number, clientId: string | null): Buffer {
  return encodeFrame(api.apiKey, version, (w) => api.encodeRequest(w, version, body), correlationId, clientId)
}

/** A frame whose body the caller writes: for bytes no codec would produce (tests of hostile input). */
export function encodeFrame(apiKey: number, version: number, encodeBody: (w: Writer) => void, correlationId: number, clientId: string | null): Buffer {
  const w = new Writer(1024)
  const size = w.reserveInt32()
  encodeRequestHeader(w, requestHeaderVersion(apiKey, version), {
    requestApiKey: apiKey,
    requestApiVersion: version,
    correlationId,
    clientId,
  })
  encodeBody(w)
  w.patchInt32(size, w.length - 4)
  return w.toBuffer()
}

/**
 * Decodes a response frame (correlation id first) of `api` at `version`. The body's byte fields
 * are views of `frame`. A frame that does not decode reports why in `error`.
 */
export function decodeResponseFrame<Res>(api: ApiDescriptor<unknown, Res>, version: number, frame: Buffer): { correlationId: number; body: Res; error: string | null } {
  const r = new Reader(frame)
  const header = decodeResponseHeader(r, responseHeaderVersion(api.apiKey, version))
  const body = api.decodeResponse(r, version)
  return { correlationId: header.correlationId, body, error: r.bad ? (r.error ?? 'malformed') : null }
}
