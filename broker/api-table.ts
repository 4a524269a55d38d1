// Renders the README's table of served APIs from the handler registry, so the documentation, the
// ApiVersions response and the code cannot drift apart. `npm run docs:apis` rewrites the README;
// a test fails when the committed table differs.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { HandlerDef } from './handler.js'
import { clientTelemetryHandlers, handlers } from './handlers/index.js'

export const TABLE_START = '<!-- api-table:start -->'
export const TABLE_END = '<!-- api-table:end -->'

/** Client telemetry is served only with the HTTP endpoint (broker/index.ts), and the table says so. */
export function renderApiTable(list: ReadonlyArray<HandlerDef<any, any>> = [...handlers, ...clientTelemetryHandlers]): string {
  const rows = [...list]
    .sort((a, b) => a.api.apiKey - b.api.apiKey)
    .map((h) => `| ${h.api.apiKey} | ${h.api.name} | ${h.versions[0]}–${h.versions[1]}${clientTelemetryHandlers.includes(h) ? ' (with `--http-port`)' : ''} |`)
  return ['| Key | API | Versions served |', '|---:|---|---|', ...rows].join('\n')
}

export function replaceApiTable(readme: string, table: string): string {
  const start = readme.indexOf(TABLE_START)
  const end = readme.indexOf(TABLE_END)
  if (start < 0 || end < start) throw new Error('README has no api-table markers')
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2] ?? 'README.md'
  writeFileSync(file, replaceApiTable(readFileSync(file, 'utf8'), renderApiTable()))
}
