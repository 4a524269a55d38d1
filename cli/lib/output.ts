// stdout carries data only; everything for people (progress, summaries, errors) goes to
// stderr. Writes respect backpressure so `samsa consume | slow-reader` does not buffer
// without bound, and a closed pipe (`| head`) ends the process quietly.

import { once } from 'node:events'

let pipeClosed = false

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') {
    pipeClosed = true
    process.exit(0)
  }
  throw err
})

export function isPipeClosed(): boolean {
  return pipeClosed
}

export async function writeOut(chunk: string | Buffer): Promise<void> {
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain')
}

export function info(line: string): void {
  process.stderr.write(line + '\n')
}
