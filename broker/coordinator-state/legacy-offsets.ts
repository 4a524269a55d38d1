// Data directories written before committed offsets moved to __consumer_offsets kept them in the
// broker's lmdb metadata store (with the offsets of unfinished transactions under one key). A
// single broker moves them once, at start, before it serves: each group's offsets are written to
// the group's partition, then removed from lmdb. A start interrupted half-way writes the rest next
// time (writing an offset again changes nothing). A broker of a cluster leaves them where they are
// and says so: the groups' partitions may be led elsewhere.
import type { Logger } from 'pino'
import { pendingTxnOffsetsKey } from '../../storage/metadata-keys.js'
import type { MetadataStore } from '../../storage/metadata-store.js'
import { parseOffsetKey } from '../../storage/metadata-store.js'
import type { PendingOffset } from '../groups/offset-store.js'
import type { GroupStateStore } from './group-state.js'

const LEGACY_PENDING_KEY = pendingTxnOffsetsKey()

export function hasLegacyOffsets(store: MetadataStore): boolean {
  return store.listOffsetGroups().length > 0 || store.get(LEGACY_PENDING_KEY) !== undefined
}

export async function migrateLegacyOffsets(from: MetadataStore, to: GroupStateStore, logger: Logger): Promise<number> {
  const groups = from.listOffsetGroups()
  let moved = 0
  for (const group of groups) {
    const entries = [...from.fetchOffsets(group)].map(([key, offset]) => ({ ...parseOffsetKey(key), ...offset }))
    await to.commitOffsets(group, entries)
    await from.deleteOffsets(group)
    moved += entries.length
  }
  const pending = from.get<Record<string, Record<string, PendingOffset[]>>>(LEGACY_PENDING_KEY)
  for (const [group, byProducer] of Object.entries(pending ?? {})) await to.putPendingOffsets(group, byProducer)
  if (pending !== undefined) await from.delete(LEGACY_PENDING_KEY)
  if (groups.length > 0 || pending !== undefined) {
    logger.info({ groups: groups.length, offsets: moved, pendingGroups: Object.keys(pending ?? {}).length }, 'moved committed offsets from the metadata store to __consumer_offsets')
  }
  return moved
}
