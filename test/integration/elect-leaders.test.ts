// ElectLeaders on a single broker: it leads every partition already, so each named partition
// needs no election and an unknown one is named as such; a null list elects nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BrokerConnection } from '../../broker/client/connection.js'
import { AdminClient } from '../../broker/client/admin-client.js'
import { ElectLeadersApi } from '../../protocol/generated/elect-leaders.js'
import { ErrorCode } from '../../protocol/errors.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'

describe('ElectLeaders (single broker)', () => {
  let broker: TestBroker
  beforeAll(async () => {
    broker = await startTestBroker()
    const admin = new AdminClient({ bootstrap: [broker.address] })
    try {
      await admin.createTopics([{ name: 'elect', numPartitions: 2 }])
    } finally {
      await admin.close()
    }
  })
  afterAll(async () => {
    await broker?.stop()
  })

  it('answers ELECTION_NOT_NEEDED per partition, in every version', async () => {
    const c = await BrokerConnection.connect(broker.address, { clientId: 'elect-test', connectTimeoutMs: 5_000, requestTimeoutMs: 5_000 })
    try {
      for (const version of [0, 1, 2]) {
        const res = await c.request(ElectLeadersApi, version, { electionType: 0, topicPartitions: [{ topic: 'elect', partitions: [0, 1, 7] }, { topic: 'nope', partitions: [0] }], timeoutMs: 1000 })
        expect(res.errorCode).toBe(ErrorCode.NONE)
        expect(res.replicaElectionResults).toEqual([
          {
            topic: 'elect',
            partitionResult: [
              { partitionId: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null },
              { partitionId: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null },
              { partitionId: 7, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null },
            ],
          },
          { topic: 'nope', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null }] },
        ])
      }
      const all = await c.request(ElectLeadersApi, 2, { electionType: 1, topicPartitions: null, timeoutMs: 1000 })
      expect(all).toMatchObject({ errorCode: ErrorCode.NONE, replicaElectionResults: [] })
    } finally {
      c.close()
    }
  })
})
