// A share-group member on the wire (KIP-932) for tests: ShareGroupHeartbeat, ShareFetch and
// ShareAcknowledge v1 sent with the generated codecs over a WireClient, and the records of a
// ShareFetch response decoded down to the acquired offsets (what a share consumer delivers).
import { ApiKey } from '../../protocol/generated/index.js'
import type { ShareFetchResponse } from '../../protocol/generated/share-fetch.js'
import type { ShareAcknowledgeResponse } from '../../protocol/generated/share-acknowledge.js'
import type { ShareGroupHeartbeatResponse } from '../../protocol/generated/share-group-heartbeat.js'
import type { IncrementalAlterConfigsResponse } from '../../protocol/generated/incremental-alter-configs.js'
import { batchSizeAt } from '../../protocol/record-batch.js'
import { decodeBatchRecords } from '../../protocol/record-reader.js'
import { WireClient } from './wire.js'

export interface Ack {
  firstOffset: number
  lastOffset: number
  acknowledgeTypes: number[]
}

export interface DeliveredRecord {
  partition: number
  offset: number
  value: string
  deliveryCount: number
}

export const ACCEPT = 1
export const RELEASE = 2
export const REJECT = 3

export class ShareMemberClient {
  epoch = 0
  memberEpoch = 0

  private constructor(
    readonly c: WireClient,
    readonly groupId: string,
    readonly memberId: string,
  ) {}

  static async connect(address: string, groupId: string, memberId: string): Promise<ShareMemberClient> {
    return new ShareMemberClient(await WireClient.connect(address), groupId, memberId)
  }

  async join(topics: string[]): Promise<ShareGroupHeartbeatResponse> {
    const { body } = await this.c.request<ShareGroupHeartbeatResponse>(ApiKey.ShareGroupHeartbeat, 1, {
      groupId: this.groupId,
      memberId: this.memberId,
      memberEpoch: 0,
      rackId: null,
      subscribedTopicNames: topics,
    })
    this.memberEpoch = body.memberEpoch
    return body
  }

  /** A ShareFetch at the session's current epoch; the epoch moves on unless a top-level error came back. */
  async fetch(
    topicId: string,
    partitions: number[],
    opts: { acks?: Map<number, Ack[]>; maxWaitMs?: number; maxRecords?: number; epoch?: number } = {},
  ): Promise<ShareFetchResponse> {
    const epoch = opts.epoch ?? this.epoch
    const named = new Set([...partitions, ...(opts.acks?.keys() ?? [])])
    const { body } = await this.c.request<ShareFetchResponse>(
      ApiKey.ShareFetch,
      1,
      {
        groupId: this.groupId,
        memberId: this.memberId,
        shareSessionEpoch: epoch,
        maxWaitMs: opts.maxWaitMs ?? 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        maxRecords: opts.maxRecords ?? 500,
        batchSize: 500,
        topics: [{ topicId, partitions: [...named].map((partitionIndex) => ({ partitionIndex, partitionMaxBytes: 0, acknowledgementBatches: opts.acks?.get(partitionIndex) ?? [] })) }],
        forgottenTopicsData: [],
      },
      20_000,
    )
    if (body.errorCode === 0 && opts.epoch === undefined) this.epoch = epoch === -1 ? 0 : epoch + 1
    return body
  }

  async acknowledge(topicId: string, acks: Map<number, Ack[]>, epoch = this.epoch): Promise<ShareAcknowledgeResponse> {
    const { body } = await this.c.request<ShareAcknowledgeResponse>(ApiKey.ShareAcknowledge, 1, {
      groupId: this.groupId,
      memberId: this.memberId,
      shareSessionEpoch: epoch,
      topics: [{ topicId, partitions: [...acks].map(([partitionIndex, acknowledgementBatches]) => ({ partitionIndex, acknowledgementBatches })) }],
    })
    if (body.errorCode === 0 && epoch === this.epoch) this.epoch = epoch === -1 ? 0 : epoch + 1
    return body
  }

  close(): void {
    this.c.close()
  }
}

/** The acquired records of a ShareFetch response, decoded from its batches. */
export function delivered(res: ShareFetchResponse): DeliveredRecord[] {
  const out: DeliveredRecord[] = []
  for (const t of res.responses) {
    for (const p of t.partitions) {
      const records = p.records ?? new Uint8Array(0)
      const byOffset = new Map<number, string>()
      for (let pos = 0; pos < records.length; pos += batchSizeAt(records, pos)) {
        for (const r of decodeBatchRecords(records, pos)) byOffset.set(r.offset, r.value === null ? '' : Buffer.from(r.value).toString())
      }
      for (const a of p.acquiredRecords) {
        for (let o = a.firstOffset; o <= a.lastOffset; o++) {
          const value = byOffset.get(o)
          if (value !== undefined) out.push({ partition: p.partitionIndex, offset: o, value, deliveryCount: a.deliveryCount })
        }
      }
    }
  }
  return out
}

/** Sets a group's dynamic configuration (IncrementalAlterConfigs on the GROUP resource, type 32). */
export async function setGroupConfig(c: WireClient, groupId: string, configs: Record<string, string>): Promise<void> {
  const { body } = await c.request<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: 32, resourceName: groupId, configs: Object.entries(configs).map(([name, value]) => ({ name, configOperation: 0, value })) }],
    validateOnly: false,
  })
  const failed = body.responses.find((r) => r.errorCode !== 0)
  if (failed !== undefined) throw new Error(`IncrementalAlterConfigs failed: ${failed.errorCode} ${failed.errorMessage}`)
}
