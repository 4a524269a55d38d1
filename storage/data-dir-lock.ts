// The data directory's lock: one broker per directory, a `.lock` file holding the owner's pid. A
// lock left by a process that no longer runs (kill -9, power loss) is taken over.
import fs from 'node:fs'
import path from 'node:path'
import { DataDirLockedError } from './errors.js'

const LOCK_FILE = '.lock'

/**
 * One broker per data directory: a lock file holding the owner's pid. A lock left by a process that
 * no longer runs (kill -9, power loss) is taken over.
 */
export function acquireDataDirLock(dataDir: string): void {
  const file = path.join(dataDir, LOCK_FILE)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: 'wx' })
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // A full disk: the file exists but holds no pid, so it does not keep another broker out (a
      // start treats a lock without a live owner as stale). Serving beats refusing to start here.
      if (code === 'ENOSPC' || code === 'EDQUOT') return
      if (code !== 'EEXIST') throw err
    }
    const owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10)
    if (Number.isInteger(owner) && owner > 0 && processAlive(owner)) {
      throw new DataDirLockedError(`data directory ${dataDir} is in use by process ${owner}${owner === process.pid ? ' (this process)' : ''}`)
    }
    fs.rmSync(file, { force: true })
  }
  throw new DataDirLockedError(`could not lock data directory ${dataDir}`)
}

export function releaseDataDirLock(dataDir: string): void {
  const file = path.join(dataDir, LOCK_FILE)
  try {
    if (Number.parseInt(fs.readFileSync(file, 'utf8'), 10) === process.pid) fs.rmSync(file, { force: true })
  } catch {
    // already gone
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
