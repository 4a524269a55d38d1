// One negotiated connection per broker address, shared by every request a client sends there.
// Connections are opened on first use; the bootstrap list is tried in order until a broker
// answers. A connection that fails to open is not cached, so the next use tries again.
import { BrokerConnection, type ConnectOptions } from './connection.js'
import { BrokerConnectionError, BrokerUnreachableError } from './errors.js'
import { negotiate, NodeSession, type ClientSoftware } from './node-session.js'

export class NodePool {
  private readonly sessions = new Map<string, Promise<NodeSession>>()
  private bootstrapAddress: string | null = null
  private closed = false

  constructor(
    private readonly bootstrapList: readonly string[],
    private readonly connectOptions: ConnectOptions,
    private readonly software: ClientSoftware,
  ) {}

  /** The session of the first reachable bootstrap broker (remembered once found). */
  async bootstrap(): Promise<NodeSession> {
    if (this.bootstrapAddress !== null) return this.session(this.bootstrapAddress)
    if (this.bootstrapList.length === 0) throw new Error('no bootstrap broker given')
    let firstError: unknown
    for (const address of this.bootstrapList) {
      try {
        const session = await this.session(address)
        this.bootstrapAddress = address
        return session
      } catch (err) {
        firstError ??= err
        if (!(err instanceof BrokerUnreachableError)) throw err
      }
    }
    throw firstError
  }

  session(address: string): Promise<NodeSession> {
    if (this.closed) return Promise.reject(new BrokerConnectionError(address, 'the client is closed'))
    let s = this.sessions.get(address)
    if (s === undefined) {
      s = BrokerConnection.connect(address, this.connectOptions).then(async (connection) => {
        try {
          return new NodeSession(connection, await negotiate(connection, this.software))
        } catch (err) {
          connection.close()
          throw err
        }
      })
      const pending = s
      pending.catch(() => {
        if (this.sessions.get(address) === pending) this.sessions.delete(address)
      })
      this.sessions.set(address, pending)
    }
    return s
  }

  /** Closes and forgets the connection to `address` (a broker that moved or failed). */
  drop(address: string): void {
    const s = this.sessions.get(address)
    this.sessions.delete(address)
    if (address === this.bootstrapAddress) this.bootstrapAddress = null
    s?.then((x) => x.connection.close()).catch(() => {})
  }

  async close(): Promise<void> {
    this.closed = true
    const sessions = [...this.sessions.values()]
    this.sessions.clear()
    for (const s of sessions) {
      try {
        ;(await s).connection.close()
      } catch {
        // A connection that never opened has nothing to close.
      }
    }
  }
}
