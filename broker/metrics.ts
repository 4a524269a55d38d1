// What the request paths report to the metrics endpoint: a few counters and timings, pushed as
// they happen. The interface keeps the hot path free of the metrics library (broker/http/
// prometheus.ts implements it); without an HTTP endpoint the broker runs with NO_METRICS, whose
// calls do nothing. Gauges (log sizes, offsets, lag, connections) are not reported here: the
// endpoint reads them from the broker when it is scraped.
import type { FileIO } from '../storage/file-io.js'

export interface BrokerMetrics {
  /** False for NO_METRICS, so a caller can skip work whose only use is a report. */
  readonly enabled: boolean
  /** A request answered: its API key and version, and milliseconds from arrival to response written. */
  requestDone(apiKey: number, apiVersion: number, ms: number): void
  /** Records appended to a topic by a Produce request: how many, and their bytes. */
  messagesIn(topic: string, messages: number, bytes: number): void
  /** Record bytes a Fetch response carries for a topic. */
  bytesOut(topic: string, bytes: number): void
  /** A Produce with acks=all starts (+1) or stops (-1) waiting for its fsync. */
  produceWaiting(delta: number): void
  /** A log fsync or fdatasync took `ms` milliseconds. */
  flushDone(ms: number): void
  /** A SASL login on `listener` succeeded or failed. */
  authentication(listener: string, ok: boolean): void
}

export const NO_METRICS: BrokerMetrics = {
  enabled: false,
  requestDone() {},
  messagesIn() {},
  bytesOut() {},
  produceWaiting() {},
  flushDone() {},
  authentication() {},
}

/** `io` with every fsync and fdatasync timed into `metrics` (Kafka's LogFlushStats). */
export function timedFileIO(io: FileIO, metrics: BrokerMetrics): FileIO {
  const timed =
    (sync: (fd: number) => Promise<void>) =>
    async (fd: number): Promise<void> => {
      const start = performance.now()
      try {
        await sync(fd)
      } finally {
        metrics.flushDone(performance.now() - start)
      }
    }
  // Everything else is the wrapped object's own (a class instance's methods live on its prototype).
  return Object.assign(Object.create(io) as FileIO, { fsync: timed((fd) => io.fsync(fd)), fdatasync: timed((fd) => io.fdatasync(fd)) })
}
