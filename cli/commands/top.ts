// `samsa top`: the console's live view in a terminal. Every interval it samples the cluster (the
// admin API, or a Samsa broker's /metrics with --metrics-url) and shows each topic's records in
// and consumed per second and each group's lag. On a terminal the screen is redrawn in place with
// plain ANSI; piped, each refresh is printed after the last; --once prints one refresh and exits.
import { setTimeout as sleep } from 'node:timers/promises'
import { Option, type Command } from 'commander'
import type { AdminClient } from '../../broker/client/admin-client.js'
import { globalOptions, withAdmin } from '../lib/client.js'
import { writeOut } from '../lib/output.js'
import { formatBytes, formatTable, jsonLine } from '../lib/table.js'
import { parseDuration } from '../lib/time.js'
import { rates, sampleAdmin, sampleMetrics, type Sample } from '../lib/top-sampler.js'

interface TopOptions {
  interval: number
  once: boolean
  metricsUrl?: string
  internal: boolean
  limit: string
}

const CLEAR = '\x1b[H\x1b[2J'
const BOLD = (s: string, tty: boolean) => (tty ? `\x1b[1m${s}\x1b[0m` : s)

export function registerTop(program: Command): void {
  program
    .command('top')
    .description("live view of the cluster: topics' rates in and consumed, groups' lag")
    .addOption(new Option('--interval <duration>', 'time between refreshes (also the span --once measures over)').argParser(parseDuration).default(2000, '2s'))
    .option('--once', 'print one refresh and exit (no screen control)', false)
    .option('--metrics-url <url>', "read a Samsa broker's /metrics instead of the admin API (adds bytes in and out; http://user:pass@host:port/metrics for basic auth)")
    .option('--internal', 'include internal topics (__consumer_offsets, ...)', false)
    .option('--limit <n>', 'rows per table', '20')
    .addHelpText('after', '\nExamples:\n  $ samsa top --bootstrap-server broker:9092\n  $ samsa top --metrics-url http://broker:8080/metrics\n  $ samsa top --once --interval 5s --json')
    .action(async (opts: TopOptions, cmd: Command) => {
      const g = globalOptions(cmd)
      const limit = Math.max(1, Number.parseInt(opts.limit, 10) || 20)
      const run = async (sample: () => Promise<Sample>) => {
        const tty = !opts.once && process.stdout.isTTY === true
        let prev = await sample()
        let stopped = false
        process.once('SIGINT', () => (stopped = true))
        while (!stopped) {
          await sleep(opts.interval)
          const next = await sample()
          const view = rates(prev, next)
          prev = next
          if (g.json) await writeOut(jsonLine({ at: new Date(next.at).toISOString(), ...view }))
          else await writeOut((tty ? CLEAR : '') + render(view, next.at, limit, tty, opts.metricsUrl ?? g.bootstrapServer) + (tty ? '' : '\n'))
          if (opts.once) break
        }
      }
      if (opts.metricsUrl !== undefined) {
        const { url, authorization } = metricsTarget(opts.metricsUrl)
        await run(() => sampleMetrics(url, authorization, opts.internal))
      } else {
        await withAdmin(g, (admin: AdminClient) => run(() => sampleAdmin(admin, opts.internal)))
      }
    })
}

/** fetch refuses credentials in a URL: they move to a basic Authorization header. */
function metricsTarget(text: string): { url: string; authorization?: string } {
  const u = new URL(text)
  if (u.username === '' && u.password === '') return { url: u.toString() }
  const authorization = 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')
  u.username = ''
  u.password = ''
  return { url: u.toString(), authorization }
}

function rate(n: number | null): string {
  if (n === null) return '-'
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1)
}

function render(view: ReturnType<typeof rates>, at: number, limit: number, tty: boolean, source: string): string {
  const withBytes = view.topics.some((t) => t.bytesInPerSec !== null)
  const topicHeaders = ['TOPIC', 'IN/S', 'CONSUMED/S', ...(withBytes ? ['BYTES IN/S', 'BYTES OUT/S'] : []), 'RECORDS']
  const topicRows = view.topics.slice(0, limit).map((t) => [
    t.topic,
    rate(t.inPerSec),
    rate(t.consumedPerSec),
    ...(withBytes ? [formatBytes(t.bytesInPerSec === null ? null : Math.round(t.bytesInPerSec)), formatBytes(t.bytesOutPerSec === null ? null : Math.round(t.bytesOutPerSec))] : []),
    t.records,
  ])
  const groupRows = view.groups.slice(0, limit).map((g) => [g.group, g.lag, g.partitions, g.lagChangePerSec === null ? '-' : (g.lagChangePerSec > 0 ? '+' : '') + rate(g.lagChangePerSec)])
  const right = (n: number) => Array.from({ length: n }, (_, i) => (i === 0 ? 'left' : 'right') as 'left' | 'right')
  return [
    BOLD(`samsa top  ${source}  ${new Date(at).toISOString()}`, tty),
    '',
    BOLD('Topics', tty) + (view.topics.length > limit ? ` (top ${limit} of ${view.topics.length})` : ''),
    topicRows.length === 0 ? '(none)\n' : formatTable(topicHeaders, topicRows, right(topicHeaders.length)),
    BOLD('Groups', tty) + (view.groups.length > limit ? ` (top ${limit} of ${view.groups.length})` : ''),
    groupRows.length === 0 ? '(none)\n' : formatTable(['GROUP', 'LAG', 'PARTITIONS', 'LAG CHANGE/S'], groupRows, right(4)),
  ].join('\n')
}
