// Time and duration parsing for options such as --from-time and --to-datetime.

import { usageError } from './errors.js'

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
}

const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y

/** Parses `1500`, `1500ms`, `30s`, `1h30m`, `2d` into milliseconds. Throws on anything else. */
export function parseDuration(text: string): number {
  const input = text.trim()
  if (/^\d+$/.test(input)) return Number(input)
  let total = 0
  let pos = 0
  DURATION_PART.lastIndex = 0
  while (pos < input.length) {
    DURATION_PART.lastIndex = pos
    const m = DURATION_PART.exec(input)
    if (m === null) throw usageError(`invalid duration '${text}' (examples: 500ms, 30s, 15m, 1h30m, 7d)`)
    total += Number(m[1]) * UNIT_MS[m[2]]
    pos = DURATION_PART.lastIndex
  }
  if (input.length === 0) throw usageError('empty duration')
  return Math.round(total)
}

/**
 * Parses a point in time into epoch milliseconds:
 * ISO-8601 (`2024-05-01T12:00:00Z`, `2024-05-01`), epoch milliseconds (`1714564800000`),
 * `now`, or a duration relative to now: `-15m` (15 minutes ago), `+1h`, and a bare `15m`
 * also meaning 15 minutes ago since replaying from the future is never what is meant.
 */
export function parseTimestamp(text: string, now: number = Date.now()): number {
  const input = text.trim()
  if (input === 'now') return now
  if (/^\d{10,}$/.test(input)) return Number(input)
  const relative = /^([+-]?)(.+)$/.exec(input)
  if (relative !== null && /^(\d+(?:\.\d+)?(ms|s|m|h|d|w))+$/.test(relative[2])) {
    const delta = parseDuration(relative[2])
    return relative[1] === '+' ? now + delta : now - delta
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(input)) {
    const ms = Date.parse(input)
    if (!Number.isNaN(ms)) return ms
  }
  throw usageError(`invalid time '${text}' (examples: 2024-05-01T12:00:00Z, -15m, -2h, 1714564800000, now)`)
}
