// Renders results.json as the README's client table. The README section between the markers is
// generated, never edited by hand; test/compat/matrix.test.ts fails when it differs from this.
import { FEATURES, type ClientResult, type MatrixResults } from './features.js'

export const MATRIX_START = '<!-- client-matrix:start -->'
export const MATRIX_END = '<!-- client-matrix:end -->'

const INTRO = [
  'Each cell is a test (`test/compat/matrix.test.ts`) that drives the real client against a Samsa',
  'broker and compares, byte for byte, what the broker stored and what the client read back with',
  'what was sent: keys, values, headers, offsets, timestamps and the batch codec. `n/a` means the',
  'client lacks the feature. A failing cell fails CI; its error is in',
  '`test/compat/matrix/results.json`. Regenerate the table with `npm run compat:matrix`.',
  '`@confluentinc/kafka-javascript` builds its librdkafka from the sources it bundles, so it is not',
  'in package.json: `test/compat/matrix/install-confluent-javascript.sh` installs it into `.cache/ckjs`',
  '(CI runs it); without it, its column is reported as unavailable.',
]

function columnTitle(c: ClientResult): string {
  return c.available ? `${c.name} ${c.version}` : c.name
}

export function renderMatrixTable(results: MatrixResults): string {
  const footnotes: string[] = []
  const mark = (note: string | undefined): string => {
    if (!note) return ''
    let i = footnotes.indexOf(note)
    if (i < 0) i = footnotes.push(note) - 1
    return ` [${i + 1}]`
  }
  const header = `| Feature | ${results.clients.map(columnTitle).join(' | ')} |`
  const rule = `|---|${results.clients.map(() => ':-:').join('|')}|`
  const rows = FEATURES.map((f) => {
    const cells = results.clients.map((c) => {
      const cell = c.cells[f.id]
      return cell ? `${cell.status}${mark(cell.note)}` : 'missing'
    })
    return `| ${f.label} | ${cells.join(' | ')} |`
  })
  const notes = footnotes.map((n, i) => `[${i + 1}] ${n}`)
  return [...INTRO, '', header, rule, ...rows, ...(notes.length ? ['', ...notes.flatMap((n) => [n, ''])].slice(0, -1) : [])].join('\n')
}

/** The generated text currently between the markers, or null when the README has none. */
export function currentMatrixSection(readme: string): string | null {
  const start = readme.indexOf(MATRIX_START)
  const end = readme.indexOf(MATRIX_END)
  if (start < 0 || end < start) return null
  return readme.slice(start + MATRIX_START.length, end).replace(/^\n/, '').replace(/\n$/, '')
}

export function replaceMatrixSection(readme: string, table: string): string {
  const start = readme.indexOf(MATRIX_START)
  const end = readme.indexOf(MATRIX_END)
  if (start < 0 || end < start) throw new Error(`README has no ${MATRIX_START} ... ${MATRIX_END} markers`)
  return `${readme.slice(0, start + MATRIX_START.length)}\n${table}\n${readme.slice(end)}`
}
