// Produce (key 0). v2 adds log-append time; v3 transactional id (magic 2 only); v5 log start
// offset; v8 per-record errors; v9 flexible; v10 NOT_LEADER_OR_FOLLOWER names the current leader
// and the response its endpoint (KIP-951, broker/leader-hints.ts); v11 only allows
// TRANSACTION_ABORTABLE (KIP-890), never sent here.
// acks=0 gets no response; acks=1 answers once the batches are written; acks=-1 once they are
// fsynced, and in cluster mode once every in-sync replica has them too (broker/replication/):
// min.insync.replicas gives NOT_ENOUGH_REPLICAS before the append and
// NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below it while waiting, the request's
// timeout REQUEST_TIMED_OUT. A broker that does not lead the partition answers
// NOT_LEADER_OR_FOLLOWER. Batches go through the log's validator (storage/log-validator.ts: framing, CRC, sizes,
// every record, compaction keys, timestamps) and are stored as received, with the broker's
// offsets patched in. Batches with a producer id go through the partition's producer
// state: a retried batch is answered with its original offsets (Kafka 2.x+: success, not
// DUPLICATE_SEQUENCE_NUMBER), a gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an old epoch
// INVALID_PRODUCER_EPOCH. A transactional batch must name its transactional id and go to a
// partition of the producer's open transaction, else INVALID_TXN_STATE (Kafka's verification;
// transaction.partition.verification.enable=false admits it).
// ACLs: a transactional id needs WRITE on it (else every partition gets
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED); each topic needs WRITE (TOPIC_AUTHORIZATION_FAILED per
// partition). Idempotent producers are authorized when they get their id (InitProducerId).
// Not yet: broker-side recompression when a topic's compression.type differs from the producer's.
import { ProduceApi, type ProduceRequest, type ProduceResponse } from '../../protocol/generated/produce.js'
import { ErrorCode } from '../../protocol/errors.js'
import { isInternalTopic } from '../coordinator-state/internal-topics.js'
import { validateRecords } from '../../storage/log-validator.js'
import type { AppendResult } from '../../storage/partition-log.js'
import type { BrokerContext } from '../context.js'
import { isUnexpected, toKafkaError } from '../errors.js'
import { defineHandler } from '../handler.js'
import { authorize, Op, Resource } from '../acls/authorize.js'
import { LeaderHints, NO_LEADER } from '../leader-hints.js'

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number]
type PartitionData = ProduceRequest['topicData'][number]['partitionData'][number]

