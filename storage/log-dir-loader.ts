// Opening a data directory at start, as Kafka's LogManager.loadLogs does: the clean-shutdown
// marker, the checkpoints, the scan that removes directories the metadata store does not know,
// and the opening of each partition (LogLoader: its indexes are trusted after a clean stop, and
// what lies past its recovery point is rescanned after an unclean one).
//
// The marker is removed (and the directory fsynced) before any partition opens, so a crash from
// then on recovers every partition that was written after its last flush. A partition opened
// later than the others (below) opens with the marker's verdict all the same: nothing has touched
// its files since the directory was opened.
//
// Topics the owner names may open after the rest, in the background (a broker's internal topics,
// read back only after it serves): one partition per turn of the event loop, so requests are
// answered meanwhile. Until a topic is open it has no logs here; its checkpoint entries are kept
// as read, so checkpoints written meanwhile lose nothing.
//
// Concurrency: on the event loop, while the LogManager opens (scan) or within its changes to the
// set of topics (the later opening), so no topic is created or deleted in between.
import path from 'node:path'
import type { DirDeleter } from './dir-deleter.js'
import { DELETE_DIR_SUFFIX } from './dir-deleter.js'
import type { FileIO } from './file-io.js'
import type { Logger } from './logger.js'
import type { MetadataStore, TopicRecord } from './metadata-store.js'
import type { PartitionLog } from './partition-log.js'

export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown'
/** The metadata store's directory inside a data directory. */
export const METADATA_DIR = 'metadata'
const PARTITION_DIR = /^(.+)-(\d+)$/

/** What a partition opening at start is told about the directory as it was found. */
export interface StartupState {
  recoveryPoint: number
  logStartOffset: number
  /** The data dir was stopped cleanly and this partition's directory was there: recovery is skipped. */
  hadCleanShutdown: boolean
}

export interface DirScan {
  /** The clean-shutdown marker was there. */
  clean: boolean
  /** Topics to open now, then those to open later. */
  now: TopicRecord[]
  later: TopicRecord[]
  recoveryPoints: Map<string, number>
  logStarts: Map<string, number>
}

export interface DirLoadContext {
  dataDir: string
  io: FileIO
  logger: Logger
  metadata: MetadataStore
  dirDeleter: DirDeleter
}

/**
 * Removes the clean-shutdown marker, reads the checkpoints and removes what the store does not
 * know (directories of unknown or removed partitions, and deleted ones left mid-removal).
 */
export async function scanDataDir(ctx: DirLoadContext, checkpoints: { recoveryPoints: Map<string, number>; logStarts: Map<string, number> }, openLater: (topic: string) => boolean): Promise<DirScan> {
  const { io, dataDir, logger } = ctx
  const marker = path.join(dataDir, CLEAN_SHUTDOWN_FILE)
  const clean = io.stat(marker) !== undefined
  if (clean) {
    io.unlink(marker)
    await io.fsyncDir(dataDir)
  }
  const topics = new Map(ctx.metadata.listTopics().map((t) => [t.name, t]))
  // A directory with no topics yet (a first start) has nothing to validate.
  if (!clean && topics.size > 0) {
    logger.info({ dataDir }, 'no clean shutdown marker; logs past their recovery point will be validated')
  }
  for (const name of io.readdir(dataDir)) {
    const full = path.join(dataDir, name)
    if (name === METADATA_DIR || !io.stat(full)?.isDirectory) continue
    if (name.endsWith(DELETE_DIR_SUFFIX)) {
      ctx.dirDeleter.removeInBackground(full)
      continue
    }
    const m = PARTITION_DIR.exec(name)
    const topic = m ? topics.get(m[1]!) : undefined
    if (m === null || topic === undefined || Number(m[2]) >= topic.partitions) {
      logger.warn({ dir: full }, 'removing directory of a partition the metadata store does not know')
      ctx.dirDeleter.renameAndRemove(full)
    }
  }
  const all = [...topics.values()]
  return { clean, now: all.filter((t) => !openLater(t.name)), later: all.filter((t) => openLater(t.name)), ...checkpoints }
}

/** How partition `p` of `topic` opens at start, from the scan. */
export function startupState(ctx: DirLoadContext, scan: DirScan, topic: string, p: number): StartupState {
  const key = `${topic}-${p}`
  return {
    recoveryPoint: scan.recoveryPoints.get(key) ?? 0,
    logStartOffset: scan.logStarts.get(key) ?? 0,
    hadCleanShutdown: scan.clean && ctx.io.stat(path.join(ctx.dataDir, key)) !== undefined,
  }
}

/** How long the later opening keeps the event loop before it lets requests in again. */
const TURN_MS = 1

/** The topics of a scan that open after the rest (LogManagerOptions.openLater), and how far they are. */
export class LaterOpening {
  private done: Promise<void> = Promise.resolve()

  constructor(private readonly scan?: DirScan) {}

  /**
   * Opens the topics still to open in turns of the event loop of about TURN_MS each, as one job of
   * `run` (the owner's changes to topics); `opened` gets each topic's logs once all are open.
   * Stops early when `stopped` says so (the owner closes): a partition left unopened keeps its
   * files as they were, and its checkpoint entries.
   */
  start(run: (job: () => Promise<void>) => Promise<void>, open: (topic: TopicRecord, p: number) => PartitionLog, opened: (topic: TopicRecord, logs: PartitionLog[]) => void, stopped: () => boolean): void {
    const scan = this.scan
    if (scan === undefined || scan.later.length === 0) return
    this.done = run(async () => {
      let turn = -Infinity
      while (scan.later.length > 0) {
        const topic = scan.later[0]!
        const logs: PartitionLog[] = []
        for (let p = 0; p < topic.partitions; p++) {
          if (performance.now() - turn >= TURN_MS) {
            await new Promise<void>((resolve) => setImmediate(resolve))
            turn = performance.now()
          }
          if (stopped()) {
            for (const log of logs) await log.close()
            return
          }
          logs.push(open(topic, p))
        }
        opened(topic, logs)
        scan.later.shift()
      }
    })
  }

  /** Resolves once every topic is open, or the opening stopped; at once when there was none. */
  whenOpen(): Promise<void> {
    return this.done
  }

  /** Partitions still to open. */
  get partitions(): number {
    let n = 0
    for (const t of this.scan?.later ?? []) n += t.partitions
    return n
  }

  /** Nothing left unopened that a clean stop did not leave: the close may write the marker. */
  get recovered(): boolean {
    return this.scan === undefined || this.scan.later.length === 0 || this.scan.clean
  }

  /** Checkpoint entries of the partitions still to open, as they were read. */
  entries(which: 'recoveryPoints' | 'logStarts'): Array<{ topic: string; partition: number; offset: number }> {
    const out: Array<{ topic: string; partition: number; offset: number }> = []
    for (const t of this.scan?.later ?? []) {
      for (let p = 0; p < t.partitions; p++) {
        const offset = this.scan![which].get(`${t.name}-${p}`)
        if (offset !== undefined) out.push({ topic: t.name, partition: p, offset })
      }
    }
    return out
  }
}
