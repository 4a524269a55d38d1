// Compression codecs by name for the command line; the codecs themselves are
// protocol/compression.ts, the one implementation of Kafka's codecs (including the Xerial snappy
// framing the Java client writes).

import { Codec } from '../../protocol/compression.js'

export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
export type CompressionName = (typeof COMPRESSION_NAMES)[number]

/** The record batch codec (attribute bits) of a name. */
export function compressionCodec(name: CompressionName): number {
  switch (name) {
    case 'none':
      return Codec.None
    case 'gzip':
      return Codec.Gzip
    case 'snappy':
      return Codec.Snappy
    case 'lz4':
      return Codec.Lz4
    case 'zstd':
      return Codec.Zstd
  }
}
