// Data directories written before share-partition state moved to __share_group_state kept it in
// the broker's lmdb metadata store (shareStateKey -> ShareStateRecord). A single broker moves it
// once, at start, before it serves: every state is written to its share coordinator's partition
// (the state partitions in parallel, one batch each), then removed from lmdb. A start interrupted
// half-way writes it all again next time, which changes nothing.
import type { Logger } from 'pino'
import type { MetadataStore, ShareStateRecord } from '../../storage/metadata-store.js'
import { parseShareStateKey } from '../../storage/metadata-keys.js'
import { KafkaError } from '../errors.js'
import { shareCoordinatorKey, type ShareStateCoordinator } from './share-state.js'
import { ErrorCode, errorName } from '../../protocol/errors.js'

export function hasLegacyShareStates(store: MetadataStore): boolean {
  return store.listShareStates().length > 0
}

export async function migrateLegacyShareStates(from: MetadataStore, to: ShareStateCoordinator, logger: Logger): Promise<number> {
  const states = from.listShareStates()
  const changes = states.map(({ key, value }) => {
    const k = parseShareStateKey(key)
    return { key: shareCoordinatorKey(k.group, k.topicId, k.partition), state: value }
  })
  for (const [key, code] of await to.write(changes)) {
    if (code !== ErrorCode.NONE) throw new KafkaError(code, `moving the share state of ${key} to __share_group_state failed (${errorName(code)})`)
  }
  await from.writeShareStates(new Map<string, ShareStateRecord | null>(states.map(({ key }) => [key, null])))
  logger.info({ sharePartitions: states.length }, 'moved share-partition state from the metadata store to __share_group_state')
  return states.length
}
