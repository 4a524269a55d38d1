// `samsa cluster status`: the brokers, the controller, and the partitions that are short of
// replicas, from one Metadata request. Works against any Kafka-compatible cluster.
import type { Command } from 'commander'
import type { ClusterMetadata } from '../../broker/client/cluster.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { formatTable, jsonLine } from '../lib/table.js'
import { writeOut } from '../lib/output.js'

export interface PartitionProblem {
  topic: string
  partition: number
  leader: number
  replicas: number[]
  isr: number[]
  offlineReplicas: number[]
}

export interface ClusterStatus {
  clusterId: string | null
  controller: number
  brokers: Array<{ nodeId: number; address: string; rack: string | null; controller: boolean; leaders: number; replicas: number }>
  underReplicated: PartitionProblem[]
  offline: PartitionProblem[]
}

export function clusterStatus(meta: ClusterMetadata): ClusterStatus {
  const leaders = new Map<number, number>()
  const replicas = new Map<number, number>()
  const underReplicated: PartitionProblem[] = []
  const offline: PartitionProblem[] = []
  for (const t of meta.topics) {
    for (const p of t.partitions) {
      leaders.set(p.leader, (leaders.get(p.leader) ?? 0) + 1)
      for (const r of p.replicas) replicas.set(r, (replicas.get(r) ?? 0) + 1)
      const problem = { topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas }
      if (p.leader < 0) offline.push(problem)
      else if (p.isr.length < p.replicas.length) underReplicated.push(problem)
    }
  }
  return {
    clusterId: meta.clusterId,
    controller: meta.controllerId,
    brokers: [...meta.brokers]
      .sort((a, b) => a.nodeId - b.nodeId)
      .map((b) => ({ nodeId: b.nodeId, address: `${b.host}:${b.port}`, rack: b.rack, controller: b.nodeId === meta.controllerId, leaders: leaders.get(b.nodeId) ?? 0, replicas: replicas.get(b.nodeId) ?? 0 })),
    underReplicated,
    offline,
  }
}

function renderProblems(title: string, problems: PartitionProblem[]): string {
  if (problems.length === 0) return `${title}: none\n`
  return (
    `${title}: ${problems.length}\n` +
    formatTable(
      ['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'OFFLINE'],
      problems.map((p) => [p.topic, p.partition, p.leader < 0 ? 'none' : p.leader, p.replicas.join(','), p.isr.join(','), p.offlineReplicas.join(',')]),
      ['left', undefined, undefined, 'left', 'left', 'left'],
    )
  )
}

export function renderStatus(s: ClusterStatus): string {
  const brokers = formatTable(
    ['BROKER', 'ADDRESS', 'RACK', 'CONTROLLER', 'LEADERS', 'REPLICAS'],
    s.brokers.map((b) => [b.nodeId, b.address, b.rack ?? '', b.controller ? 'yes' : '', b.leaders, b.replicas]),
    [undefined, 'left', 'left', 'left', undefined, undefined],
  )
  const controller = s.controller < 0 ? 'none' : String(s.controller)
  return `Cluster: ${s.clusterId ?? '(unknown)'}  Controller: ${controller}  Brokers: ${s.brokers.length}\n` + brokers + '\n' + renderProblems('Under-replicated partitions', s.underReplicated) + renderProblems('Offline partitions', s.offline)
}

export function registerCluster(program: Command): void {
  const cluster = program.command('cluster').description('the brokers of a cluster and the health of its partitions')
  cluster
    .command('status')
    .description('brokers, the controller, under-replicated and offline partitions')
    .addHelpText('after', '\nExit code 0 whatever the state; --json prints one object.\n\nExamples:\n  $ samsa cluster status\n  $ samsa cluster status --json | jq .offline')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = globalOptions(cmd)
      await withAdmin(g, async (admin) => {
        const status = clusterStatus(await admin.metadata(null))
        await writeOut(g.json ? jsonLine(status) : renderStatus(status))
      })
    })
}
