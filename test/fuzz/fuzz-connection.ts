// Runs one fuzz connection plan against the broker over a real socket.
import net from 'node:net'
import type { ConnectionPlan } from './plan.js'
import type { Rng } from './rng.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** How long a connection waits for more response bytes before giving up on the rest. */
const IDLE_MS = 250
/** Hard cap on one connection's life. */
const MAX_LIFE_MS = 3000

export interface ConnectionOutcome {
  responses: number
  closedByBroker: boolean
}

export async function runConnection(host: string, port: number, plan: ConnectionPlan, rng: Rng): Promise<ConnectionOutcome> {
  const socket = net.connect({ host, port })
  socket.setNoDelay(true)
  let closed = false
  let responses = 0
  let buffered: Buffer = Buffer.alloc(0)
  let lastData = Date.now()
  socket.on('error', () => {})
  const closedPromise = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closed = true
      resolve()
    }),
  )
  const connected = await Promise.race([
    new Promise<boolean>((resolve) => socket.once('connect', () => resolve(true))),
    closedPromise.then(() => false),
  ])
  if (!connected) return { responses, closedByBroker: true }
  const born = Date.now()
  try {
    if (plan.mode === 'no-read') {
      socket.pause()
      socket.write(Buffer.concat(plan.frames))
      await Promise.race([sleep(rng.range(200, 1000)), closedPromise])
      return { responses, closedByBroker: closed }
    }
    socket.on('data', (chunk: Buffer) => {
      lastData = Date.now()
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      while (buffered.length >= 4) {
        const size = buffered.readInt32BE(0)
        if (buffered.length < 4 + size) break
        buffered = buffered.subarray(4 + size)
        responses++
      }
    })
    const all = Buffer.concat(plan.frames)
    if (plan.mode === 'trickle') {
      for (let p = 0; p < all.length && !closed; ) {
        const n = rng.range(1, 64)
        socket.write(all.subarray(p, p + n))
        p += n
        await sleep(rng.int(3))
      }
    } else {
      socket.write(all)
    }
    lastData = Date.now()
    while (!closed && responses < plan.frames.length && Date.now() - lastData < IDLE_MS && Date.now() - born < MAX_LIFE_MS) {
      await Promise.race([sleep(25), closedPromise])
    }
    return { responses, closedByBroker: closed }
  } finally {
    socket.destroy()
  }
}
