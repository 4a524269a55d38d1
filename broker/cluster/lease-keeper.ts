// A broker's etcd lease, kept alive for as long as etcd holds it. etcd3's own Lease gives a lease
// up by itself once it has gone unrenewed for twice its TTL, although etcd may still hold it: etcd
// extends every lease when it restarts or elects a new leader, so a broker whose etcd was down
// for a minute still has its registration when etcd returns. Here a lease is lost only when etcd
// says so (a keep-alive answered with TTL 0); until then the keeper keeps trying, every third of
// the TTL, on one keep-alive stream it opens again whenever it fails or stays silent for a TTL.
import type { IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse, Namespace } from 'etcd3'

export interface LeaseEvents {
  /** etcd renewed the lease. */
  renewed(): void
  /** etcd no longer holds the lease (it expired or was revoked): every key under it is gone. */
  lost(): void
}

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined
  private stream: KeepAliveStream | undefined
  /** When the stream being opened was asked for (0: none is); one that takes over a TTL is given up. */
  private openingSince = 0
  /** When the current stream last answered (or was opened). */
  private lastAnswer = 0
  private ended = false

  private constructor(
    private readonly ns: Namespace,
    readonly id: string,
    private readonly ttlSeconds: number,
    private readonly events: LeaseEvents,
  ) {}

  /** Grants a lease of `ttlSeconds` and keeps it alive from then on. */
  static async grant(ns: Namespace, ttlSeconds: number, events: LeaseEvents): Promise<LeaseKeeper> {
    const res = await ns.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 })
    const keeper = new LeaseKeeper(ns, res.ID, ttlSeconds, events)
    keeper.timer = setInterval(() => keeper.keepAlive(), (ttlSeconds * 1000) / 3)
    keeper.timer.unref()
    return keeper
  }

  /** Stops renewing; the lease runs out in etcd after its TTL. */
  close(): void {
    if (this.ended) return
    this.ended = true
    clearInterval(this.timer)
    this.stream?.end()
    this.stream = undefined
  }

  /** Stops renewing and ends the lease in etcd at once (its keys go with it). */
  async revoke(): Promise<void> {
    this.close()
    await this.ns.leaseClient.leaseRevoke({ ID: this.id })
  }

  private keepAlive(): void {
    if (this.ended) return
    if (this.stream !== undefined && Date.now() - this.lastAnswer > this.ttlSeconds * 1000) this.drop(this.stream)
    if (this.stream !== undefined) {
      try {
        this.stream.write({ ID: this.id })
      } catch {
        this.drop(this.stream)
      }
      return
    }
    const now = Date.now()
    if (this.openingSince !== 0 && now - this.openingSince <= this.ttlSeconds * 1000) return
    const since = now
    this.openingSince = since
    this.ns.leaseClient.leaseKeepAlive().then(
      (stream) => {
        if (this.openingSince !== since || this.ended) {
          // Given up on meanwhile (or the keeper closed): another attempt owns the lease's stream.
          stream.on('error', () => {})
          stream.end()
          return
        }
        this.openingSince = 0
        this.stream = stream
        this.lastAnswer = Date.now()
        stream.on('data', (res: ILeaseKeepAliveResponse) => this.onAnswer(stream, res))
        stream.on('error', () => this.drop(stream))
        stream.on('end', () => this.drop(stream))
        stream.write({ ID: this.id })
      },
      () => {
        // etcd unreachable: the next tick tries again.
        if (this.openingSince === since) this.openingSince = 0
      },
    )
  }

  private onAnswer(stream: KeepAliveStream, res: ILeaseKeepAliveResponse): void {
    if (this.ended || stream !== this.stream) return
    this.lastAnswer = Date.now()
    if (Number(res.TTL) <= 0) {
      this.close()
      this.events.lost()
      return
    }
    this.events.renewed()
  }

  private drop(stream: KeepAliveStream): void {
    if (stream !== this.stream) return
    this.stream = undefined
    stream.end()
  }
}
