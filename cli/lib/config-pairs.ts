// `k=v` option values. A comma separates pairs only when every piece is itself a pair, so
// list-valued configs such as `cleanup.policy=compact,delete` survive intact.

import { usageError } from './errors.js'

export function splitPairs(text: string): string[] {
  const pieces = text.split(',')
  return pieces.length > 1 && pieces.every((p) => p.includes('=')) ? pieces : [text]
}

export function parsePair(text: string): [string, string] {
  const eq = text.indexOf('=')
  if (eq <= 0) throw usageError(`expected key=value, got '${text}'`)
  return [text.slice(0, eq).trim(), text.slice(eq + 1)]
}

/** Commander collector for repeatable `--config k=v` options. */
export function collectPairs(value: string, previous: [string, string][] = []): [string, string][] {
  return [...previous, ...splitPairs(value).map(parsePair)]
}

/** Commander collector for repeatable plain values, also split on commas. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== ''),
  ]
}
