// Which cluster a data directory belongs to. A data directory keeps the cluster id it was created or
// joined with (CLUSTER_ID_KEY in its metadata store, Kafka's cluster.id in meta.properties); a
// broker on it joins only the cluster of that id and refuses to start otherwise, naming both ids
// (Kafka's InconsistentClusterIdException), since joining would mix two clusters' partitions,
// offsets and producer ids. A directory without one (a new broker) takes the cluster's.
//
// A directory first served by a single broker has that broker's cluster id, and so can start the
// cluster as its first broker (the cluster takes its id) but cannot join another one. Its topics
// are not carried into the cluster: they are not in etcd, so no broker serves them, and their data
// stays on disk untouched until a cluster topic of the same name replaces it (role-applier.ts).
// localOnlyTopics names them so start-up can say so.
import type { LogManager } from '../../storage/log-manager.js'
import type { ClusterImage } from './cluster-image.js'

export class InconsistentClusterIdError extends Error {
  /** Start-up errors carry a code the serve command maps to an exit code. */
  readonly code = 'ECLUSTERID'

  constructor(
    readonly clusterId: string,
    readonly storedClusterId: string,
    where: { dataDir: string; endpoints: readonly string[]; prefix: string },
  ) {
    super(
      `The cluster id ${clusterId} in etcd (${where.endpoints.join(',')}, prefix ${where.prefix}) does not match the cluster id ${storedClusterId} ` +
        `stored in data directory ${where.dataDir}: this broker is trying to join the wrong cluster (InconsistentClusterIdException). ` +
        `Check cluster.etcd.endpoints and cluster.etcd.prefix, or start it on an empty data directory.`,
    )
    this.name = 'InconsistentClusterIdError'
  }
}

/** Topics in the data directory the cluster has none of that name (a single broker's, or deleted while this one was away). */
export function localOnlyTopics(logs: LogManager, image: ClusterImage): string[] {
  return logs
    .listTopics()
    .filter((t) => !image.topics.has(t.name))
    .map((t) => t.name)
}
