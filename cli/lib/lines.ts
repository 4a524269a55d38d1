// Splits a byte stream into lines without decoding it, so produced values are exactly the
// input bytes. Lines are views into the incoming chunks; only a line that straddles two
// chunks is copied.

const NEWLINE = 0x0a

export class LineSplitter {
  private carry: Buffer | null = null

  /** Calls `onLine` for every complete line in `chunk`. */
  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0
    let nl = chunk.indexOf(NEWLINE)
    if (this.carry !== null && nl !== -1) {
      onLine(Buffer.concat([this.carry, chunk.subarray(0, nl)]))
      this.carry = null
      start = nl + 1
      nl = chunk.indexOf(NEWLINE, start)
    }
    while (nl !== -1) {
      onLine(chunk.subarray(start, nl))
      start = nl + 1
      nl = chunk.indexOf(NEWLINE, start)
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start)
      this.carry = this.carry === null ? Buffer.from(rest) : Buffer.concat([this.carry, rest])
    }
  }

  /** Flushes a final line that had no trailing newline. */
  end(onLine: (line: Buffer) => void): void {
    if (this.carry !== null && this.carry.length > 0) onLine(this.carry)
    this.carry = null
  }
}

export interface ParsedLine {
  key: Buffer | null
  value: Buffer
  headers: Record<string, string> | undefined
}

export interface LineFormat {
  keySeparator?: Buffer
  headerSeparator?: Buffer
  staticHeaders?: Record<string, string>
}

export class LineFormatError extends Error {}

/** `k=v,k2=v2` -> { k: 'v', k2: 'v2' } */
export function parseHeaderList(text: string): Record<string, string> {
  const headers: Record<string, string> = {}
  if (text === '') return headers
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new LineFormatError(`invalid header '${pair}' (expected name=value)`)
    headers[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return headers
}

export function parseLine(line: Buffer, format: LineFormat): ParsedLine {
  let rest = line
  let headers = format.staticHeaders
  if (format.headerSeparator !== undefined) {
    const at = rest.indexOf(format.headerSeparator)
    if (at === -1) throw new LineFormatError('no header separator found')
    const own = parseHeaderList(rest.toString('utf8', 0, at))
    headers = headers === undefined ? own : { ...headers, ...own }
    rest = rest.subarray(at + format.headerSeparator.length)
  }
  let key: Buffer | null = null
  if (format.keySeparator !== undefined) {
    const at = rest.indexOf(format.keySeparator)
    if (at === -1) throw new LineFormatError('no key separator found')
    key = rest.subarray(0, at)
    rest = rest.subarray(at + format.keySeparator.length)
  }
  return { key, value: rest, headers }
}
