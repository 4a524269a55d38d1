import fs from 'node:fs'
import type { Readable } from 'node:stream'
import type { Command } from 'commander'
import { Producer, type ProducerRecord, type SentBatch } from '../../broker/client/producer.js'
import { clientOptions, globalOptions, withDeadline } from '../lib/client.js'
import { COMPRESSION_NAMES, compressionCodec, type CompressionName } from '../lib/codecs.js'
import { CliError, protocolErrorType, usageError } from '../lib/errors.js'
import { LineFormatError, LineSplitter, parseHeaderList, parseLine, type LineFormat } from '../lib/lines.js'
import { info, writeOut } from '../lib/output.js'
import { createProgress } from '../lib/progress.js'
import { formatBytes, jsonLine } from '../lib/table.js'

interface ProduceOptions {
  file?: string
  keySeparator?: string
  headers: string[]
  headerSeparator?: string
  partition?: number
  acks: string
  compression: CompressionName
  batchSize: number
  maxInFlight: number
  progress?: boolean
}

function nonNegativeInt(name: string) {
  return (text: string): number => {
    const n = Number(text)
    if (!Number.isInteger(n) || n < 0) throw usageError(`${name} must be a non-negative integer, got '${text}'`)
    return n
  }
}

function parseAcks(text: string): number {
  if (text === 'all' || text === '-1') return -1
  if (text === '0' || text === '1') return Number(text)
  throw usageError(`--acks must be all, -1, 0 or 1, got '${text}'`)
}

/** Unescapes \t and \n so separators can be typed on a shell line. */
function separator(text: string): Buffer {
  return Buffer.from(text.replace(/\\t/g, '\t').replace(/\\n/g, '\n'), 'utf8')
}

