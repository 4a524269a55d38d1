// Kafka's per-address connection limits: max.connections.per.ip, and max.connections.per.ip.overrides
// ("host:count,host:count", hosts as addresses or names), so that one noisy host cannot take every
// slot max.connections allows and lock the others out. Both are read on every accept, so dynamic
// changes apply to the next connection; connections already open are left alone, as in Kafka.
import dns from 'node:dns'
import net from 'node:net'
import type { Logger } from 'pino'

export interface ConnectionQuotaSettings {
  maxConnectionsPerIp: () => number
  /** Kafka's format: comma-separated `host:count` entries. */
  maxConnectionsPerIpOverrides: () => string
}

export class ConnectionQuotas {
  private readonly counts = new Map<string, number>()
  /** The overrides text last parsed, and what it gave (host names resolve in the background). */
  private overridesText = ''
  private overrides = new Map<string, number>()

  constructor(
    private readonly settings: ConnectionQuotaSettings,
    private readonly logger: Logger,
  ) {}

  /** Counts a connection from `address`; false, counting nothing, when the address is at its limit. */
  tryAdd(address: string): boolean {
    const key = normalize(address)
    const open = this.counts.get(key) ?? 0
    if (open >= this.limitFor(key)) return false
    this.counts.set(key, open + 1)
    return true
  }

  remove(address: string): void {
    const key = normalize(address)
    const open = this.counts.get(key) ?? 0
    if (open <= 1) this.counts.delete(key)
    else this.counts.set(key, open - 1)
  }

  limitFor(address: string): number {
    const text = this.settings.maxConnectionsPerIpOverrides()
    if (text !== this.overridesText) this.parseOverrides(text)
    return this.overrides.get(normalize(address)) ?? this.settings.maxConnectionsPerIp()
  }

  private parseOverrides(text: string): void {
    this.overridesText = text
    const overrides = new Map<string, number>()
    this.overrides = overrides
    for (const entry of text.split(',')) {
      const e = entry.trim()
      if (e === '') continue
      const colon = e.lastIndexOf(':')
      const host = e.slice(0, colon).trim()
      const count = Number(e.slice(colon + 1).trim())
      if (colon <= 0 || !Number.isInteger(count) || count < 0) {
        this.logger.warn({ entry: e }, 'ignoring max.connections.per.ip.overrides entry that is not host:count')
        continue
      }
      if (net.isIP(host) !== 0) {
        overrides.set(normalize(host), count)
        continue
      }
      dns.lookup(host, { all: true }, (err, addresses) => {
        // A newer text has replaced this one meanwhile: its own lookups fill its own map.
        if (this.overrides !== overrides) return
        if (err) {
          this.logger.warn({ host, err: err.message }, 'cannot resolve host in max.connections.per.ip.overrides')
          return
        }
        for (const a of addresses) overrides.set(normalize(a.address), count)
      })
    }
  }
}

/** IPv4 clients of a dual-stack listener appear as ::ffff:a.b.c.d; Kafka counts them as a.b.c.d. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address
}
