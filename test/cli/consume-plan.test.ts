import { describe, expect, it } from 'vitest'
import { KafkaProtocolError } from '../../broker/client/errors.js'
import { ErrorCode } from '../../protocol/errors.js'
import { clientOffsets, planConsumption as plan, type ConsumeOptions, type OffsetClient } from '../../cli/lib/consume-plan.js'

const planConsumption = (client: OffsetClient, topic: string, opts: ConsumeOptions) => plan(clientOffsets(client), topic, opts)

// Partition 0 holds offsets 10..20, partition 1 holds 0..5; the group committed 15 on partition 0.
function stubAdmin(): OffsetClient {
  return {
    partitions: async (topic) => {
      if (topic !== 't') throw new KafkaProtocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `metadata for topic '${topic}'`)
      return [0, 1]
    },
    listOffsets: async (_topic, partitions, spec) => {
      const byPartition =
        spec === 'earliest' ? [10, 0] : spec === 'latest' ? [20, 5] : spec.timestamp === 1000 ? [12, 3] : [20, 5]
      return new Map(partitions.map((p) => [p, byPartition[p]]))
    },
    committed: async () => new Map([['t', new Map([[0, 15]])]]),
  }
}

const base: ConsumeOptions = { fromBeginning: false, partition: [], exitAtEnd: true, commit: true }

describe('planConsumption', () => {
  it('starts at the end by default and at the start with --from-beginning', async () => {
    const latest = await planConsumption(stubAdmin(), 't', base)
    expect(latest.partitions).toEqual([0, 1])
    expect([...latest.seek]).toEqual([
      [0, 20],
      [1, 5],
    ])
    expect([...latest.end]).toEqual([
      [0, 20],
      [1, 5],
    ])
    const earliest = await planConsumption(stubAdmin(), 't', { ...base, fromBeginning: true })
    expect([...earliest.seek]).toEqual([
      [0, 10],
      [1, 0],
    ])
  })

  it('seeks the chosen partitions to --offset', async () => {
    const plan = await planConsumption(stubAdmin(), 't', { ...base, partition: ['1'], offset: '2' })
    expect(plan.partitions).toEqual([1])
    expect([...plan.seek]).toEqual([[1, 2]])
  })

  it('resolves --from-time through the timestamp index', async () => {
    const plan = await planConsumption(stubAdmin(), 't', { ...base, fromTime: '1000' + '0'.repeat(7) })
    expect([...plan.seek]).toEqual([
      [0, 20],
      [1, 5],
    ])
    const exact = await planConsumption(stubAdmin(), 't', { ...base, fromTime: '0000000001000' })
    expect([...exact.seek]).toEqual([
      [0, 12],
      [1, 3],
    ])
  })

  it('leaves a group at its committed offsets, falling back to the reset policy', async () => {
    const plan = await planConsumption(stubAdmin(), 't', { ...base, group: 'g', fromBeginning: true })
    expect(plan.seek.size).toBe(0)
    expect([...plan.position]).toEqual([
      [0, 15],
      [1, 0],
    ])
  })

  it('rejects a partition the topic does not have', async () => {
    await expect(planConsumption(stubAdmin(), 't', { ...base, partition: ['4'] })).rejects.toThrow("topic 't' has no partition 4 (partitions: 0-1)")
    await expect(planConsumption(stubAdmin(), 'nope', base)).rejects.toThrow("unknown topic 'nope'")
  })
})
