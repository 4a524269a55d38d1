// max.connections.per.ip and max.connections.per.ip.overrides: a host at its limit is refused
// further connections while other hosts are still served. 127.0.0.1 and 127.0.0.2 are both
// loopback, so one machine plays two client hosts.
import net from 'node:net'
import kafkajs from 'kafkajs'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { splitAddress } from '../helpers/wire.js'

const brokers: TestBroker[] = []
const sockets: net.Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const b of brokers.splice(0)) await b.stop()
})

/** ApiVersions v0 with correlation id 7 and no client id. */
const API_VERSIONS = Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff])

interface Client {
  socket: net.Socket
  /** True when the broker answers ApiVersions; false when it closes the connection instead. */
  served(): Promise<boolean>
}

async function connectFrom(address: string, localAddress: string): Promise<Client> {
  const [host, port] = splitAddress(address)
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port, localAddress }, () => resolve(s))
    s.once('error', reject)
  })
  socket.on('error', () => {})
  sockets.push(socket)
  return {
    socket,
    served: () =>
      new Promise<boolean>((resolve) => {
        let got = Buffer.alloc(0)
        const timer = setTimeout(() => resolve(false), 3000)
        socket.on('data', (d: Buffer) => {
          got = Buffer.concat([got, d])
          if (got.length >= 8 && got.readInt32BE(4) === 7) {
            clearTimeout(timer)
            resolve(true)
          }
        })
        socket.on('close', () => {
          clearTimeout(timer)
          resolve(false)
        })
        socket.write(API_VERSIONS)
      }),
  }
}

async function served(address: string, from: string, count: number): Promise<boolean[]> {
  const clients: Client[] = []
  for (let i = 0; i < count; i++) clients.push(await connectFrom(address, from))
  return Promise.all(clients.map((c) => c.served()))
}

describe('connection limits per client address', () => {
  it('refuses a host past max.connections.per.ip, honours overrides, and keeps serving other hosts', async () => {
    const tb = await startTestBroker({ 'max.connections.per.ip': '3', 'max.connections.per.ip.overrides': '127.0.0.2:5, 127.0.0.4:0' })
    brokers.push(tb)
    expect(await served(tb.address, '127.0.0.1', 4)).toEqual([true, true, true, false])
    // The noisy host is at its limit; others still get in, each up to its own limit.
    expect(await served(tb.address, '127.0.0.2', 6)).toEqual([true, true, true, true, true, false])
    expect(await served(tb.address, '127.0.0.3', 1)).toEqual([true])
    expect(await served(tb.address, '127.0.0.4', 1)).toEqual([false])
    // A closed connection frees its slot.
    const first = sockets[0]!
    await new Promise<void>((resolve) => {
      first.once('close', () => resolve())
      first.destroy()
    })
    await new Promise((r) => setTimeout(r, 100))
    expect(await served(tb.address, '127.0.0.1', 2)).toEqual([true, false])
  })

  it('applies a dynamic change of max.connections.per.ip to the next connections', async () => {
    const tb = await startTestBroker()
    brokers.push(tb)
    expect(await served(tb.address, '127.0.0.5', 3)).toEqual([true, true, true])
    const admin = new kafkajs.Kafka({ brokers: [tb.address], logLevel: kafkajs.logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: kafkajs.ConfigResourceTypes.BROKER, name: String(tb.broker.nodeId), configEntries: [{ name: 'max.connections.per.ip', value: '4' }] }],
      })
    } finally {
      await admin.disconnect()
    }
    expect(await served(tb.address, '127.0.0.5', 2)).toEqual([true, false])
  })
})
