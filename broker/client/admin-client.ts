// The admin client: topics, configs, groups and their offsets, records, log directories,
// producers and transactions, against any Kafka-compatible broker, not only Samsa.
//
// Each broker connection starts with ApiVersions; every later request uses the highest version
// both sides speak (our newest stable version, capped by the broker's maximum). Requests are
// routed the way Kafka's own admin client routes them: topic creation and deletion to the
// controller, per-partition requests to each leader (from Metadata), group and transaction
// requests to their coordinator (FindCoordinator), listings to every broker. Each family of
// requests lives in its own module (admin-topics.ts, admin-configs.ts, admin-groups.ts, admin-share-groups.ts,
// admin-transactions.ts, admin-log-dirs.ts); this class binds them to one Cluster.

import { Cluster, type ClientOptions, type ClusterMetadata } from './cluster.js'
import * as topics from './admin-topics.js'
import * as configs from './admin-configs.js'
import * as groups from './admin-groups.js'
import * as shareGroups from './admin-share-groups.js'
import * as transactions from './admin-transactions.js'
import * as logDirs from './admin-log-dirs.js'
import * as acls from './admin-acls.js'
import * as users from './admin-users.js'
import * as reassignments from './admin-reassignments.js'

export { pickVersion } from './versions.js'
export { negotiate } from './node-session.js'
export * from './errors.js'
export { parseAddress } from './connection.js'
export type { BrokerNode, ClusterMetadata, PartitionMetadata, TopicMetadata } from './cluster.js'
export type { NewTopic, CreatedTopic, PartitionOffsets, DeletedRecords } from './admin-topics.js'
export { OffsetTimestamp, IsolationLevel } from './admin-topics.js'
export type { ConfigResource, ConfigEntry, ConfigChange } from './admin-configs.js'
export { ConfigResourceType, ConfigSource, AlterConfigOp } from './admin-configs.js'
export type {
  ListedGroup,
  GroupDescription,
  GroupMember,
  CommittedOffset,
  TopicPartitionOffset,
  ConsumerGroupDescription,
  ConsumerGroupMemberDescription,
  TopicPartitionList,
} from './admin-groups.js'
export type { ShareGroupDescription, ShareGroupMemberDescription, ShareInFlight, ShareStartOffset } from './admin-share-groups.js'
export type { AclBinding, AclBindingFilter } from './admin-acls.js'
export type { UserScramCredentials, ScramUpsertion } from './admin-users.js'
export type * from './admin-transactions.js'
export type { LogDirDescription, LogDirPartition } from './admin-log-dirs.js'
export type { PartitionReassignment, ReassignmentResult, OngoingReassignment } from './admin-reassignments.js'

export type AdminClientOptions = ClientOptions

const CLIENT_SOFTWARE = { clientSoftwareName: 'samsa-admin', clientSoftwareVersion: '0.1.0' }

export class AdminClient {
  readonly cluster: Cluster

  constructor(opts: AdminClientOptions) {
    this.cluster = new Cluster(opts, CLIENT_SOFTWARE)
  }

  /** Connects to the first reachable bootstrap broker and learns its API versions. */
  async connect(): Promise<void> {
    await this.cluster.bootstrap()
  }

  close(): Promise<void> {
    return this.cluster.close()
  }

  /** Topic and broker metadata. `topics` null means every topic; unknown topics are not created and throw. */
  metadata(topics: readonly string[] | null): Promise<ClusterMetadata> {
    return this.cluster.metadata(topics)
  }

  /** Names of every topic, internal ones included. */
  async listTopics(): Promise<string[]> {
    return (await this.cluster.metadata(null)).topics.map((t) => t.name)
  }

  createTopics(list: readonly topics.NewTopic[], opts?: { timeoutMs?: number; validateOnly?: boolean; waitForLeaders?: boolean }): Promise<topics.CreatedTopic[]> {
    return topics.createTopics(this.cluster, list, opts)
  }

  deleteTopics(names: readonly string[], opts?: { timeoutMs?: number }): Promise<void> {
    return topics.deleteTopics(this.cluster, names, opts)
  }

  /** Grows each topic to `count` partitions in total. */
  createPartitions(list: readonly { topic: string; count: number }[], opts?: { timeoutMs?: number; validateOnly?: boolean }): Promise<void> {
    return topics.createPartitions(this.cluster, list, opts)
  }

  listOffsets(topic: string, timestamp: number, opts?: { partitions?: readonly number[]; isolationLevel?: number }): Promise<Map<number, number>> {
    return topics.listOffsets(this.cluster, topic, timestamp, opts)
  }

  /** Earliest and latest (last stable, by default) offsets of every partition of a topic. */
  topicOffsets(topic: string, isolationLevel?: number): Promise<topics.PartitionOffsets[]> {
    return topics.topicOffsets(this.cluster, topic, isolationLevel)
  }

  deleteRecords(topic: string, offsets: readonly { partition: number; offset: number }[], opts?: { timeoutMs?: number }): Promise<topics.DeletedRecords[]> {
    return topics.deleteRecords(this.cluster, topic, offsets, opts)
  }

  describeConfigs(resource: configs.ConfigResource, keys?: readonly string[] | null): Promise<configs.ConfigEntry[]> {
    return configs.describeConfigs(this.cluster, resource, keys)
  }

  incrementalAlterConfigs(resource: configs.ConfigResource, changes: readonly configs.ConfigChange[], opts?: { validateOnly?: boolean }): Promise<void> {
    return configs.incrementalAlterConfigs(this.cluster, resource, changes, opts)
  }

