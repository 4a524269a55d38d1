// Every kind of group the coordinator hosts. Kafka keeps one group id namespace across kinds: the
// classic protocol (JoinGroup/SyncGroup), KIP-848 consumer groups and KIP-932 share groups. Only
// the classic kind exists here; the others join the `Group` union with their own state machine
// while committed offsets stay shared (GroupOffsets).
import type { ClassicGroup } from './classic-group.js'

export type GroupKind = 'classic'

export type Group = ClassicGroup

/** What ListGroups reports about any kind of group. */
export interface GroupListing {
  groupId: string
  protocolType: string
  groupState: string
  groupType: GroupKind
}
