// Consumer-group administration from the Python admin clients against a group with a live
// kafkajs member and a group that only holds offsets: list, describe, list and alter offsets,
// delete (refused for the live group and for an unknown one).
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Admin, Consumer } from 'kafkajs'
import { kafkaClient, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { assertAvailable, probePythonModule, PYTHON, skipNote } from '../helpers/external-clients.js'
import { describeGroup } from '../helpers/group-wire.js'
import { expectSuccess, run } from '../helpers/run.js'
import { waitFor } from '../helpers/wait.js'

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'python', 'kafka-python-group-admin.py')

let tb: TestBroker
let admin: Admin
let consumer: Consumer | undefined

const kafkaPython = probePythonModule('kafka')
const confluent = probePythonModule('confluent_kafka')
const probe = kafkaPython.ok ? confluent : kafkaPython

describe.skipIf(probe.skip)(`group administration from Python admin clients${skipNote(probe)}`, () => {
  beforeAll(async () => {
    assertAvailable(kafkaPython)
    assertAvailable(confluent)
    tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' })
    admin = kafkaClient(tb.address).admin()
    await admin.connect()
  })

  afterAll(async () => {
    await consumer?.disconnect()
    await admin?.disconnect()
    await tb?.stop()
  })

  it('lists, describes, alters, reads and deletes consumer groups', async () => {
    const topic = 'py-admin'
    const live = 'py-admin-live'
    const idle = 'py-admin-idle'
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
    const producer = kafkaClient(tb.address).producer()
    await producer.connect()
    await producer.send({ topic, messages: Array.from({ length: 9 }, (_, i) => ({ partition: i % 3, value: `m${i}` })) })
    await producer.disconnect()

    consumer = kafkaClient(tb.address, { clientId: 'live-member' }).consumer({ groupId: live, heartbeatInterval: 300 })
    let seen = 0
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({ eachMessage: async () => void seen++ })
    await waitFor(() => seen === 9, { timeoutMs: 20_000, what: 'the live member reading 9 messages' })
    await consumer.commitOffsets([0, 1, 2].map((partition) => ({ topic, partition, offset: '3' })))

    const r = expectSuccess('kafka-python-group-admin.py', await run(PYTHON, [SCRIPT, tb.address, topic, live, idle], { timeoutMs: 60_000 }))
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!)

    // Altering offsets creates the idle group; an active group refuses a commit from outside it.
    expect(out.alterIdle).toBeNull()
    expect(out.idleOffsets).toEqual({ '0': 5, '1': 6, '2': 7 })
    expect(out.alterLive).toBe('UNKNOWN_MEMBER_ID')
    expect(out.liveOffsets).toEqual({ '0': 3, '1': 3, '2': 3 })
    expect(out.idlePartition1).toEqual({ '1': 6 })

    expect(out.listed).toEqual([
      [idle, ''],
      [live, 'consumer'],
    ])
    expect(out.describeLive).toMatchObject({ error: 0, state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' })
    expect(out.describeLive.members).toEqual([{ clientId: 'live-member', clientHost: '/127.0.0.1', topics: [topic], partitions: [0, 1, 2] }])
    expect(out.describeIdle).toEqual({ error: 0, state: 'Empty', protocolType: '', protocol: '', members: [] })
    expect(out.confluentGroups).toEqual([
      [idle, 'Empty', '', 0],
      [live, 'Stable', 'consumer', 1],
    ])

    expect(out.deleted).toEqual([
      ['no-such-group', 'GroupIdNotFoundError'],
      [idle, 'NoError'],
      [live, 'NonEmptyGroupError'],
    ])
    expect(out.listedAfterDelete).toEqual([live])
    expect(out.idleOffsetsAfterDelete).toEqual({})
    // The live group and its offsets are untouched.
    expect((await describeGroup(tb.address, live)).state).toBe('Stable')
    const [fetched] = await admin.fetchOffsets({ groupId: live, topics: [topic] })
    expect(fetched!.partitions.map((p) => p.offset)).toEqual(['3', '3', '3'])
  })
})
