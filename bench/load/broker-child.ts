// Runs a broker in its own process for load tests, so the load generator never shares its event
// loop. Prints `listening on HOST:PORT`; stops cleanly on SIGTERM.
import { startBroker } from '../../broker/index.js'

const dataDir = process.argv[2]
const broker = await startBroker({ port: 0, dataDir, logLevel: 'warn' })
process.stdout.write(`listening on ${broker.address}\n`)
const stop = () => void broker.stop().then(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
