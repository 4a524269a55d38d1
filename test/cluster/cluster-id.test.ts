// Which cluster a data directory belongs to, with a real etcd holding several clusters under
// different prefixes: a directory of cluster A is refused by cluster B (samsa serve exits 78 naming
// both cluster ids, as Kafka's InconsistentClusterIdException); a directory a single broker served can start a new cluster, which takes its id, and its topics are
// named in a warning and not served, but it cannot join another cluster.
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import kafkajs from 'kafkajs'
import { CLI_MAIN } from '../cli/harness.js'
import { ensureBuilt, startChildBroker, type ChildBroker } from '../helpers/child-broker.js'
import { makeTempDir, removeDir } from '../helpers/temp-dir.js'
import { Etcd, etcdMissing, withAdmin } from './harness.js'

const { Kafka, logLevel } = kafkajs

function kafka(address: string) {
  return new Kafka({ clientId: 'cluster-id-test', brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 } })
}

describe.skipIf(etcdMissing !== undefined)('a data directory joins only its own cluster (etcd)', () => {
  let etcd: Etcd
  const dirs: string[] = []
  // Two clusters on one etcd, each made by one broker that then stopped.
  let dirA: string
  let idA: string
  let idB: string
  beforeAll(async () => {
    await ensureBuilt()
    etcd = await Etcd.start()
    dirA = await newDir()
    const [a, b] = await Promise.all([inCluster(dirA, '/cluster-a'), newDir().then((d) => inCluster(d, '/cluster-b'))])
    ;[idA, idB] = await Promise.all([a, b].map(async (x) => (await describe(x)).clusterId))
    await Promise.all([a.stop(), b.stop()])
  }, 60_000)
  afterAll(async () => {
    await etcd?.stop()
    for (const d of dirs) await removeDir(d)
  })

  async function newDir(): Promise<string> {
    const d = await makeTempDir('samsa-cluster-id-')
    dirs.push(d)
    return d
  }

  function inCluster(dir: string, prefix: string): Promise<ChildBroker> {
    return startChildBroker(dir, { 'cluster.etcd.endpoints': etcd.endpoint, 'cluster.etcd.prefix': prefix, 'node.id': '1', 'broker.session.timeout.ms': '2000' }, { startTimeoutMs: 20_000 })
  }

  /** The cluster id a running broker reports, and the topics it lists. */
  async function describe(b: ChildBroker): Promise<{ clusterId: string; topics: string[] }> {
    return withAdmin(kafka(b.address), async (a) => ({ clusterId: (await a.describeCluster()).clusterId, topics: await a.listTopics() }))
  }

  /** `samsa serve --cluster` on `dir`: how it exits and what it printed on stderr (it must not start). */
  async function serveRefused(dir: string, prefix: string): Promise<{ code: number | null; stderr: string }> {
    const url = `${etcd.endpoint.replace('http://', 'etcd://')}${prefix}`
    const proc = spawn(process.execPath, [CLI_MAIN, 'serve', '--cluster', url, '--node-id', '1', '--port', '0', '-d', dir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    const code = await new Promise<number | null>((r) => proc.once('exit', (c) => r(c)))
    clearTimeout(timer)
    expect(stdout).not.toMatch(/listening on/)
    return { code, stderr }
  }

  it('refuses a data directory of another cluster, naming both ids', async () => {
    expect(idA).not.toBe(idB)
    const refused = await serveRefused(dirA, '/cluster-b')
    expect(refused.code).toBe(78)
    expect(refused.stderr).toContain(idA)
    expect(refused.stderr).toContain(idB)
    expect(refused.stderr).toContain('InconsistentClusterIdException')
  }, 30_000)

  it('lets a single broker\'s directory start a new cluster, warning that its topics are not served, but not join another', async () => {
    const dir = await newDir()
    const single = await startChildBroker(dir)
    let singleId: string
    try {
      await withAdmin(kafka(single.address), (adm) => adm.createTopics({ topics: [{ topic: 'local-orders', numPartitions: 2 }] }))
      singleId = (await describe(single)).clusterId
    } finally {
      await single.stop()
    }

    const first = await inCluster(dir, '/cluster-c')
    try {
      const seen = await describe(first)
      expect(seen.clusterId).toBe(singleId)
      expect(seen.topics).not.toContain('local-orders')
      expect(first.output()).toMatch(/"topics":\["local-orders"\].*not in the cluster/)
    } finally {
      await first.stop()
    }

    const refused = await serveRefused(dir, '/cluster-b')
    expect(refused.code).toBe(78)
    expect(refused.stderr).toContain(singleId)
    expect(refused.stderr).toContain(idB)
  }, 60_000)
})
