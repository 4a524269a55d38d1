// The matrix's vocabulary: which features each client is tried on, and the shape of
// results.json, the committed record of the latest run that the README table is rendered from.

export const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
export type CodecName = (typeof CODECS)[number]

export const FEATURES = [
  { id: 'metadata', label: 'Metadata: brokers, topics, partition leaders' },
  { id: 'createTopic', label: 'Create topic' },
  { id: 'produceKeys', label: 'Produce with keys' },
  { id: 'headers', label: 'Headers: produce and consume' },
  { id: 'codec-none', label: 'Compression: none' },
  { id: 'codec-gzip', label: 'Compression: gzip' },
  { id: 'codec-snappy', label: 'Compression: snappy' },
  { id: 'codec-lz4', label: 'Compression: lz4' },
  { id: 'codec-zstd', label: 'Compression: zstd' },
  { id: 'consumeBeginning', label: 'Consume from the beginning' },
  { id: 'consumeOffset', label: 'Consume from an offset' },
  { id: 'consumeTimestamp', label: 'Consume from a timestamp' },
  { id: 'group', label: 'Consumer group: join, commit, resume' },
  { id: 'groupKip848', label: 'Consumer group, KIP-848 (group.protocol=consumer): join, commit, resume' },
] as const

export type FeatureId = (typeof FEATURES)[number]['id']

export const codecFeature = (codec: CodecName): FeatureId => `codec-${codec}`

export type CellStatus = 'pass' | 'fail' | 'n/a'

export interface Cell {
  status: CellStatus
  /** The client's or the check's error, for a failed cell. */
  error?: string
  /** Footnote: why a cell is n/a, or how a passing cell was exercised when that needs saying. */
  note?: string
}

export interface ClientResult {
  /** Column title, e.g. `kafkajs`. */
  name: string
  /** Client version as the client reports it, e.g. `2.2.4` or `1.7.1 (librdkafka 2.0.2)`. */
  version: string
  /** False when the client could not be run at all (only allowed outside CI). */
  available: boolean
  cells: Record<FeatureId, Cell>
}

export interface MatrixResults {
  clients: ClientResult[]
}
