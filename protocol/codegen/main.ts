// Generates protocol/generated/ from Kafka's JSON message schemas.
//
//   npm run gen:protocol [-- --schemas DIR] [-- --out DIR]
//
// The schema directory defaults to ../shared/kafka-protocol/messages relative to the
// working directory (the repository root under npm), or $KAFKA_SCHEMAS. Output is
// deterministic: the same schemas always give byte-identical files.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BANNER, emitMessage, newEmitState, type EmitState } from './emit.js'
import { loadMessage, type MessageSpec } from './schema.js'

/** The APIs Samsa speaks, by Kafka's API name (the schema file name without Request/Response). */
export const API_NAMES = [
  'Produce', 'Fetch', 'ListOffsets', 'Metadata', 'OffsetCommit', 'OffsetFetch', 'FindCoordinator',
  'JoinGroup', 'Heartbeat', 'LeaveGroup', 'SyncGroup', 'DescribeGroups', 'ListGroups', 'SaslHandshake',
  'ApiVersions', 'CreateTopics', 'DeleteTopics', 'DeleteRecords', 'InitProducerId', 'OffsetForLeaderEpoch',
  'AddPartitionsToTxn', 'AddOffsetsToTxn', 'EndTxn', 'TxnOffsetCommit', 'DescribeAcls', 'CreateAcls',
  'DeleteAcls', 'DescribeConfigs', 'AlterConfigs', 'DescribeLogDirs', 'SaslAuthenticate', 'CreatePartitions',
  'DeleteGroups', 'IncrementalAlterConfigs', 'AlterPartitionReassignments', 'ListPartitionReassignments',
  'OffsetDelete', 'DescribeCluster', 'DescribeProducers', 'DescribeTransactions', 'ListTransactions',
  'ConsumerGroupHeartbeat', 'ConsumerGroupDescribe', 'ShareGroupHeartbeat', 'ShareGroupDescribe', 'ShareFetch',
  'ShareAcknowledge', 'DescribeUserScramCredentials', 'AlterUserScramCredentials', 'DescribeShareGroupOffsets',
  'AlterShareGroupOffsets', 'DeleteShareGroupOffsets', 'GetTelemetrySubscriptions', 'PushTelemetry', 'ElectLeaders',
  'WriteTxnMarkers', 'InitializeShareGroupState', 'ReadShareGroupState', 'WriteShareGroupState',
  'DeleteShareGroupState', 'ReadShareGroupStateSummary',
] as const

export function kebabCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([A-Z])([A-Z][a-z])/g, '$1-$2').toLowerCase()
}

interface Options {
  schemas: string
  out: string
}

function parseArgs(argv: string[]): Options {
  let schemas = process.env.KAFKA_SCHEMAS ?? resolve(process.cwd(), '../shared/kafka-protocol/messages')
  let out = resolve(process.cwd(), 'protocol/generated')
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const next = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--schemas') schemas = resolve(next())
    else if (a === '--out') out = resolve(next())
    else throw new Error(`unknown argument ${a}`)
  }
  return { schemas, out }
}

function header(st: EmitState, extraTypes: string[]): string[] {
  const typeNames = [...extraTypes]
  if (st.helpers.has('RawTaggedField')) typeNames.push('RawTaggedField')
  const valueNames = (['ZERO_UUID', 'readTaggedFields', 'writeRawTaggedFields', 'writeSizedTaggedField', 'writeTaggedFields'] as const).filter(
    (h) => st.helpers.has(h),
  )
  const lines = [BANNER, "import type { Reader } from '../reader.js'", "import type { Writer } from '../writer.js'"]
  if (typeNames.length > 0) lines.push(`import type { ${typeNames.sort().join(', ')} } from '../types.js'`)
  if (valueNames.length > 0) lines.push(`import { ${valueNames.join(', ')} } from '../types.js'`)
  lines.push('')
  if (st.needsEmptyBytes) lines.push('const EMPTY_BYTES = new Uint8Array(0)')
  if (st.needsEmptyArray) lines.push('const EMPTY_ARRAY: never[] = []')
  if (st.needsEmptyBytes || st.needsEmptyArray) lines.push('')
  return lines
}

function writeFile(path: string, lines: string[]): void {
  let text = lines.join('\n')
  text = text.replace(/\n{3,}/g, '\n\n').replace(/\n+$/, '') + '\n'
  writeFileSync(path, text)
}

interface ApiInfo {
  name: string
  file: string
  apiKey: number
  request: MessageSpec
  response: MessageSpec
}

