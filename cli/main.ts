#!/usr/bin/env node
import { run } from './program.js'

const code = await run(process.argv)
// Flush stdout before exiting: kafkajs can leave timers behind that would otherwise keep
// the process alive after the command has finished.
process.stdout.write('', () => process.exit(code))
