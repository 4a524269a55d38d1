import { describe, expect, it } from 'vitest'
import { parseDuration, parseTimestamp } from '../../cli/lib/time.js'
import { CliError } from '../../cli/lib/errors.js'

describe('parseDuration', () => {
  it('reads plain milliseconds and unit suffixes', () => {
    expect(parseDuration('1500')).toBe(1500)
    expect(parseDuration('250ms')).toBe(250)
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('15m')).toBe(900_000)
    expect(parseDuration('2h')).toBe(7_200_000)
    expect(parseDuration('1d')).toBe(86_400_000)
    expect(parseDuration('1w')).toBe(604_800_000)
  })

  it('adds compound durations', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000)
    expect(parseDuration('1m30s500ms')).toBe(90_500)
    expect(parseDuration('1.5s')).toBe(1500)
  })

  it('rejects junk with a usage error', () => {
    for (const bad of ['', 'abc', '10x', '5 m', 'm5', '-5m']) {
      expect(() => parseDuration(bad), bad).toThrow(CliError)
    }
  })
})

describe('parseTimestamp', () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0)

  it('reads relative times as offsets from now', () => {
    expect(parseTimestamp('-15m', now)).toBe(now - 900_000)
    expect(parseTimestamp('-2h', now)).toBe(now - 7_200_000)
    expect(parseTimestamp('15m', now)).toBe(now - 900_000)
    expect(parseTimestamp('+1h', now)).toBe(now + 3_600_000)
    expect(parseTimestamp('-1d12h', now)).toBe(now - 129_600_000)
    expect(parseTimestamp('now', now)).toBe(now)
  })

  it('reads ISO-8601 in UTC and with offsets', () => {
    expect(parseTimestamp('2024-05-01T12:00:00Z', now)).toBe(now)
    expect(parseTimestamp('2024-05-01T12:00:00.250Z', now)).toBe(now + 250)
    expect(parseTimestamp('2024-05-01T14:00:00+02:00', now)).toBe(now)
    expect(parseTimestamp('2024-05-01', now)).toBe(Date.UTC(2024, 4, 1))
  })

  it('reads epoch milliseconds', () => {
    expect(parseTimestamp('1714564800000', now)).toBe(1714564800000)
  })

  it('rejects anything else', () => {
    for (const bad of ['yesterday', '2024-13-45T99:00:00Z', '12', '-', '-15x', '']) {
      expect(() => parseTimestamp(bad, now), bad).toThrow(/invalid time/)
    }
  })
})
