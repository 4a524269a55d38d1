// The log cleaner's state of a topic's compacted partitions for `samsa topics describe --data-dir`.
// No Kafka API carries it (Kafka publishes it as LogCleanerManager JMX metrics), so it is read from
// the cleaner-state.json the broker writes into its data directory after each cleaner pass; the
// command must run where that directory is, and the figures are as of the broker's last pass.
import { CleanerStateFile, type PartitionCleanerState } from '../../storage/cleaner-state.js'
import { nodeFileIO } from '../../storage/file-io.js'
import { formatBytes, formatTable } from './table.js'

export interface TopicCleanerState {
  /** When the broker wrote the state; null when the data dir holds none. */
  writtenMs: number | null
  partitions: Array<Omit<PartitionCleanerState, 'topic'>>
}

export function readTopicCleanerState(dataDir: string, topic: string): TopicCleanerState {
  const snapshot = new CleanerStateFile(nodeFileIO, dataDir).read()
  if (snapshot === undefined) return { writtenMs: null, partitions: [] }
  return {
    writtenMs: snapshot.writtenMs,
    partitions: snapshot.partitions.filter((p) => p.topic === topic).map(({ topic: _topic, ...rest }) => rest),
  }
}

const time = (ms: number): string => (ms < 0 ? '-' : new Date(ms).toISOString())

export function renderCleanerState(s: TopicCleanerState, dataDir: string): string {
  if (s.writtenMs === null) return `Cleaner: no cleaner-state.json in ${dataDir} (log.cleaner.enable=false, or no pass yet)\n`
  if (s.partitions.length === 0) return `Cleaner: not a compacted topic (state of ${time(s.writtenMs)})\n`
  const table = formatTable(
    ['PARTITION', 'DIRTY', 'FIRST-DIRTY', 'LAST-CLEANED', 'RECLAIMED', 'DELETE-HORIZON', 'UNCLEANABLE'],
    s.partitions.map((p) => [
      p.partition,
      `${(p.dirtyRatio * 100).toFixed(1)}%`,
      p.firstDirtyOffset,
      time(p.lastRunMs),
      formatBytes(p.bytesReclaimed),
      time(p.deleteHorizonMs),
      p.uncleanableReason ?? '-',
    ]),
    [undefined, 'right', undefined, 'left', 'right', 'left', 'left'],
  )
  return `Cleaner (state of ${time(s.writtenMs)}):\n${table}`
}
