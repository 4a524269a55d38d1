// SCRAM credentials written straight into a data directory while no broker runs on it, so the
// first users exist before the broker is reachable (`samsa users add --data-dir`). The data
// directory's lock keeps a running broker and this apart.
import fs from 'node:fs'
import path from 'node:path'
import { acquireDataDirLock, releaseDataDirLock } from '../../storage/data-dir-lock.js'
import { METADATA_DIR } from '../../storage/log-manager.js'
import { MetadataStore } from '../../storage/metadata-store.js'
import { LocalAdminState } from '../../storage/admin-state.js'
import { ScramCredentialStore } from './scram-credentials.js'

export async function withOfflineCredentials<T>(dataDir: string, fn: (store: ScramCredentialStore) => Promise<T>): Promise<T> {
  fs.mkdirSync(dataDir, { recursive: true })
  acquireDataDirLock(dataDir)
  try {
    const metadata = MetadataStore.open(path.join(dataDir, METADATA_DIR))
    try {
      return await fn(new ScramCredentialStore(new LocalAdminState(metadata)))
    } finally {
      await metadata.close()
    }
  } finally {
    releaseDataDirLock(dataDir)
  }
}
