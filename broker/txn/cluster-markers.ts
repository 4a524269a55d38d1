// Transaction markers in cluster mode: each partition's marker goes to the broker that leads it now
// (Kafka's TransactionMarkerChannelManager). A partition this broker leads gets it in process; one
// led elsewhere gets it with WriteTxnMarkers over a broker-to-broker connection. A refusal
// (NOT_LEADER_OR_FOLLOWER while leadership moves, an offline partition, a broker that is down) is
// retried with the leader looked up again in the cluster metadata, which the watch keeps current,
// until the marker is written (or the transaction is no longer coordinated here): the transaction
// stays PrepareCommit/PrepareAbort until then. A partition whose topic was deleted needs no marker.
// A __consumer_offsets partition's marker settles the producer's offsets at the group's
// coordinator (the leader's WriteTxnMarkers, or offset-markers.ts here) rather than being appended.
//
// One request per partition and attempt; connections are kept per broker and dropped on failure.
import type { Logger } from 'pino'
import { ErrorCode } from '../../protocol/errors.js'
import { WriteTxnMarkersApi } from '../../protocol/generated/write-txn-markers.js'
import type { TxnMarkerInput } from '../../storage/partition-log.js'
import { BrokerConnection, type ClientSecurity } from '../client/connection.js'
import { SaslAuthenticationError } from '../client/errors.js'
import { KafkaError, toKafkaError } from '../errors.js'
import type { MarkerTarget, MarkerWriter, TopicPartition } from './txn-model.js'

const WRITE_TXN_MARKERS_VERSION = 1
const RETRY_BACKOFF_MS = 100
const MAX_BACKOFF_MS = 1000
const REQUEST_TIMEOUT_MS = 30_000

/** Where a partition's leader is: undefined when the partition no longer exists, nodeId -1 while it has no leader. */
export type LeaderLookup = (topic: string, partition: number) => { nodeId: number; host: string; port: number } | undefined

/** How long a marker waits for the in-sync replicas (Kafka's request.timeout.ms for its acks=all append). */
export const MARKER_REPLICATION_TIMEOUT_MS = 30_000

export interface ClusterMarkerWriterOptions {
  nodeId: number
  logs: MarkerTarget
  leaderOf: LeaderLookup
  logger: Logger
  /** How to reach other brokers' inter-broker listener (security/inter-broker.ts); plain TCP without. */
  security?: ClientSecurity
  /**
   * Waits until every in-sync replica has what was appended below `offset` on a partition led here
   * (NONE, or the error to retry on); undefined where nothing is replicated.
   */
  replicated?: (topic: string, partition: number, offset: number) => Promise<number>
}

interface Channel {
  address: string
  connection: Promise<BrokerConnection>
}

export class ClusterMarkerWriter implements MarkerWriter {
  private readonly channels = new Map<number, Channel>()
  private closed = false

  constructor(private readonly opts: ClusterMarkerWriterOptions) {}

  async write(tp: TopicPartition, marker: TxnMarkerInput, live?: () => boolean): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new KafkaError(ErrorCode.NOT_COORDINATOR, 'the transaction coordinator is closing')
      // The transaction's partition of __transaction_state moved away: its new coordinator writes the markers.
      if (live !== undefined && !live()) throw new KafkaError(ErrorCode.NOT_COORDINATOR, 'the transaction is no longer coordinated here')
      const leader = this.opts.leaderOf(tp.topic, tp.partition)
      if (leader === undefined) return // the topic was deleted; nothing left to mark
      let code: number
      if (leader.nodeId === -1) code = ErrorCode.LEADER_NOT_AVAILABLE
      else if (leader.nodeId === this.opts.nodeId) code = await this.writeLocal(tp, marker)
      else code = await this.writeRemote(leader, tp, marker)
      if (code === ErrorCode.NONE) return
      if (code === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && this.opts.leaderOf(tp.topic, tp.partition) === undefined) return
      if (attempt % 20 === 0) {
        this.opts.logger.warn({ topic: tp.topic, partition: tp.partition, leader: leader.nodeId, errorCode: code, attempt }, 'transaction marker not written yet; retrying')
      }
      await sleep(Math.min(MAX_BACKOFF_MS, RETRY_BACKOFF_MS * 2 ** Math.min(attempt, 4)))
    }
  }

  close(): void {
    this.closed = true
    for (const c of this.channels.values()) void c.connection.then((conn) => conn.close(), () => {})
    this.channels.clear()
  }

  private async writeLocal(tp: TopicPartition, marker: TxnMarkerInput): Promise<number> {
    const log = this.opts.logs.partition(tp.topic, tp.partition)
    if (log === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    try {
      const written = (await log.appendTxnMarker(marker)) as { lastOffset?: number } | undefined
      // As WriteTxnMarkers answers for a remote partition: only once the in-sync replicas have it.
      // (A __consumer_offsets target settles group state instead, and reports no offset.)
      if (typeof written?.lastOffset !== 'number' || this.opts.replicated === undefined) return ErrorCode.NONE
      return await this.opts.replicated(tp.topic, tp.partition, written.lastOffset + 1)
    } catch (err) {
      return toKafkaError(err).code
    }
  }

  private async writeRemote(leader: { nodeId: number; host: string; port: number }, tp: TopicPartition, marker: TxnMarkerInput): Promise<number> {
    const address = `${leader.host}:${leader.port}`
    let channel = this.channels.get(leader.nodeId)
    if (channel === undefined || channel.address !== address) {
      if (channel !== undefined) void channel.connection.then((conn) => conn.close(), () => {})
      channel = {
        address,
        connection: BrokerConnection.connect(address, {
          clientId: `samsa-txn-markers-${this.opts.nodeId}`,
          connectTimeoutMs: 5000,
          requestTimeoutMs: REQUEST_TIMEOUT_MS,
          security: this.opts.security,
        }),
      }
      this.channels.set(leader.nodeId, channel)
    }
    try {
      const conn = await channel.connection
      const res = await conn.request(WriteTxnMarkersApi, WRITE_TXN_MARKERS_VERSION, {
        markers: [
          {
            producerId: marker.producerId,
            producerEpoch: marker.producerEpoch,
            transactionResult: marker.commit,
            coordinatorEpoch: marker.coordinatorEpoch,
            topics: [{ name: tp.topic, partitionIndexes: [tp.partition] }],
          },
        ],
      })
      const answer = res.markers[0]?.topics.find((t) => t.name === tp.topic)?.partitions.find((p) => p.partitionIndex === tp.partition)
      return answer?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR
    } catch (err) {
      // The broker is down or the connection broke: connect afresh on the next attempt.
      if (this.channels.get(leader.nodeId) === channel) this.channels.delete(leader.nodeId)
      void channel.connection.then((conn) => conn.close(), () => {})
      if (err instanceof SaslAuthenticationError) {
        this.opts.logger.error({ leader: leader.nodeId, reason: err.message }, `transaction markers cannot log in to broker ${leader.nodeId}: ${err.message}; check the inter-broker SASL settings (retrying)`)
      } else {
        this.opts.logger.debug({ err, leader: leader.nodeId }, 'WriteTxnMarkers failed')
      }
      return ErrorCode.NETWORK_EXCEPTION
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
