import { it, expect } from 'vitest'
import { kafkaClient, startTestBroker } from '../helpers/broker.js'
import { assignmentBytes, describeGroup, WireMember } from '../helpers/group-wire.js'
import { sleep } from '../helpers/wait.js'
it('dbg', async () => {
  const tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'group.min.session.timeout.ms': '1000' })
  const kafka = kafkaClient(tb.address)
  const admin = kafka.admin(); await admin.connect()
  const topic = 't', groupId = 'g'
  await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })
  const silent = new WireMember(tb.address, { groupId, topics: [topic], protocolName: 'RoundRobinAssigner', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 2000 })
  console.log('join', JSON.stringify(await silent.join()))
  console.log('sync', (await silent.sync([{ memberId: silent.memberId, assignment: assignmentBytes({ [topic]: [0,1,2,3] }) }])).errorCode)
  const c = kafka.consumer({ groupId, sessionTimeout: 6000, rebalanceTimeout: 3000, heartbeatInterval: 200 })
  c.on(c.events.GROUP_JOIN, (e) => console.log('GROUP_JOIN', Date.now(), JSON.stringify(e.payload)))
  await c.connect(); await c.subscribe({ topics: [topic] }); await c.run({ eachMessage: async () => {} })
  const t0 = Date.now()
  for (let i = 0; i < 30; i++) {
    console.log(Date.now() - t0, 'hb', await silent.heartbeat(), JSON.stringify(await describeGroup(tb.address, groupId)))
    await sleep(300)
  }
  await c.disconnect(); await admin.disconnect(); await tb.stop()
}, 60000)
