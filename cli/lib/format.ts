// Renders consumed records for stdout. Values stay Buffers end to end so `--format value`
// reproduces the produced bytes exactly, whatever their encoding.

import { usageError } from './errors.js'

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined

export interface RecordView {
  topic: string
  partition: number
  offset: string
  timestamp: string
  key: Buffer | null
  value: Buffer | null
  headers?: Record<string, HeaderValue>
}

/** Appends the rendering of one record (without a trailing newline) to `out`. */
export type RecordFormatter = (record: RecordView, out: (Buffer | string)[]) => void

const NULL_TEXT = 'null'

function headerText(headers: Record<string, HeaderValue> | undefined): string {
  if (headers === undefined) return ''
  const parts: string[] = []
  for (const name of Object.keys(headers)) {
    const value = headers[name]
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${name}=${v.toString()}`)
  }
  return parts.join(',')
}

function headerObject(headers: Record<string, HeaderValue> | undefined): Record<string, string | string[]> {
  const obj: Record<string, string | string[]> = {}
  if (headers === undefined) return obj
  for (const name of Object.keys(headers)) {
    const value = headers[name]
    if (value === undefined) continue
    obj[name] = Array.isArray(value) ? value.map((v) => v.toString()) : value.toString()
  }
  return obj
}

export function recordToJson(r: RecordView): string {
  return JSON.stringify({
    topic: r.topic,
    partition: r.partition,
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    key: r.key === null ? null : r.key.toString(),
    value: r.value === null ? null : r.value.toString(),
    headers: headerObject(r.headers),
  })
}

type Part = string | ((r: RecordView, out: (Buffer | string)[]) => void)

const PLACEHOLDERS: Record<string, (r: RecordView, out: (Buffer | string)[]) => void> = {
  // Letters follow kcat's -f format, so templates carry over: %t topic, %T timestamp, %s value.
  t: (r, out) => out.push(r.topic),
  T: (r, out) => out.push(r.timestamp),
  p: (r, out) => out.push(String(r.partition)),
  o: (r, out) => out.push(r.offset),
  k: (r, out) => out.push(r.key ?? NULL_TEXT),
  v: (r, out) => out.push(r.value ?? NULL_TEXT),
  s: (r, out) => out.push(r.value ?? NULL_TEXT),
  h: (r, out) => out.push(headerText(r.headers)),
  K: (r, out) => out.push(String(r.key?.length ?? -1)),
  S: (r, out) => out.push(String(r.value?.length ?? -1)),
  '%': (_r, out) => out.push('%'),
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '0': '\0' }

/**
 * Compiles a template once so rendering a record is a walk over a few closures.
 * %k key, %v value, %p partition, %o offset, %t topic, %T timestamp (ms), %s value, %h headers (k=v,...),
 * %K key length, %S value length, %% percent; \n \t \r \\ escapes.
 */
export function compileTemplate(template: string): RecordFormatter {
  const parts: Part[] = []
  let literal = ''
  for (let i = 0; i < template.length; i++) {
    const ch = template[i]
    if ((ch === '%' || ch === '\\') && i + 1 < template.length) {
      const next = template[i + 1]
      if (ch === '%' && next in PLACEHOLDERS) {
        if (next === '%') {
          literal += '%'
        } else {
          if (literal !== '') parts.push(literal)
          literal = ''
          parts.push(PLACEHOLDERS[next])
        }
        i++
        continue
      }
      if (ch === '\\' && next in ESCAPES) {
        literal += ESCAPES[next]
        i++
        continue
      }
      if (ch === '%') throw usageError(`unknown placeholder '%${next}' in format (use %t %p %o %T %k %v %s %h %K %S %%)`)
    }
    literal += ch
  }
  if (literal !== '') parts.push(literal)
  return (record, out) => {
    for (const part of parts) {
      if (typeof part === 'string') out.push(part)
      else part(record, out)
    }
  }
}

/** `value`, `json`, or a template such as `%p:%o %k=%v`. */
export function createFormatter(format: string): RecordFormatter {
  if (format === 'value') return (r, out) => out.push(r.value ?? NULL_TEXT)
  if (format === 'json') return (r, out) => out.push(recordToJson(r))
  if (format === 'key-value') return (r, out) => out.push(r.key ?? NULL_TEXT, '\t', r.value ?? NULL_TEXT)
  if (!format.includes('%')) throw usageError(`unknown format '${format}' (value, json, key-value, or a template like '%p:%o %k=%v')`)
  return compileTemplate(format)
}

/** Repeated header names collect into an array, as kafkajs presents them. */
export function headerMap(headers: readonly { key: string; value: Buffer | null }[]): Record<string, HeaderValue> {
  const map: Record<string, HeaderValue> = {}
  for (const h of headers) {
    const v = h.value ?? Buffer.alloc(0)
    const prev = map[h.key]
    map[h.key] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return map
}
