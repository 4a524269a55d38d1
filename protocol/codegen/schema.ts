// Reads Kafka's JSON message schemas into a typed model the emitter walks.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** Inclusive version range; `hi` is Infinity for an open range such as "3+". */
export interface VersionRange {
  lo: number
  hi: number
}

export type PrimitiveName =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'uint32'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid'

export type FieldType =
  | { kind: 'primitive'; name: PrimitiveName }
  | { kind: 'array'; element: FieldType }
  | { kind: 'struct'; struct: StructSpec }

export interface FieldSpec {
  schemaName: string
  prop: string
  type: FieldType
  versions: VersionRange | null
  nullable: VersionRange | null
  tagged: VersionRange | null
  tag: number | undefined
  /** A field-level `"flexibleVersions": "none"` keeps the classic encoding in flexible versions. */
  neverFlexible: boolean
  default: string | number | boolean | undefined
}

export interface StructSpec {
  /** TypeScript name: message name + schema struct name (or the message name for the root). */
  name: string
  fields: FieldSpec[]
  /** Versions in which this struct can be encountered; narrows the emitted version guards. */
  context: VersionRange
}

export interface MessageSpec {
  name: string
  type: 'request' | 'response' | 'header' | 'data'
  apiKey: number | undefined
  valid: VersionRange
  flexible: VersionRange | null
  latestVersionUnstable: boolean
  root: StructSpec
  /** Every struct of the message, root first, then in order of first definition. */
  structs: StructSpec[]
}

const PRIMITIVES = new Set<string>([
  'int8', 'int16', 'int32', 'int64', 'uint16', 'uint32', 'float64', 'bool', 'string', 'bytes', 'records', 'uuid',
])

export function parseVersions(spec: unknown, what: string): VersionRange | null {
  if (spec === undefined || spec === 'none') return null
  if (typeof spec !== 'string') throw new Error(`${what}: version spec must be a string`)
  const s = spec.trim()
  let m = /^(\d+)\+$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Infinity }
  m = /^(\d+)-(\d+)$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Number(m[2]) }
  m = /^(\d+)$/.exec(s)
  if (m) return { lo: Number(m[1]), hi: Number(m[1]) }
  throw new Error(`${what}: bad version spec ${JSON.stringify(spec)}`)
}

export function intersect(a: VersionRange | null, b: VersionRange | null): VersionRange | null {
  if (a === null || b === null) return null
  const lo = Math.max(a.lo, b.lo)
  const hi = Math.min(a.hi, b.hi)
  return lo <= hi ? { lo, hi } : null
}

/** Removes `//` line comments that are not inside a JSON string. */
export function stripComments(text: string): string {
  let out = ''
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (inString) {
      out += c
      if (c === '\\') {
        out += text[i + 1] ?? ''
        i++
      } else if (c === '"') inString = false
      continue
    }
    if (c === '"') {
      inString = true
      out += c
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      out += '\n'
    } else out += c
  }
  return out
}

export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1)
}

interface RawField {
  name: string
  type: string
  versions?: string
  nullableVersions?: string
  taggedVersions?: string
  tag?: number
  flexibleVersions?: string
  default?: string | number | boolean
  fields?: RawField[]
}

interface RawMessage {
  name: string
  type: MessageSpec['type']
  apiKey?: number
  validVersions: string
  flexibleVersions?: string
  latestVersionUnstable?: boolean
  fields: RawField[]
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[]
}

export function loadMessage(dir: string, schemaName: string): MessageSpec {
  const file = join(dir, `${schemaName}.json`)
  const raw = JSON.parse(stripComments(readFileSync(file, 'utf8'))) as RawMessage
  return buildMessage(raw)
}

export function buildMessage(raw: RawMessage): MessageSpec {
  const valid = parseVersions(raw.validVersions, raw.name)
  if (valid === null) throw new Error(`${raw.name}: no valid versions`)
  const structs: StructSpec[] = []
  const byName = new Map<string, StructSpec>()

  const root: StructSpec = { name: raw.name, fields: [], context: valid }
  structs.push(root)

  // Common structs are declared up front so fields can refer to them by name. They may be
  // reached from fields with different version ranges, so they keep the message's full range.
  for (const cs of raw.commonStructs ?? []) {
    const spec: StructSpec = { name: raw.name + cs.name, fields: [], context: valid }
    byName.set(cs.name, spec)
  }

  const buildType = (f: RawField, where: string, ctx: VersionRange): FieldType => {
    let t = f.type
    const isArray = t.startsWith('[]')
    if (isArray) t = t.slice(2)
    let element: FieldType
    if (PRIMITIVES.has(t)) {
      if (f.fields) throw new Error(`${where}: primitive ${t} with fields`)
      element = { kind: 'primitive', name: t as PrimitiveName }
    } else if (f.fields) {
      if (byName.has(t) && !(raw.commonStructs ?? []).some((c) => c.name === t)) {
        throw new Error(`${where}: struct ${t} defined twice`)
      }
      const spec: StructSpec = { name: raw.name + t, fields: [], context: ctx }
      byName.set(t, spec)
      structs.push(spec)
      spec.fields = f.fields.map((sub) => buildField(sub, `${where}.${sub.name}`, ctx))
      element = { kind: 'struct', struct: spec }
    } else {
      const spec = byName.get(t)
      if (!spec) throw new Error(`${where}: unknown type ${t}`)
      element = { kind: 'struct', struct: spec }
    }
    return isArray ? { kind: 'array', element } : element
  }

  const buildField = (f: RawField, where: string, parentCtx: VersionRange): FieldSpec => {
    const versions = intersect(parseVersions(f.versions, where), parentCtx)
    const tagged = parseVersions(f.taggedVersions, where)
    return {
      schemaName: f.name,
      prop: camelCase(f.name),
      type: buildType(f, where, versions ?? parentCtx),
      versions,
      nullable: parseVersions(f.nullableVersions, where),
      tagged,
      tag: f.tag,
      neverFlexible: f.flexibleVersions === 'none',
      default: f.default,
    }
  }

  root.fields = raw.fields.map((f) => buildField(f, `${raw.name}.${f.name}`, valid))
  for (const cs of raw.commonStructs ?? []) {
    const spec = byName.get(cs.name)!
    spec.fields = cs.fields.map((f) => buildField(f, `${raw.name}.${cs.name}.${f.name}`, valid))
    structs.push(spec)
  }

  return {
    name: raw.name,
    type: raw.type,
    apiKey: raw.apiKey,
    valid,
    flexible: parseVersions(raw.flexibleVersions, raw.name),
    latestVersionUnstable: raw.latestVersionUnstable === true,
    root,
    structs,
  }
}
