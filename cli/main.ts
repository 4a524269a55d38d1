#!/usr/bin/env node
import { reexecForServe } from './node-flags.js'

// Before anything heavy is loaded: `serve` may replace this process with one that has its flags.
reexecForServe(process.argv)
const { run } = await import('./program.js')
const code = await run(process.argv)
// Flush stdout before exiting: a connection or timer left behind by a failed command would
// otherwise keep the process alive after the command has finished.
process.stdout.write('', () => process.exit(code))
