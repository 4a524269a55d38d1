// Aligned plain-text tables for people; JSON lines for programs. Numbers align right so
// columns of offsets and lags can be compared at a glance.

export type Cell = string | number | bigint | boolean | null | undefined

export interface Column<Row> {
  header: string
  get: (row: Row) => Cell
  align?: 'left' | 'right'
}

function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return '-'
  return String(cell)
}

function isNumeric(cell: Cell): boolean {
  return typeof cell === 'number' || typeof cell === 'bigint' || (typeof cell === 'string' && /^-?\d+$/.test(cell))
}

/** Renders rows under headers, two spaces between columns, no trailing spaces. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[], align?: readonly ('left' | 'right' | undefined)[]): string {
  const widths = headers.map((h) => h.length)
  const texts = rows.map((row) =>
    headers.map((_, i) => {
      const text = cellText(row[i])
      if (text.length > widths[i]) widths[i] = text.length
      return text
    }),
  )
  const rightAligned = headers.map((_, i) => {
    if (align?.[i] !== undefined) return align[i] === 'right'
    return rows.length > 0 && rows.every((r) => r[i] === null || r[i] === undefined || isNumeric(r[i]))
  })
  const renderLine = (cells: readonly string[]) =>
    cells
      .map((c, i) => (rightAligned[i] ? c.padStart(widths[i]) : i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [renderLine(headers), ...texts.map(renderLine)].join('\n') + '\n'
}

export function renderRows<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  return formatTable(
    columns.map((c) => c.header),
    rows.map((r) => columns.map((c) => c.get(r))),
    columns.map((c) => c.align),
  )
}

/** One JSON document per line; bigint offsets become strings so nothing loses precision. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n'
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || bytes < 0) return '-'
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}
