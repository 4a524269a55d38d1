// An in-process broker for the share-group CLI tests: short record locks (1.5 s) and heartbeat
// intervals (100 ms), topics created, a kafkajs producer, and helpers to read the CLI's output.
import { existsSync, readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect } from 'vitest'
import type { Producer } from 'kafkajs'
import { startBroker, type RunningBroker } from '../../broker/index.js'
import { AdminClient, AlterConfigOp, ConfigResourceType } from '../../broker/client/admin-client.js'
import { kafkaClient } from '../helpers/broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { ensureBuilt, jsonLines, samsa } from './harness.js'

export interface ShareCliEnv {
  /** `--bootstrap-server <address>`. */
  b: string[]
  admin: AdminClient
  /** A temporary directory for the commands' files. */
  dir: string
}

let broker: RunningBroker
let producer: Producer
let admin: AdminClient

/** Starts the broker before the file's tests and stops it after; the fields are set once beforeAll ran. */
export function useShareBroker(topics: string[]): ShareCliEnv {
  const env = { b: [], dir: '' } as unknown as ShareCliEnv
  beforeAll(async () => {
    ensureBuilt()
    env.dir = await makeTempDir('samsa-share-cli-')
    broker = await startBroker({
      port: 0,
      config: {
        'group.share.record.lock.duration.ms': '1500',
        'group.share.min.record.lock.duration.ms': '1000',
        'group.share.heartbeat.interval.ms': '100',
        'group.share.min.heartbeat.interval.ms': '100',
      },
    })
    env.b.push('--bootstrap-server', broker.address)
    admin = env.admin = new AdminClient({ bootstrap: [broker.address] })
    await admin.createTopics(topics.map((name) => ({ name, numPartitions: 1, replicationFactor: 1 })))
    producer = kafkaClient(broker.address).producer()
    await producer.connect()
  })

  afterAll(async () => {
    await producer?.disconnect()
    await admin?.close()
    await broker?.stop()
    if (env.dir !== '') await removeDir(env.dir)
  })
  return env
}

export async function earliest(groupId: string): Promise<void> {
  await admin.incrementalAlterConfigs({ type: ConfigResourceType.Group, name: groupId }, [{ name: 'share.auto.offset.reset', op: AlterConfigOp.Set, value: 'earliest' }])
}

export async function produce(topic: string, values: string[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition: 0 })) })
}

export function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []
}

export interface ShareGroupJson {
  group: string
  type: string
  state: string
  members: { memberId: string; assignment: Record<string, number[]> }[]
  partitions: { topic: string; partition: number; startOffset: number | null; logEndOffset: number; lag: number | null; inFlight: number | null; available: number | null; members: number }[]
}

export async function describeJson(b: string[], group: string): Promise<ShareGroupJson> {
  const r = await samsa([...b, '--json', 'groups', 'describe', group])
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  return jsonLines<ShareGroupJson>(r.stdout)[0]!
}