export default defineHandler({
  api: ProduceApi,
  // v0-2 can only carry the old message formats, which are refused per partition. They are still
  // advertised, as Kafka 4.0 does (KAFKA-18659): librdkafka <= 2.x checks for Produce v0 before it
  // will compress with gzip, snappy or lz4, and silently sends uncompressed batches otherwise.
  versions: [0, 11],
  // The batches are in the log (and fsynced for acks=all) before the answer; no view is kept.
  keepsRequestBytes: false,
  async handle(req, ctx): Promise<ProduceResponse | null> {
    const b = ctx.broker
    if (ctx.apiVersion < 3) {
      return respond(req, () => errorPartition(ErrorCode.UNSUPPORTED_VERSION, 'Produce v0-v2 (message format v0/v1) is not supported'))
    }
    if (req.acks !== 0 && req.acks !== 1 && req.acks !== -1) {
      return respond(req, () => errorPartition(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${req.acks}`))
    }
    if (req.transactionalId !== null && !authorize(ctx, Op.WRITE, Resource.TRANSACTIONAL_ID, req.transactionalId)) {
      return respond(req, () => errorPartition(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, null))
    }
    const hints = new LeaderHints(b, ctx.listenerName)
    // Every append is started before the first await, so pipelined requests append in order.
    const pending = req.topicData.map((t) =>
      authorize(ctx, Op.WRITE, Resource.TOPIC, t.name)
        ? t.partitionData.map((p) => appendPartition(b, hints, t.name, p, req.acks === -1, req.transactionalId, req.timeoutMs))
        : t.partitionData.map((p) => ({ ...errorPartition(ErrorCode.TOPIC_AUTHORIZATION_FAILED, null), index: p.index })),
    )
    const responses: ProduceResponse['responses'] = []
    for (let i = 0; i < req.topicData.length; i++) {
      const t = req.topicData[i]!
      const partitionResponses: PartitionResponse[] = []
      for (let j = 0; j < t.partitionData.length; j++) partitionResponses.push(await pending[i]![j]!)
      responses.push({ name: t.name, partitionResponses })
    }
    if (req.acks === 0) return null
    return { responses, throttleTimeMs: 0, nodeEndpoints: hints.endpoints }
  },
})

async function appendPartition(
  b: BrokerContext,
  hints: LeaderHints,
  topic: string,
  p: PartitionData,
  durable: boolean,
  transactionalId: string | null,
  timeoutMs: number,
): Promise<PartitionResponse> {
  const log = b.logs.partition(topic, p.index)
  if (!log) return { ...errorPartition(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, null), index: p.index }
  // Only the coordinators write their internal topics: a client's records would corrupt their state.
  if (isInternalTopic(topic)) return { ...errorPartition(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topic}`), index: p.index }
  const replicas = b.replicas
  if (replicas !== undefined) {
    let refused = replicas.checkLeader(topic, p.index, -1)
    if (refused === ErrorCode.NONE && durable) refused = replicas.checkEnoughReplicas(topic, p.index, log)
    if (refused !== ErrorCode.NONE) {
      return refusal(refused, hints, topic, p.index)
    }
  }
  const records = p.records
  if (records === null || records.length === 0) {
    return { ...errorPartition(ErrorCode.NONE, null), index: p.index, baseOffset: -1, logStartOffset: log.logStartOffset }
  }
  const validated = validateRecords(records, log.config, { partition: `${topic}-${p.index}` })
  if (!validated.ok) {
    b.logger.debug({ topic, partition: p.index, reason: validated.message }, 'rejected produce batch')
    return {
      ...errorPartition(ErrorCode[validated.error], validated.message),
      index: p.index,
      recordErrors: validated.recordErrors.map((e) => ({ batchIndex: e.batchIndex, batchIndexErrorMessage: e.message })),
    }
  }
  for (const batch of validated.batches) {
    if (batch.transactional && !b.txn.admitsTransactionalWrite(transactionalId, batch.producerId, topic, p.index)) {
      return {
        ...errorPartition(ErrorCode.INVALID_TXN_STATE, `partition ${topic}-${p.index} is not in a transaction of producer ${batch.producerId}`),
        index: p.index,
      }
    }
  }
  let result: AppendResult
  if (durable) b.metrics.produceWaiting(1)
  try {
    result = await log.append(validated, { durable })
  } catch (err) {
    const f = toKafkaError(err)
    if (isUnexpected(f) || f.code === ErrorCode.KAFKA_STORAGE_ERROR) b.logger.error({ err, topic, partition: p.index }, 'append failed')
    else b.logger.debug({ topic, partition: p.index, reason: f.message }, 'rejected produce batch')
    return { ...errorPartition(f.code, f.message), index: p.index }
  } finally {
    if (durable) b.metrics.produceWaiting(-1)
  }
  if (durable && replicas !== undefined) {
    // acks=all on a replicated partition: every in-sync replica must have the batch too.
    const replicated = await replicas.waitForIsr(topic, p.index, log, result.lastOffset + 1, timeoutMs)
    if (replicated !== ErrorCode.NONE) return refusal(replicated, hints, topic, p.index)
  }
  b.metrics.messagesIn(topic, result.lastOffset - result.baseOffset + 1, records.length)
  return {
    index: p.index,
    errorCode: ErrorCode.NONE,
    baseOffset: result.baseOffset,
    logAppendTimeMs: result.logAppendTime,
    logStartOffset: result.logStartOffset,
    recordErrors: [],
    errorMessage: null,
    currentLeader: NO_LEADER,
  }
}

/** A replication refusal; NOT_LEADER_OR_FOLLOWER names the current leader, as Kafka's does. */
function refusal(errorCode: number, hints: LeaderHints, topic: string, index: number): PartitionResponse {
  const currentLeader = errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER ? hints.leaderOf(topic, index) : NO_LEADER
  return { ...errorPartition(errorCode, null), index, currentLeader }
}

function errorPartition(errorCode: number, errorMessage: string | null): PartitionResponse {
  return {
    index: -1,
    errorCode,
    baseOffset: -1,
    logAppendTimeMs: -1,
    logStartOffset: -1,
    recordErrors: [],
    errorMessage,
    currentLeader: NO_LEADER,
  }
}

function respond(req: ProduceRequest, make: () => PartitionResponse): ProduceResponse | null {
  if (req.acks === 0) return null
  return {
    responses: req.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => ({ ...make(), index: p.index })) })),
    throttleTimeMs: 0,
    nodeEndpoints: [],
  }
}
