// Polling and stream-watching primitives for tests that wait on another process or on the broker.
import type { Readable } from 'node:stream'

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Resolves with the first truthy value of `probe`, retrying until `timeoutMs` passes. */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v) return v as NonNullable<T>
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`)
    }
    await sleep(intervalMs)
  }
}

/**
 * Resolves with the match of the first line of `stream` matching `pattern`. Rejects when the
 * stream ends first or after `timeoutMs`; the error carries the text seen so far.
 */
export function waitForLine(stream: Readable, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = ''
    let partial = ''
    const finish = (err: Error | null, m?: RegExpMatchArray) => {
      clearTimeout(timer)
      stream.off('data', onData)
      stream.off('end', onEnd)
      if (err) reject(err)
      else resolve(m!)
    }
    const onData = (chunk: Buffer | string) => {
      const text = partial + chunk.toString()
      seen += chunk.toString()
      const lines = text.split('\n')
      partial = lines.pop() ?? ''
      for (const line of lines) {
        const m = line.match(pattern)
        if (m) return finish(null, m)
      }
    }
    const onEnd = () => finish(new Error(`stream ended before a line matched ${pattern}; output:\n${seen}`))
    const timer = setTimeout(
      () => finish(new Error(`no line matched ${pattern} within ${timeoutMs} ms; output:\n${seen}`)),
      timeoutMs,
    )
    stream.on('data', onData)
    stream.on('end', onEnd)
  })
}