  listGroups(opts?: { states?: readonly string[]; types?: readonly string[] }): Promise<groups.ListedGroup[]> {
    return groups.listGroups(this.cluster, opts)
  }

  describeGroups(groupIds: readonly string[]): Promise<groups.GroupDescription[]> {
    return groups.describeGroups(this.cluster, groupIds)
  }

  /** KIP-848 consumer groups (ConsumerGroupDescribe); a classic group answers GROUP_ID_NOT_FOUND. */
  describeConsumerGroups(groupIds: readonly string[]): Promise<groups.ConsumerGroupDescription[]> {
    return groups.describeConsumerGroups(this.cluster, groupIds)
  }

  deleteGroups(groupIds: readonly string[]): Promise<Map<string, string | null>> {
    return groups.deleteGroups(this.cluster, groupIds)
  }

  fetchOffsets(groupId: string, topicNames?: readonly string[] | null): Promise<groups.CommittedOffset[]> {
    return groups.fetchOffsets(this.cluster, groupId, topicNames ?? null)
  }

  alterOffsets(groupId: string, offsets: readonly groups.TopicPartitionOffset[]): Promise<void> {
    return groups.alterOffsets(this.cluster, groupId, offsets)
  }

  deleteOffsets(groupId: string, topic: string, partitions: readonly number[]): Promise<void> {
    return groups.deleteOffsets(this.cluster, groupId, topic, partitions)
  }

  /** Share groups (KIP-932): members, their epochs and assignments. */
  describeShareGroups(groupIds: readonly string[]): Promise<shareGroups.ShareGroupDescription[]> {
    return shareGroups.describeShareGroups(this.cluster, groupIds)
  }

  /** Share-partition start offsets of a share group: of these topics, or of every topic it has state for. */
  describeShareGroupOffsets(groupId: string, topicNames?: readonly string[] | null): Promise<shareGroups.ShareStartOffset[]> {
    return shareGroups.describeShareGroupOffsets(this.cluster, groupId, topicNames ?? null)
  }

  /** Moves share-partition start offsets; the group must have no members. */
  alterShareGroupOffsets(groupId: string, offsets: readonly groups.TopicPartitionOffset[]): Promise<void> {
    return shareGroups.alterShareGroupOffsets(this.cluster, groupId, offsets)
  }

  /** Removes a share group's state of whole topics; the group must have no members. */
  deleteShareGroupOffsets(groupId: string, topicNames: readonly string[]): Promise<void> {
    return shareGroups.deleteShareGroupOffsets(this.cluster, groupId, topicNames)
  }

  createAcls(bindings: readonly acls.AclBinding[]): Promise<void> {
    return acls.createAcls(this.cluster, bindings)
  }

  describeAcls(filter: acls.AclBindingFilter): Promise<acls.AclBinding[]> {
    return acls.describeAcls(this.cluster, filter)
  }

  deleteAcls(filters: readonly acls.AclBindingFilter[]): Promise<acls.AclBinding[]> {
    return acls.deleteAcls(this.cluster, filters)
  }

  describeUserScramCredentials(names?: readonly string[]): Promise<users.UserScramCredentials[]> {
    return users.describeUserScramCredentials(this.cluster, names)
  }

  alterUserScramCredentials(changes: Parameters<typeof users.alterUserScramCredentials>[1]): Promise<void> {
    return users.alterUserScramCredentials(this.cluster, changes)
  }

  /** Active producers of a topic's partitions (all when `partitions` is omitted), from each leader. */
  describeProducers(topic: string, partitions?: readonly number[]): Promise<transactions.PartitionProducers[]> {
    return transactions.describeProducers(this.cluster, topic, partitions)
  }

  listTransactions(filter?: transactions.ListTransactionsFilter): Promise<transactions.ListTransactionsResult> {
    return transactions.listTransactions(this.cluster, filter)
  }

  describeTransactions(transactionalIds: readonly string[]): Promise<transactions.TransactionDescription[]> {
    return transactions.describeTransactions(this.cluster, transactionalIds)
  }

  /** Log directories of one broker (the bootstrap broker by default), limited to `topics` unless null. */
  describeLogDirs(list: readonly { topic: string; partitions: readonly number[] }[] | null, nodeId?: number): Promise<logDirs.LogDirDescription[]> {
    return logDirs.describeLogDirs(this.cluster, list, nodeId)
  }

  /** Starts moving partitions to new replicas (null replicas: cancels a move in flight), at the controller. */
  alterPartitionReassignments(list: readonly reassignments.PartitionReassignment[], opts?: { timeoutMs?: number }): Promise<reassignments.ReassignmentResult[]> {
    return reassignments.alterPartitionReassignments(this.cluster, list, opts)
  }

  /** Partition moves in flight: of these topics' partitions, or of every topic with null. */
  listPartitionReassignments(topics: readonly { topic: string; partitions: readonly number[] }[] | null, opts?: { timeoutMs?: number }): Promise<reassignments.OngoingReassignment[]> {
    return reassignments.listPartitionReassignments(this.cluster, topics, opts)
  }
}

/** Connects, runs `fn`, and always closes. */
export async function withAdminClient<T>(opts: AdminClientOptions, fn: (client: AdminClient) => Promise<T>): Promise<T> {
  const client = new AdminClient(opts)
  try {
    await client.connect()
    return await fn(client)
  } finally {
    await client.close()
  }
}
