// `samsa dev-cluster`: one command brings up etcd and three brokers that form a cluster, and
// SIGTERM takes them all down again with exit code 0.
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { CLI_MAIN } from '../cli/harness.js'
import { ensureBuilt } from '../helpers/child-broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { waitForLine } from '../helpers/wait.js'
import { ETCD_BINARY, etcdMissing } from './harness.js'

const { Kafka, logLevel } = kafkajs

describe.skipIf(etcdMissing !== undefined)('samsa dev-cluster', () => {
  let dir: string | undefined
  afterAll(async () => {
    await removeDir(dir)
  })

  it('starts etcd and three brokers in one cluster, and stops them on SIGTERM', async () => {
    await ensureBuilt()
    dir = await makeTempDir('samsa-dev-cluster-')
    const proc = spawn(process.execPath, [CLI_MAIN, 'dev-cluster', '--brokers', '3', '--port', '0', '-d', dir, '--etcd', ETCD_BINARY], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
    try {
      const bootstrap = (await waitForLine(proc.stdout!, /^bootstrap (\S+)$/, 30_000).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${err}`))))[1]!.split(',')
      expect(bootstrap).toHaveLength(3)
      const admin = new Kafka({ clientId: 'dev-cluster-test', brokers: bootstrap, logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      try {
        const d = await admin.describeCluster()
        expect(d.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3])
        await admin.createTopics({ topics: [{ topic: 'dev', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })
        const md = await admin.fetchTopicMetadata({ topics: ['dev'] })
        expect(new Set(md.topics[0]!.partitions.map((p) => p.leader)).size).toBe(3)
      } finally {
        await admin.disconnect()
      }
    } finally {
      proc.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
  }, 60_000)
})
