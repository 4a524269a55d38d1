// A progress line on stderr for long produce runs. Only on a TTY: in pipes and CI logs the
// redraws would be noise, and the final summary says everything anyway.

import { createRequire } from 'node:module'
import type CliProgress from 'cli-progress'

export interface ProgressState {
  records: number
  bytes: number
}

export interface Progress {
  update(state: ProgressState): void
  stop(): void
}

const noop: Progress = { update() {}, stop() {} }

export function createProgress(totalBytes: number | null, enabled: boolean = process.stderr.isTTY === true): Progress {
  if (!enabled) return noop
  const started = performance.now()
  const format =
    totalBytes !== null
      ? '{bar} {percentage}% | {records} records | {rate} rec/s | {mib} MiB | eta {eta_formatted}'
      : '{records} records | {rate} rec/s | {mib} MiB'
  // Loaded only when a bar is drawn (CommonJS, so require() keeps this synchronous): every other
  // run of the CLI would pay for it at start-up.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress
  const bar = new cliProgress.SingleBar(
    { format, stream: process.stderr, fps: 5, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  )
  const payload = (s: ProgressState) => {
    const seconds = Math.max((performance.now() - started) / 1000, 0.001)
    return { records: s.records, rate: Math.round(s.records / seconds), mib: (s.bytes / 1048576).toFixed(1) }
  }
  bar.start(totalBytes ?? 0, 0, payload({ records: 0, bytes: 0 }))
  return {
    update(s) {
      bar.update(totalBytes !== null ? Math.min(s.bytes, totalBytes) : 0, payload(s))
    },
    stop() {
      bar.stop()
    },
  }
}