function emitApi(api: ApiInfo): string[] {
  const st = newEmitState()
  const body = [...emitMessage(api.request, st), ...emitMessage(api.response, st)]
  const { request, response } = api
  if (request.valid.lo !== response.valid.lo || request.valid.hi !== response.valid.hi) {
    throw new Error(`${api.name}: request and response version ranges differ`)
  }
  const maxStable = request.latestVersionUnstable ? request.valid.hi - 1 : request.valid.hi
  const flexMin = request.flexible ? String(request.flexible.lo) : 'Infinity'
  const descriptor = [
    `export const ${api.name}Api: ApiDescriptor<${request.name}, ${response.name}> = {`,
    `  apiKey: ${api.apiKey},`,
    `  name: '${api.name}',`,
    `  minVersion: ${request.valid.lo},`,
    `  maxVersion: ${request.valid.hi},`,
    `  maxStableVersion: ${maxStable},`,
    `  flexibleMinVersion: ${flexMin},`,
    `  decodeRequest: decode${request.name},`,
    `  encodeRequest: encode${request.name},`,
    `  decodeResponse: decode${response.name},`,
    `  encodeResponse: encode${response.name},`,
    '}',
  ]
  return [...header(st, ['ApiDescriptor']), ...body, ...descriptor]
}

function emitPlain(messages: MessageSpec[]): string[] {
  const st = newEmitState()
  const body = messages.flatMap((m) => emitMessage(m, st))
  return [...header(st, []), ...body]
}

function emitIndex(apis: ApiInfo[], extraFiles: string[]): string[] {
  const lines = [BANNER, "import type { ApiDescriptor } from '../types.js'"]
  for (const a of apis) lines.push(`import { ${a.name}Api } from './${a.file}.js'`)
  lines.push('')
  lines.push("export type { ApiDescriptor, RawTaggedField } from '../types.js'")
  for (const f of extraFiles) lines.push(`export * from './${f}.js'`)
  for (const a of apis) lines.push(`export * from './${a.file}.js'`)
  lines.push('')
  lines.push('export const ApiKey = {')
  for (const a of [...apis].sort((x, y) => x.apiKey - y.apiKey)) lines.push(`  ${a.name}: ${a.apiKey},`)
  lines.push('} as const')
  lines.push('')
  lines.push('export const apis: ReadonlyMap<number, ApiDescriptor<any, any>> = new Map<number, ApiDescriptor<any, any>>([')
  for (const a of [...apis].sort((x, y) => x.apiKey - y.apiKey)) lines.push(`  [${a.apiKey}, ${a.name}Api],`)
  lines.push('])')
  lines.push('')
  lines.push('/** Request header version for an API version: 2 once the API is flexible, else 1. */')
  lines.push('export function requestHeaderVersion(apiKey: number, apiVersion: number): number {')
  lines.push('  const api = apis.get(apiKey)')
  lines.push('  return api !== undefined && apiVersion >= api.flexibleMinVersion ? 2 : 1')
  lines.push('}')
  lines.push('')
  lines.push('/**')
  lines.push(' * Response header version: 1 once the API is flexible, else 0. ApiVersions always uses 0 so a')
  lines.push(' * client can read the response whatever version it asked for (KIP-511).')
  lines.push(' */')
  lines.push('export function responseHeaderVersion(apiKey: number, apiVersion: number): number {')
  lines.push(`  if (apiKey === ${apis.find((a) => a.name === 'ApiVersions')!.apiKey}) return 0`)
  lines.push('  const api = apis.get(apiKey)')
  lines.push('  return api !== undefined && apiVersion >= api.flexibleMinVersion ? 1 : 0')
  lines.push('}')
  return lines
}

export function generate(opts: Options): string[] {
  const apis: ApiInfo[] = API_NAMES.map((name) => {
    const request = loadMessage(opts.schemas, `${name}Request`)
    const response = loadMessage(opts.schemas, `${name}Response`)
    if (request.apiKey === undefined) throw new Error(`${name}Request has no apiKey`)
    return { name, file: kebabCase(name), apiKey: request.apiKey, request, response }
  })
  mkdirSync(opts.out, { recursive: true })
  for (const f of readdirSync(opts.out)) if (f.endsWith('.ts')) rmSync(join(opts.out, f))
  const written: string[] = []
  const put = (file: string, lines: string[]): void => {
    writeFile(join(opts.out, `${file}.ts`), lines)
    written.push(`${file}.ts`)
  }
  put('request-header', emitPlain([loadMessage(opts.schemas, 'RequestHeader')]))
  put('response-header', emitPlain([loadMessage(opts.schemas, 'ResponseHeader')]))
  put(
    'consumer-protocol',
    emitPlain([loadMessage(opts.schemas, 'ConsumerProtocolSubscription'), loadMessage(opts.schemas, 'ConsumerProtocolAssignment')]),
  )
  for (const api of apis) put(api.file, emitApi(api))
  put('index', emitIndex(apis, ['request-header', 'response-header', 'consumer-protocol']))
  return written
}

const isMain = process.argv[1] !== undefined && /codegen[\\/]main\.(js|ts)$/.test(process.argv[1])
if (isMain) {
  const opts = parseArgs(process.argv.slice(2))
  const written = generate(opts)
  process.stdout.write(`generated ${written.length} files in ${opts.out}\n`)
}
