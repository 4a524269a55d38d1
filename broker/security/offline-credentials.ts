// SCRAM credentials written straight into a data directory while no broker runs on it, so the
// first users exist before the broker is reachable (`samsa users add --data-dir`). The data
// directory's lock keeps a running broker and this apart. A directory that has joined a cluster
// is refused: its users live in etcd, and what was written here would never be read.
import fs from 'node:fs'
import path from 'node:path'
import { acquireDataDirLock, releaseDataDirLock } from '../../storage/data-dir-lock.js'
import { METADATA_DIR } from '../../storage/log-manager.js'
import { ADMIN_STATE_ADOPTED_KEY } from '../../storage/metadata-keys.js'
import { MetadataStore } from '../../storage/metadata-store.js'
import { LocalAdminState } from '../../storage/admin-state.js'
import { ScramCredentialStore } from './scram-credentials.js'

export class ClusterDataDirError extends Error {
  override name = 'ClusterDataDirError'
}

export async function withOfflineCredentials<T>(dataDir: string, fn: (store: ScramCredentialStore) => Promise<T>): Promise<T> {
  fs.mkdirSync(dataDir, { recursive: true })
  acquireDataDirLock(dataDir)
  try {
    const metadata = MetadataStore.open(path.join(dataDir, METADATA_DIR))
    try {
      const cluster = metadata.get<string>(ADMIN_STATE_ADOPTED_KEY)
      if (cluster !== undefined) {
        throw new ClusterDataDirError(`data directory ${dataDir} belongs to the cluster at etcd prefix ${cluster}, whose users live in etcd`)
      }
      return await fn(new ScramCredentialStore(new LocalAdminState(metadata)))
    } finally {
      await metadata.close()
    }
  } finally {
    releaseDataDirLock(dataDir)
  }
}
