// A TCP sink for measuring the loopback ceiling: accepts one connection and discards what it reads.
import net from 'node:net'

const server = net.createServer((s) => {
  s.on('data', () => {})
  s.on('error', () => {})
})
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as net.AddressInfo
  process.stdout.write(`listening on 127.0.0.1:${port}\n`)
})
process.on('SIGTERM', () => process.exit(0))
