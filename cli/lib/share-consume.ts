// `samsa consume --share-group G`: a member of a share group (KIP-932), which reads a topic's
// partitions together with the group's other members, each record handed to one member at a time.
//
// Each record is printed and acknowledged with --ack (accept by default), or, with --exec, handed
// to a command (the value on stdin, the rest in SAMSA_* variables) and acknowledged by its exit
// status: 0 accept, 75 (EX_TEMPFAIL) release for another delivery, anything else reject. That
// makes a work queue from the shell: start the same command in several terminals. Records fetched
// but not handled (--max-messages reached, Ctrl-C) are released, so another member gets them at once.
import { spawn } from 'node:child_process'
import { ShareConsumer, type AcknowledgeType, type ShareRecord } from '../../broker/client/share-consumer.js'
import { brokerList, clientSecurityOf, withDeadline, type GlobalOptions } from './client.js'
import { CliError, protocolErrorType } from './errors.js'
import { headerMap, type RecordFormatter, type RecordView } from './format.js'
import { info, writeOut } from './output.js'

export interface ShareConsumeOptions {
  shareGroup: string
  ack: AcknowledgeType
  exec?: string
  maxMessages?: number
}

interface StopSwitch {
  isStopped: () => boolean
  stop: () => void
  release: () => void
}

/** Exit status of an --exec command that asks for the record to be delivered again (sysexits EX_TEMPFAIL). */
export const EXIT_RELEASE = 75

const NEWLINE = Buffer.from('\n')

export async function consumeShared(
  g: GlobalOptions,
  topic: string,
  opts: ShareConsumeOptions,
  formatter: RecordFormatter,
  stopSwitch: (onStop: () => void) => StopSwitch,
): Promise<number> {
  const consumer = new ShareConsumer({
    bootstrap: brokerList(g.bootstrapServer),
    clientId: g.clientId,
    timeoutMs: g.timeout,
    security: clientSecurityOf(g),
    groupId: opts.shareGroup,
    acknowledgementMode: 'explicit',
    maxWaitMs: 500,
    // One command at a time holds few locks: the rest stay available to the other members.
    maxRecords: opts.exec === undefined ? 500 : 1,
    onAcknowledgementCommit: (r) => {
      if (r.error !== null && r.offsets.length > 0) info(`acknowledging ${r.topic}-${r.partition} offsets ${r.offsets.join(',')} failed: ${r.error.message}`)
    },
  })
  let stopping = false
  const ctl = stopSwitch(() => (stopping = true))
  const limit = opts.maxMessages ?? Infinity
  let count = 0
  try {
    await withDeadline(consumer.connect(), g.timeout, `connecting to ${g.bootstrapServer}`)
    await consumer.cluster.metadata([topic])
    consumer.subscribe([topic])
    const view: RecordView = { topic, partition: 0, offset: '0', timestamp: '0', key: null, value: null, headers: undefined }
    while (!ctl.isStopped() && !stopping) {
      const records = await consumer.poll()
      if (opts.exec !== undefined) {
        for (const r of records) {
          if (ctl.isStopped() || count >= limit) consumer.acknowledge(r, 'release')
          else {
            consumer.acknowledge(r, await runCommand(opts.exec, r, ctl.isStopped))
            count++
          }
        }
      } else {
        const out: (Buffer | string)[] = []
        const printed: ShareRecord[] = []
        for (const r of records) {
          if (ctl.isStopped() || count >= limit) {
            consumer.acknowledge(r, 'release')
            continue
          }
          view.partition = r.partition
          view.offset = String(r.offset)
          view.timestamp = String(r.timestamp)
          view.key = r.key
          view.value = r.value
          view.headers = r.headers.length === 0 ? undefined : headerMap(r.headers)
          formatter(view, out)
          out.push(NEWLINE)
          printed.push(r)
          count++
        }
        // Acknowledged only once written: a record lost on the way out is delivered again.
        if (out.length > 0) await writeOut(Buffer.concat(out.map((c) => (typeof c === 'string' ? Buffer.from(c) : c))))
        for (const r of printed) consumer.acknowledge(r, opts.ack)
      }
      if (count >= limit) break
    }
  } catch (err) {
    if (protocolErrorType(err) === 'UNKNOWN_TOPIC_OR_PARTITION') throw new CliError(`unknown topic '${topic}'`)
    throw err
  } finally {
    ctl.release()
    await consumer.close()
  }
  return count
}

/** Runs `command` with the record's value on stdin; its exit status says how to acknowledge. */
function runCommand(command: string, r: ShareRecord, stopped: () => boolean): Promise<AcknowledgeType> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SAMSA_TOPIC: r.topic,
    SAMSA_PARTITION: String(r.partition),
    SAMSA_OFFSET: String(r.offset),
    SAMSA_TIMESTAMP: String(r.timestamp),
    SAMSA_DELIVERY_COUNT: String(r.deliveryCount),
  }
  if (r.key !== null) env.SAMSA_KEY = r.key.toString()
  else delete env.SAMSA_KEY
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { env, stdio: ['pipe', 'inherit', 'inherit'] })
    child.stdin.on('error', () => {})
    child.stdin.end(r.value ?? Buffer.alloc(0))
    child.on('error', (err) => {
      info(`cannot run '${command}': ${err.message}`)
      resolve('release')
    })
    child.on('close', (code) => {
      if (code === 0) resolve('accept')
      // Interrupted along with us (Ctrl-C reaches the whole process group, and a shell then exits
      // 130 rather than by the signal): another member tries the record again.
      else if (code === EXIT_RELEASE || stopped()) resolve('release')
      else resolve('reject')
    })
  })
}
