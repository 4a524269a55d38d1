// `samsa transactions list|describe` against an in-process broker with a kafkajs transactional
// producer whose transaction is left open, then committed.
import { describe, expect, it } from 'vitest'
import type { Producer } from 'kafkajs'
import type { TransactionRow } from '../../cli/commands/transactions.js'
import { closedPort, jsonLines, samsa, useBrokerWithTopics } from './harness.js'


const env = useBrokerWithTopics([{ topic: 'tx-orders', numPartitions: 3 }, { topic: 'tx-audit', numPartitions: 1 }])

function txnProducer(transactionalId: string): Promise<Producer> {
  return env.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: 45_000 })
}

describe('samsa transactions', () => {
  it('shows an open transaction as Ongoing with its partitions, then CompleteCommit after commit', async () => {
    const producer = await txnProducer('cli-tx-1')
    const tx = await producer.transaction()
    await tx.send({ topic: 'tx-orders', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 2 }] })
    await tx.send({ topic: 'tx-audit', messages: [{ value: 'c', partition: 0 }] })
    const before = Date.now()

    const list = await samsa([...env.b, '--json', 'transactions', 'list'])
    expect(list.stderr).toBe('')
    expect(list.code).toBe(0)
    const listed = jsonLines<TransactionRow>(list.stdout)
    const row = listed.find((t) => t.transactionalId === 'cli-tx-1')
    expect(row).toBeDefined()
    expect(row!.state).toBe('Ongoing')
    expect(row!.producerId).toBeGreaterThanOrEqual(0)
    expect(row!.producerEpoch).toBeGreaterThanOrEqual(0)
    expect(row!.timeoutMs).toBe(45_000)
    expect(row!.startTimeMs).not.toBeNull()
    expect(row!.startTimeMs!).toBeLessThanOrEqual(before + 1000)
    expect(row!.ageMs).toBeGreaterThanOrEqual(0)
    expect(row!.partitions.sort((x, y) => x.topic.localeCompare(y.topic))).toEqual([
      { topic: 'tx-audit', partitions: [0] },
      { topic: 'tx-orders', partitions: [0, 2] },
    ])

    const human = await samsa([...env.b, 'transactions', 'list', '--state', 'Ongoing'])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/^TRANSACTIONAL-ID\s+PRODUCER-ID\s+EPOCH\s+STATE\s+COORDINATOR\s+TIMEOUT-MS\s+STARTED\s+AGE\s+PARTITIONS\n/)
    expect(human.stdout).toMatch(new RegExp(`\\ncli-tx-1\\s+${row!.producerId}\\s+${row!.producerEpoch}\\s+Ongoing\\s+\\d+\\s+45000\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+\\S+\\s+tx-audit:0 tx-orders:0,2\\n`))

    const byPid = await samsa([...env.b, '--json', 'transactions', 'list', '--producer-id', String(row!.producerId)])
    expect(jsonLines<TransactionRow>(byPid.stdout).map((t) => t.transactionalId)).toEqual(['cli-tx-1'])
    const otherPid = await samsa([...env.b, '--json', 'transactions', 'list', '--producer-id', String(row!.producerId + 1000)])
    expect(otherPid.code).toBe(0)
    expect(jsonLines<TransactionRow>(otherPid.stdout).map((t) => t.transactionalId)).not.toContain('cli-tx-1')

    const young = await samsa([...env.b, '--json', 'transactions', 'list', '--min-duration', '1h'])
    expect(young.code).toBe(0)
    expect(jsonLines<TransactionRow>(young.stdout).map((t) => t.transactionalId)).not.toContain('cli-tx-1')
    const anyAge = await samsa([...env.b, '--json', 'transactions', 'list', '--min-duration', '0'])
    expect(jsonLines<TransactionRow>(anyAge.stdout).map((t) => t.transactionalId)).toContain('cli-tx-1')

    const described = await samsa([...env.b, '--json', 'transactions', 'describe', 'cli-tx-1'])
    expect(described.stderr).toBe('')
    expect(described.code).toBe(0)
    const [d] = jsonLines<TransactionRow>(described.stdout)
    expect(d).toMatchObject({ transactionalId: 'cli-tx-1', state: 'Ongoing', producerId: row!.producerId, producerEpoch: row!.producerEpoch, timeoutMs: 45_000 })
    expect(d.partitions).toHaveLength(2)
    const describedHuman = await samsa([...env.b, 'transactions', 'describe', 'cli-tx-1'])
    expect(describedHuman.stdout).toMatch(/\ncli-tx-1\s+\d+\s+\d+\s+Ongoing\s+/)

    await tx.commit()

    const ongoing = await samsa([...env.b, '--json', 'transactions', 'list', '--state', 'Ongoing'])
    expect(jsonLines<TransactionRow>(ongoing.stdout).map((t) => t.transactionalId)).not.toContain('cli-tx-1')
    const committed = await samsa([...env.b, '--json', 'transactions', 'list', '--state', 'CompleteCommit'])
    expect(committed.code).toBe(0)
    const done = jsonLines<TransactionRow>(committed.stdout).find((t) => t.transactionalId === 'cli-tx-1')
    expect(done).toMatchObject({ state: 'CompleteCommit', partitions: [] })
  })

  it('lists several states given as a comma list, and rejects unknown ones', async () => {
    const open = await txnProducer('cli-tx-2')
    const tx = await open.transaction()
    await tx.send({ topic: 'tx-orders', messages: [{ value: 'x', partition: 1 }] })
    const both = await samsa([...env.b, '--json', 'transactions', 'list', '--state', 'Ongoing,CompleteCommit'])
    const states = new Map(jsonLines<TransactionRow>(both.stdout).map((t) => [t.transactionalId, t.state]))
    expect(states.get('cli-tx-2')).toBe('Ongoing')
    await tx.abort()
    const aborted = await samsa([...env.b, '--json', 'transactions', 'list', '--state', 'CompleteAbort'])
    expect(jsonLines<TransactionRow>(aborted.stdout).map((t) => t.transactionalId)).toContain('cli-tx-2')

    const bad = await samsa([...env.b, 'transactions', 'list', '--state', 'Running'])
    expect(bad.code).toBe(64)
    expect(bad.stdout).toBe('')
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/unknown transaction state 'Running'/)
  })

  it('reports an unknown transactional id in one line with a non-zero exit code', async () => {
    const r = await samsa([...env.b, 'transactions', 'describe', 'no-such-tx'])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe("samsa: unknown transactional id 'no-such-tx'\n")
  })

  it('fails clearly when the broker is unreachable', async () => {
    const port = await closedPort()
    const r = await samsa(['--bootstrap-server', `127.0.0.1:${port}`, 'transactions', 'list'])
    expect(r.code).toBe(69)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(`samsa: cannot reach broker at 127.0.0.1:${port}: connection refused\n`)
  })

  it('documents itself with examples', async () => {
    for (const sub of ['list', 'describe']) {
      const r = await samsa(['transactions', sub, '--help'])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/Examples:\n\s+\$ samsa transactions /)
    }
  })
})