export function registerProduce(program: Command): void {
  program
    .command('produce')
    .argument('<topic>', 'topic to write to')
    .description('write one record per input line (stdin or --file)')
    .option('-f, --file <path>', 'read lines from a file instead of stdin')
    .option('-K, --key-separator <sep>', 'split each line at the first <sep> into key and value')
    .option('-H, --headers <name=value,...>', 'headers added to every record, repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .option('--header-separator <sep>', 'each line starts with its own headers "a=1,b=2" followed by <sep>')
    .option('-p, --partition <n>', 'write every record to this partition', nonNegativeInt('--partition'))
    .option('--acks <all|1|0>', 'acknowledgements to wait for', 'all')
    .option('-z, --compression <codec>', `compression: ${COMPRESSION_NAMES.join(', ')}`, 'none')
    .option('--batch-size <n>', 'records per produce request', nonNegativeInt('--batch-size'), 1000)
    .option('--max-in-flight <n>', 'produce requests in flight at once (more than 1 may reorder records on retry)', nonNegativeInt('--max-in-flight'), 1)
    .option('--no-progress', 'never draw the progress bar')
    .addHelpText(
      'after',
      `
Every line becomes one record; the bytes are sent unchanged (no trailing newline).
A summary (records, bytes, partitions, elapsed) is printed to stderr, or to stdout with --json.

Examples:
  $ echo hello | samsa produce greetings
  $ samsa produce orders --file orders.txt --compression zstd
  $ printf 'user1:clicked\\nuser2:scrolled\\n' | samsa produce events --key-separator :
  $ samsa produce events -H source=cli,env=dev < lines.txt
  $ printf 'trace=abc\\tk1:v1\\n' | samsa produce events --header-separator '\\t' -K :`,
    )
    .action(async (topic: string, opts: ProduceOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      if (!(COMPRESSION_NAMES as readonly string[]).includes(opts.compression)) {
        throw usageError(`unknown compression '${opts.compression}' (${COMPRESSION_NAMES.join(', ')})`)
      }
      const acks = parseAcks(opts.acks)
      const batchSize = Math.max(1, opts.batchSize)
      const maxInFlight = Math.max(1, opts.maxInFlight)
      let staticHeaders: Record<string, string> | undefined
      try {
        for (const h of opts.headers) staticHeaders = { ...staticHeaders, ...parseHeaderList(h) }
      } catch (err) {
        throw usageError(`--headers: ${(err as Error).message}`)
      }
      const format: LineFormat = {
        keySeparator: opts.keySeparator !== undefined ? separator(opts.keySeparator) : undefined,
        headerSeparator: opts.headerSeparator !== undefined ? separator(opts.headerSeparator) : undefined,
        staticHeaders,
      }

      let input: NodeJS.ReadableStream
      let totalBytes: number | null = null
      if (opts.file !== undefined) {
        try {
          totalBytes = fs.statSync(opts.file).size
        } catch (err) {
          throw new CliError(`cannot read '${opts.file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
        }
        input = fs.createReadStream(opts.file, { highWaterMark: 256 * 1024 })
      } else {
        input = process.stdin
      }

      // Each send is one produce request's worth of lines, sent at once (no linger); a partition's
      // share of it becomes one batch unless it passes BATCH_BYTES.
      const producer = new Producer({
        ...clientOptions(g),
        acks,
        compression: compressionCodec(opts.compression),
        lingerMs: 0,
        batchSize: BATCH_BYTES,
        idempotent: false,
        maxInFlight,
        allowAutoTopicCreation: true,
      })
      try {
        await withDeadline(producer.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
      } catch (err) {
        await producer.close().catch(() => {})
        throw err
      }
      const progress = createProgress(totalBytes, opts.progress !== false && process.stderr.isTTY === true && (totalBytes !== null || !process.stdin.isTTY))
      const started = performance.now()
      const partitions = new Set<number>()
      let records = 0
      let bytes = 0
      let lineNo = 0
      try {
        const sender = new BatchSender(producer, topic, maxInFlight, partitions)
        let batch: ProducerRecord[] = []
        let batchBytes = 0
        // A large chunk holds many batches' worth of lines; they queue here until sent.
        const ready: [ProducerRecord[], number][] = []
        // Lines without headers of their own share the converted --headers list.
        const staticHeaders = headerList(format.staticHeaders)
        const splitter = new LineSplitter()
        const onLine = (line: Buffer) => {
          lineNo++
          let parsed
          try {
            parsed = parseLine(line, format)
          } catch (err) {
            if (err instanceof LineFormatError) throw new CliError(`line ${lineNo}: ${err.message}`)
            throw err
          }
          const message: ProducerRecord = { key: parsed.key, value: parsed.value }
          if (parsed.headers !== undefined) message.headers = parsed.headers === format.staticHeaders ? staticHeaders : headerList(parsed.headers)
          if (opts.partition !== undefined) message.partition = opts.partition
          batch.push(message)
          records++
          bytes += line.length
          batchBytes += line.length + 1
          if (batch.length >= batchSize) {
            ready.push([batch, batchBytes])
            batch = []
            batchBytes = 0
          }
        }
        for await (const chunk of input) {
          splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer), onLine)
          for (const [full, size] of ready.splice(0)) {
            await sender.send(full, size)
            progress.update(sender.sent)
          }
          // Nothing more buffered: send what we have rather than wait for a full batch, so
          // interactive input and `tail -f | samsa produce` deliver each line promptly.
          if (batch.length > 0 && (input as Readable).readableLength === 0) {
            await sender.send(batch, batchBytes)
            batch = []
            batchBytes = 0
          }
          progress.update(sender.sent)
        }
        splitter.end(onLine)
        for (const [full, size] of ready.splice(0)) await sender.send(full, size)
        if (batch.length > 0) await sender.send(batch, batchBytes)
        await sender.drain()
      } catch (err) {
        if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') {
          throw new CliError(opts.partition !== undefined ? `unknown topic or partition '${topic}' partition ${opts.partition}` : `unknown topic '${topic}'`)
        }
        throw err
      } finally {
        progress.stop()
        await producer.close().catch(() => {})
      }
      const elapsedMs = performance.now() - started
      const summary = {
        topic,
        records,
        bytes,
        partitions: [...partitions].sort((a, b) => a - b),
        elapsedMs: Math.round(elapsedMs),
        recordsPerSecond: Math.round(records / Math.max(elapsedMs / 1000, 0.001)),
      }
      if (g.json) {
        await writeOut(jsonLine(summary))
      } else {
        info(
          `produced ${records} record(s), ${formatBytes(bytes)} to '${topic}' ` +
            `partition(s) ${summary.partitions.join(',') || '-'} in ${(elapsedMs / 1000).toFixed(2)}s (${summary.recordsPerSecond} records/s)`,
        )
      }
    })
}

/** Largest batch the CLI asks for: half of a broker's default message.max.bytes. */
const BATCH_BYTES = 512 * 1024

function headerList(headers: Record<string, string> | undefined): { key: string; value: string }[] | undefined {
  return headers === undefined ? undefined : Object.entries(headers).map(([key, value]) => ({ key, value }))
}

/** Keeps up to `maxInFlight` sends outstanding; the first failure stops the run. */
class BatchSender {
  private readonly inFlight = new Set<Promise<void>>()
  private failure: unknown = null
  /** Records the broker has acknowledged so far, and the input bytes they came from. */
  readonly sent = { records: 0, bytes: 0 }

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly maxInFlight: number,
    private readonly partitions: Set<number>,
  ) {}

  async send(messages: ProducerRecord[], bytes: number): Promise<void> {
    if (this.failure !== null) throw this.failure
    const p = this.producer
      .send(this.topic, messages)
      .then((meta: SentBatch[]) => {
        for (const m of meta) this.partitions.add(m.partition)
        this.sent.records += messages.length
        this.sent.bytes += bytes
      })
      .catch((err: unknown) => {
        this.failure ??= err
      })
      .finally(() => this.inFlight.delete(p))
    this.inFlight.add(p)
    if (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight)
    if (this.failure !== null) throw this.failure
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight)
    if (this.failure !== null) throw this.failure
  }
}
