// `samsa producers <topic>` against an in-process broker written to by kafkajs idempotent and
// transactional producers.
import { describe, expect, it } from 'vitest'
import type { ProducerRow } from '../../cli/commands/producers.js'
import { closedPort, jsonLines, samsa, useBrokerWithTopics } from './harness.js'


const env = useBrokerWithTopics([{ topic: 'pr-events', numPartitions: 2 }, { topic: 'pr-quiet', numPartitions: 1 }])

describe('samsa producers', () => {
  it("shows an idempotent producer's id and last sequence per partition", async () => {
    const producer = await env.producer({ idempotent: true, maxInFlightRequests: 1 })
    const before = Date.now()
    // Five records in one batch on partition 0 (sequences 0-4), then two more (5-6); one on partition 1.
    await producer.send({ topic: 'pr-events', messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition: 0 })) })
    await producer.send({ topic: 'pr-events', messages: [{ value: 'v5', partition: 0 }, { value: 'v6', partition: 0 }] })
    await producer.send({ topic: 'pr-events', messages: [{ value: 'w0', partition: 1 }] })

    const r = await samsa([...env.b, '--json', 'producers', 'pr-events'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const rows = jsonLines<ProducerRow>(r.stdout)
    expect(rows.map((x) => [x.partition, x.lastSequence])).toEqual([
      [0, 6],
      [1, 0],
    ])
    expect(new Set(rows.map((x) => x.producerId)).size).toBe(1)
    const [p0] = rows
    expect(p0.topic).toBe('pr-events')
    expect(p0.producerId).toBeGreaterThanOrEqual(0)
    expect(p0.producerEpoch).toBe(0)
    expect(p0.lastTimestamp).toBeGreaterThanOrEqual(before - 1000)
    expect(p0.currentTxnStartOffset).toBeNull()

    const human = await samsa([...env.b, 'producers', 'pr-events', '--partition', '0'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^TOPIC\s+PARTITION\s+PRODUCER-ID\s+EPOCH\s+LAST-SEQUENCE\s+LAST-TIMESTAMP\s+COORDINATOR-EPOCH\s+TXN-START-OFFSET\n/)
    expect(human.stdout).toMatch(new RegExp(`\\npr-events\\s+0\\s+${p0.producerId}\\s+0\\s+6\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+-?\\d+\\s+-\\n$`))
  })

  it('shows where an open transaction starts', async () => {
    const producer = await env.producer({ transactionalId: 'pr-tx', idempotent: true, maxInFlightRequests: 1 })
    const admin = env.kafka.admin()
    await admin.connect()
    const end = Number((await admin.fetchTopicOffsets('pr-events')).find((o) => o.partition === 1)!.high)
    await admin.disconnect()
    const tx = await producer.transaction()
    await tx.send({ topic: 'pr-events', messages: [{ value: 't0', partition: 1 }] })
    const r = await samsa([...env.b, '--json', 'producers', 'pr-events', '-p', '1'])
    expect(r.code).toBe(0)
    const open = jsonLines<ProducerRow>(r.stdout).filter((x) => x.currentTxnStartOffset !== null)
    expect(open).toHaveLength(1)
    expect(open[0].partition).toBe(1)
    expect(open[0].currentTxnStartOffset).toBe(end)
    await tx.commit()
    const after = await samsa([...env.b, '--json', 'producers', 'pr-events', '-p', '1'])
    expect(jsonLines<ProducerRow>(after.stdout).every((x) => x.currentTxnStartOffset === null)).toBe(true)
  })

  it('prints nothing for a topic without producers', async () => {
    const r = await samsa([...env.b, 'producers', 'pr-quiet'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe('')
  })

  it('reports an unknown topic or partition in one line with exit code 1', async () => {
    const topic = await samsa([...env.b, 'producers', 'pr-missing'])
    expect(topic.code).toBe(1)
    expect(topic.stdout).toBe('')
    expect(topic.stderr).toBe("samsa: unknown topic 'pr-missing'\n")
    const partition = await samsa([...env.b, 'producers', 'pr-quiet', '--partition', '7'])
    expect(partition.code).toBe(1)
    expect(partition.stderr).toBe("samsa: topic 'pr-quiet' has no partition 7\n")
    const usage = await samsa([...env.b, 'producers', 'pr-quiet', '--partition', 'x'])
    expect(usage.code).toBe(64)
  })

  it('fails clearly when the broker is unreachable', async () => {
    const port = await closedPort()
    const r = await samsa(['--bootstrap-server', `127.0.0.1:${port}`, 'producers', 'pr-events'])
    expect(r.code).toBe(69)
    expect(r.stderr).toBe(`samsa: cannot reach broker at 127.0.0.1:${port}: connection refused\n`)
  })

  it('documents itself with examples', async () => {
    const r = await samsa(['producers', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/Examples:\n\s+\$ samsa producers orders/)
  })
})
