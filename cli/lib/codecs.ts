// Snappy, LZ4 and Zstandard for kafkajs, which ships only gzip. Kafka's wire formats:
// snappy is raw blocks when we write (as librdkafka does) and either raw or Xerial-framed
// (as the Java client writes) when we read; LZ4 is the LZ4 frame format; zstd a zstd frame.

import kafkajs from 'kafkajs'
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy'
import { compressFrameSync, decompressFrameSync } from 'lz4-napi'
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi'

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_LENGTH = 16

export function snappyDecode(buf: Buffer): Buffer {
  if (buf.length < XERIAL_HEADER_LENGTH || !buf.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    return snappyUncompress(buf) as Buffer
  }
  const chunks: Buffer[] = []
  let pos = XERIAL_HEADER_LENGTH
  while (pos + 4 <= buf.length) {
    const size = buf.readInt32BE(pos)
    pos += 4
    chunks.push(snappyUncompress(buf.subarray(pos, pos + size)) as Buffer)
    pos += size
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
}

interface Encoder {
  buffer: Buffer
}

let registered = false

export function registerCodecs(): void {
  if (registered) return
  registered = true
  const { CompressionCodecs, CompressionTypes } = kafkajs
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: async (encoder: Encoder) => snappyCompress(encoder.buffer),
    decompress: async (buf: Buffer) => snappyDecode(buf),
  })
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: Encoder) => compressFrameSync(encoder.buffer),
    decompress: async (buf: Buffer) => decompressFrameSync(buf),
  })
  CompressionCodecs[CompressionTypes.ZSTD] = () => ({
    compress: async (encoder: Encoder) => zstdCompress(encoder.buffer),
    decompress: async (buf: Buffer) => zstdDecompress(buf),
  })
}

export const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const
export type CompressionName = (typeof COMPRESSION_NAMES)[number]

export function compressionType(name: CompressionName): number {
  const { CompressionTypes } = kafkajs
  switch (name) {
    case 'none':
      return CompressionTypes.None
    case 'gzip':
      return CompressionTypes.GZIP
    case 'snappy':
      return CompressionTypes.Snappy
    case 'lz4':
      return CompressionTypes.LZ4
    case 'zstd':
      return CompressionTypes.ZSTD
  }
}
