// Small pieces both HTTP servers share (the broker's endpoint and `samsa console`): answering,
// reading a bounded JSON body, serving the console's static files and its JSON API.
import type http from 'node:http'
import type { Caller } from './console-source.js'
import { HttpError } from './console-source.js'
import type { ConsoleApi } from './console-api.js'
import { consoleAsset } from './console-assets.js'

export const MAX_BODY = 65536

export function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.statusCode = status
  res.setHeader('content-type', type)
  res.setHeader('x-content-type-options', 'nosniff')
  res.end(body)
}

/** A JSON request body, at most 64 KiB; actions must say application/json (no cross-site form posts). */
export async function readJson(req: http.IncomingMessage): Promise<unknown> {
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) throw new HttpError(415, 'send application/json')
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_BODY) throw new HttpError(413, 'request body too large')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large')
    chunks.push(chunk as Buffer)
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown
  } catch {
    throw new HttpError(400, 'request body is not JSON')
  }
}

/** A console file for GET or HEAD of a known path; false when the path is none of them. */
export function sendAsset(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean {
  const asset = req.method === 'GET' || req.method === 'HEAD' ? consoleAsset(path) : undefined
  if (asset === undefined) return false
  res.setHeader('cache-control', 'no-cache')
  res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' data:")
  send(res, 200, asset.type, asset.body)
  return true
}

/** One /api/ request: its JSON answer, or the HttpError's status and message. */
export async function sendApi(api: ConsoleApi, req: http.IncomingMessage, res: http.ServerResponse, url: URL, caller: Caller): Promise<void> {
  try {
    const body = req.method === 'POST' ? await readJson(req) : undefined
    const out = await api.handle(req.method ?? 'GET', url, body, caller)
    send(res, 200, 'application/json', JSON.stringify(out))
  } catch (err) {
    if (!(err instanceof HttpError)) throw err
    // A body refused before it was read leaves the rest unread: close rather than reuse the socket.
    if (err.status === 413) res.setHeader('connection', 'close')
    send(res, err.status, 'application/json', JSON.stringify({ error: err.message }))
  }
}
