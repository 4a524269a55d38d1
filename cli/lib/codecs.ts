// Compression codecs by name for the command line, and Snappy, LZ4 and Zstandard plug-ins for
// kafkajs (which ships only gzip) while `consume` and `groups` still read through it. Both use
// protocol/compression.ts, the one implementation of Kafka's codecs (including the Xerial
// snappy framing the Java client writes).

import kafkajs from 'kafkajs'
import { Codec, compress, decompress } from '../../protocol/compression.js'

let registered = false

export function registerCodecs(): void {
  if (registered) return
  registered = true
  const { CompressionCodecs, CompressionTypes } = kafkajs
  const plugin = (codec: number) => () => ({
    compress: async (encoder: { buffer: Buffer }) => compress(codec, encoder.buffer),
    decompress: async (buf: Buffer) => decompress(codec, buf),
  })
  CompressionCodecs[CompressionTypes.Snappy] = plugin(Codec.Snappy)
  CompressionCodecs[CompressionTypes.LZ4] = plugin(Codec.Lz4)
  CompressionCodecs[CompressionTypes.ZSTD] = plugin(Codec.Zstd)
}

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
