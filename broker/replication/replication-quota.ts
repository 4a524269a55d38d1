// ReplicationQuota: one broker's byte rate for throttled replication, one for its leader side and one
// for its follower side (Kafka's ReplicationQuotaManager, KIP-73). Bytes are counted in
// `windows` samples of `windowMs` each; the rate is their sum over the time they span, and while
// that exceeds the limit the quota is exceeded and throttled partitions sit out. The span is at
// least all samples but the current one, as Kafka's Rate measures it, so a quota that has just
// started does not read a first burst as a huge rate: a new quota lets about limit * (windows - 1)
// bytes through before it holds the rate.
//
// The limit is read on each check, so a changed leader.replication.throttled.rate applies at once
// to what has been counted so far. Single-threaded; `now` is passed in so tests can drive time.

interface Sample {
  start: number
  bytes: number
}

export class ReplicationQuota {
  private readonly samples: Sample[] = []

  constructor(
    /** Bytes per second; Infinity (Kafka's Long.MAX_VALUE) is unthrottled. */
    private readonly limit: () => number,
    private readonly windows: () => number,
    private readonly windowMs: () => number,
  ) {}

  /** Counts `bytes` of throttled replication sent or received at `now`. */
  record(bytes: number, now = Date.now()): void {
    if (bytes <= 0) return
    this.current(now).bytes += bytes
  }

  /** Bytes per second over the samples still in the window. */
  rate(now = Date.now()): number {
    this.expire(now)
    if (this.samples.length === 0) return 0
    let bytes = 0
    for (const s of this.samples) bytes += s.bytes
    const windowMs = this.windowMs()
    const elapsed = Math.max(now - this.samples[0]!.start, (Math.max(1, this.windows()) - 1) * windowMs, windowMs)
    return (bytes * 1000) / elapsed
  }

  /** True while the measured rate is above the limit: throttled partitions are left out. */
  exceeded(now = Date.now()): boolean {
    const limit = this.limit()
    if (!(limit < Number.MAX_SAFE_INTEGER)) return false
    return this.rate(now) > limit
  }

  private current(now: number): Sample {
    this.expire(now)
    const windowMs = this.windowMs()
    const last = this.samples[this.samples.length - 1]
    if (last !== undefined && now < last.start + windowMs) return last
    const s = { start: now, bytes: 0 }
    this.samples.push(s)
    return s
  }

  /** Drops samples that ended more than `windows` window lengths ago. */
  private expire(now: number): void {
    const span = Math.max(1, this.windows()) * this.windowMs()
    while (this.samples.length > 0 && this.samples[0]!.start + span <= now) this.samples.shift()
  }
}
