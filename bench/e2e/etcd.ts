// A single-member etcd on free loopback ports, for the cluster-mode benchmarks.
import path from 'node:path'
import { freePort, startService, type Service } from './procs.js'

export const ETCD = process.env.SAMSA_ETCD ?? '/usr/bin/etcd'

/** Starts etcd with its data under `dir`; `endpoint` is its client URL. */
export async function startEtcd(dir: string): Promise<{ service: Service; endpoint: string }> {
  const client = await freePort()
  const peer = `http://127.0.0.1:${await freePort()}`
  const endpoint = `http://127.0.0.1:${client}`
  const service = await startService(
    ETCD,
    ['--name', 'bench', '--data-dir', path.join(dir, 'etcd'), '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `bench=${peer}`, '--log-level', 'info'],
    /serving client traffic|ready to serve client requests/i,
  )
  return { service, endpoint }
}
