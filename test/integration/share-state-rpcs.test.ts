// The share coordinator's inter-broker RPCs against a single broker over a real socket, as another
// broker's share-partition leader sends them: InitializeShareGroupState gives a share partition an
// initial state once (a second one keeps what is there), WriteShareGroupState replaces it and is
// read back by ReadShareGroupState and ReadShareGroupStateSummary, a write from an older leader
// epoch is refused with FENCED_LEADER_EPOCH and changes nothing, DeleteShareGroupState removes it,
// and FindCoordinator key type 2 names this broker. The state survives a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BrokerConnection } from '../../broker/client/connection.js'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { ErrorCode } from '../../protocol/errors.js'
import { DeleteShareGroupStateApi } from '../../protocol/generated/delete-share-group-state.js'
import { FindCoordinatorApi } from '../../protocol/generated/find-coordinator.js'
import { InitializeShareGroupStateApi } from '../../protocol/generated/initialize-share-group-state.js'
import { ReadShareGroupStateApi } from '../../protocol/generated/read-share-group-state.js'
import { ReadShareGroupStateSummaryApi } from '../../protocol/generated/read-share-group-state-summary.js'
import { WriteShareGroupStateApi } from '../../protocol/generated/write-share-group-state.js'
import { waitFor } from '../helpers/wait.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'

const TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAQ'
const GROUP = 'rpc-group'

let dataDir = ''
let broker: RunningBroker | undefined
let conn: BrokerConnection

async function start(): Promise<void> {
  broker = await startBroker({ dataDir, host: '127.0.0.1', port: 0, logLevel: 'silent' })
  conn = await BrokerConnection.connect(broker.address, { clientId: 'share-rpc-test', connectTimeoutMs: 5000, requestTimeoutMs: 10_000 })
}

beforeAll(async () => {
  dataDir = await makeTempDir('samsa-share-rpc-')
  await start()
})

afterAll(async () => {
  conn?.close()
  await broker?.stop()
  await removeDir(dataDir)
})

async function read(partition: number) {
  const res = await conn.request(ReadShareGroupStateApi, 0, { groupId: GROUP, topics: [{ topicId: TOPIC_ID, partitions: [{ partition, leaderEpoch: -1 }] }] })
  const p = res.results[0]!.partitions[0]!
  return { errorCode: p.errorCode, stateEpoch: p.stateEpoch, startOffset: p.startOffset, batches: p.stateBatches.map((b) => [b.firstOffset, b.lastOffset, b.deliveryState, b.deliveryCount]) }
}

async function write(partition: number, leaderEpoch: number, startOffset: number, batches: Array<[number, number, number, number]>): Promise<number> {
  const res = await conn.request(WriteShareGroupStateApi, 0, {
    groupId: GROUP,
    topics: [{ topicId: TOPIC_ID, partitions: [{ partition, stateEpoch: 0, leaderEpoch, startOffset, stateBatches: batches.map(([firstOffset, lastOffset, deliveryState, deliveryCount]) => ({ firstOffset, lastOffset, deliveryState, deliveryCount })) }] }],
  })
  return res.results[0]!.partitions[0]!.errorCode
}

describe('share coordinator RPCs', () => {
  it('initializes once, writes, fences an older leader, summarizes, deletes, and keeps the state across a restart', async () => {
    const found = await conn.request(FindCoordinatorApi, 6, { key: '', keyType: 2, coordinatorKeys: [`${GROUP}:${TOPIC_ID}:0`] })
    expect(found.coordinators[0]).toMatchObject({ errorCode: ErrorCode.NONE, nodeId: broker!.nodeId, port: broker!.port })

    expect(await read(0)).toEqual({ errorCode: ErrorCode.NONE, stateEpoch: -1, startOffset: -1, batches: [] })
    const init = () => conn.request(InitializeShareGroupStateApi, 0, { groupId: GROUP, topics: [{ topicId: TOPIC_ID, partitions: [{ partition: 0, stateEpoch: 0, startOffset: -1 }] }] })
    expect((await init()).results[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(await read(0)).toEqual({ errorCode: ErrorCode.NONE, stateEpoch: 0, startOffset: -1, batches: [] })

    expect(await write(0, 5, 10, [[10, 14, 2, 1], [15, 19, 0, 2]])).toBe(ErrorCode.NONE)
    // A second initialization leaves the written state alone.
    expect((await init()).results[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(await read(0)).toEqual({ errorCode: ErrorCode.NONE, stateEpoch: 0, startOffset: 10, batches: [[10, 14, 2, 1], [15, 19, 0, 2]] })

    // A deposed leader (epoch 4) cannot undo what the leader at epoch 5 wrote.
    expect(await write(0, 4, 0, [])).toBe(ErrorCode.FENCED_LEADER_EPOCH)
    expect((await read(0)).startOffset).toBe(10)

    const summary = await conn.request(ReadShareGroupStateSummaryApi, 0, { groupId: GROUP, topics: [{ topicId: TOPIC_ID, partitions: [{ partition: 0, leaderEpoch: -1 }, { partition: 1, leaderEpoch: -1 }] }] })
    expect(summary.results[0]!.partitions.map((p) => [p.partition, p.errorCode, p.startOffset])).toEqual([[0, ErrorCode.NONE, 10], [1, ErrorCode.NONE, -1]])

    expect(await write(1, 0, 3, [[3, 3, 4, 5]])).toBe(ErrorCode.NONE)
    const deleted = await conn.request(DeleteShareGroupStateApi, 0, { groupId: GROUP, topics: [{ topicId: TOPIC_ID, partitions: [{ partition: 1 }] }] })
    expect(deleted.results[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE)
    expect(await read(1)).toEqual({ errorCode: ErrorCode.NONE, stateEpoch: -1, startOffset: -1, batches: [] })

    // Read back from __share_group_state after a restart.
    conn.close()
    await broker!.stop()
    await start()
    // COORDINATOR_LOAD_IN_PROGRESS until the broker has read __share_group_state back, which callers retry
    await waitFor(async () => (await read(0)).errorCode !== ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, { what: 'the share state read back' })
    expect(await read(0)).toEqual({ errorCode: ErrorCode.NONE, stateEpoch: 0, startOffset: 10, batches: [[10, 14, 2, 1], [15, 19, 0, 2]] })
    expect((await read(1)).startOffset).toBe(-1)
  }, 30_000)
})
