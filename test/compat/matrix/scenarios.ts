// Every feature of the matrix as one check, run the same way for each client: the client acts
// through its driver, then the check compares what the broker stored (read back independently,
// see reference.ts) and what the client reported, byte for byte, with what was meant.
import { FEATURES, type Cell, type ClientResult, type CodecName, type FeatureId } from './features.js'
import { hex, type ClientDriver, type ClientOps, type GroupProtocol, type OutgoingRecord, type SeenRecord } from './client-ops.js'
import { appendBatch, committedOffsets, createTopics, describeConsumerGroup, metadata, readStored } from './reference.js'

const CODEC_NUMBER: Record<CodecName, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }

/** A client call that has not returned by then fails its cell instead of stalling the matrix. */
export const CELL_TIMEOUT_MS = 30_000

export interface SharedSetup {
  address: string
  nodeId: number
  /** Three partitions, no records: what every client's Metadata answer is checked against. */
  metaTopic: string
  /** One partition, ten records in two batches, known keys, values, headers and timestamps. */
  fixtureTopic: string
  fixture: SeenRecord[]
  fixtureT0: number
}

const utf8 = (s: string) => Buffer.from(s, 'utf8')

function fixtureRecords(t0: number) {
  return Array.from({ length: 10 }, (_, i) => ({
    key: utf8(`fixture-${i}`),
    // record 7 is binary: NUL, invalid UTF-8, a newline, a tab and a literal %s
    value: i === 7 ? Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x7c, 0x09, 0x25, 0x73]) : utf8(`fixture value ${i} ø✓ ${'·'.repeat(i)}`),
    headers: i % 2 === 0 ? ([['n', utf8(String(i))], ['dup', utf8('a')], ['dup', utf8('b')]] as Array<[string, Buffer]>) : [],
    timestamp: t0 + i * 1000,
  }))
}

/** Creates and seeds the topics every client reads; checks the seed landed as written. */
export async function prepareShared(address: string, nodeId: number): Promise<SharedSetup> {
  const metaTopic = 'mx-meta'
  const fixtureTopic = 'mx-fixture'
  await createTopics(address, [
    { name: metaTopic, partitions: 3 },
    { name: fixtureTopic, partitions: 1 },
  ])
  // whole seconds an hour ago, so a timestamp lookup cannot land on "now"
  const fixtureT0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000
  const recs = fixtureRecords(fixtureT0)
  const toInput = (r: (typeof recs)[number]) => ({ key: r.key, value: r.value, timestamp: r.timestamp, headers: r.headers.map(([k, v]) => ({ key: k, value: v })) })
  await appendBatch(address, fixtureTopic, 0, recs.slice(0, 5).map(toInput))
  await appendBatch(address, fixtureTopic, 0, recs.slice(5).map(toInput))
  const fixture: SeenRecord[] = recs.map((r, i) => ({
    partition: 0,
    offset: i,
    timestamp: r.timestamp,
    key: hex(r.key),
    value: hex(r.value),
    headers: r.headers.map(([k, v]) => [k, hex(v)]),
  }))
  const stored = await readStored(address, fixtureTopic, 0)
  expectRecords(stored.records, fixture, 'fixture as stored')
  return { address, nodeId, metaTopic, fixtureTopic, fixture, fixtureT0 }
}

// ---------------------------------------------------------------------------------------------
// Comparison with readable failures

class CheckFailed extends Error {
  override name = 'CheckFailed'
}

function fail(message: string): never {
  throw new CheckFailed(message)
}

/** Hex back to text when it is printable UTF-8, so failures read naturally. */
function show(h: string | null): string {
  if (h === null) return 'null'
  const b = Buffer.from(h, 'hex')
  const s = b.toString('utf8')
  return Buffer.from(s, 'utf8').equals(b) && !/[\u0000-\u0008\u000b-\u001f\ufffd]/.test(s) ? JSON.stringify(s) : `0x${h}`
}

function describe(r: SeenRecord | undefined): string {
  if (!r) return '(none)'
  const hs = r.headers.map(([k, v]) => `${k}=${show(v)}`).join(',')
  return `p${r.partition}@${r.offset} ts=${r.timestamp} key=${show(r.key)} value=${show(r.value)} headers=[${hs}]`
}

function sameRecord(a: SeenRecord, b: SeenRecord, withTimestamp: boolean): boolean {
  return (
    a.partition === b.partition &&
    a.offset === b.offset &&
    (!withTimestamp || a.timestamp === b.timestamp) &&
    a.key === b.key &&
    a.value === b.value &&
    a.headers.length === b.headers.length &&
    a.headers.every(([k, v], i) => k === b.headers[i]![0] && v === b.headers[i]![1])
  )
}

export function expectRecords(actual: SeenRecord[], expected: SeenRecord[], what: string, withTimestamp = true): void {
  const n = Math.max(actual.length, expected.length)
  for (let i = 0; i < n; i++) {
    const a = actual[i]
    const e = expected[i]
    if (!a || !e || !sameRecord(a, e, withTimestamp)) {
      fail(`${what}: ${actual.length} records, expected ${expected.length}; record ${i} is ${describe(a)}, expected ${describe(e)}`)
    }
  }
}

function expectEqual<T>(actual: T, expected: T, what: string): void {
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) fail(`${what}: got ${a}, expected ${e}`)
}

const byPosition = (a: SeenRecord, b: SeenRecord) => a.partition - b.partition || a.offset - b.offset

function outgoing(key: string, value: string, headers: Array<[string, string]> = []): OutgoingRecord {
  return { key: utf8(key), value: utf8(value), headers: headers.map(([k, v]) => [k, utf8(v)]) }
}

/** The records a produce spec should leave in partition 0 of an empty topic, in order. */
function expectedFromOutgoing(records: OutgoingRecord[]): Omit<SeenRecord, 'timestamp'>[] {
  return records.map((r, i) => ({ partition: 0, offset: i, key: hex(r.key), value: hex(r.value), headers: r.headers.map(([k, v]) => [k, hex(v)]) }))
}

/** Checks what the broker stored (and the offsets the client reported) against what was sent. */
async function expectStoredExactly(
  env: SharedSetup,
  topic: string,
  sent: OutgoingRecord[],
  reported: number[] | null,
  codec: CodecName | null,
): Promise<SeenRecord[]> {
  const stored = await readStored(env.address, topic, 0)
  const expected = expectedFromOutgoing(sent).map((r, i) => ({ ...r, timestamp: stored.records[i]?.timestamp ?? 0 }))
  expectRecords(stored.records, expected, `stored in ${topic}`, false)
  if (reported) expectEqual(reported, sent.map((_, i) => i), 'offsets the client reported')
  if (codec) {
    const want = CODEC_NUMBER[codec]
    if (stored.codecs.length === 0 || stored.codecs.some((c) => c !== want)) fail(`stored batches of ${topic} have codecs [${stored.codecs}], expected all ${want} (${codec})`)
  }
  return stored.records
}

// ---------------------------------------------------------------------------------------------
// The checks

type Check = (ops: ClientOps, env: SharedSetup, prefix: string) => Promise<void>

const HEADERS: Array<[string, string]> = [
  ['source', 'samsa-matrix'],
  ['dup', 'first'],
  ['dup', 'second'],
  ['ключ', 'значение ✓'],
]

function codecCheck(codec: CodecName): Check {
  return async (ops, env, prefix) => {
    const topic = `${prefix}-${codec}`
    await createTopics(env.address, [{ name: topic, partitions: 1 }])
    // repetitive values, so no client decides compression is not worth it and sends them plain
    const records = Array.from({ length: 12 }, (_, i) => outgoing(`${codec}-${i}`, `${codec} record ${i} ${'samsa '.repeat(40)}`))
    const reported = await ops.produce({ topic, partition: 0, codec, records })
    const stored = await expectStoredExactly(env, topic, records, reported, codec)
    const seen = await ops.consume({ topic, partition: 0, from: { beginning: true }, count: records.length })
    expectRecords(seen, stored, `${codec} records read back by the client`)
  }
}

const groupName = (prefix: string, protocol: GroupProtocol) => (protocol === 'classic' ? `${prefix}-group` : `${prefix}-group-kip848`)

/** A member reads everything and commits; a second member resumes from the committed offsets. */
function groupCheck(protocol: GroupProtocol): Check {
  return async (ops, env, prefix) => {
    const topic = groupName(prefix, protocol)
    const groupId = groupName(prefix, protocol)
    await createTopics(env.address, [{ name: topic, partitions: 2 }])
    const seed = async (p: number, values: string[]) => appendBatch(env.address, topic, p, values.map((v) => ({ key: `k-${v}`, value: v })))
    await seed(0, ['g0-0', 'g0-1', 'g0-2'])
    await seed(1, ['g1-0', 'g1-1', 'g1-2'])
    const all = async () => [...(await readStored(env.address, topic, 0)).records, ...(await readStored(env.address, topic, 1)).records]
    const spec = protocol === 'classic' ? {} : { protocol }

    const first = (await ops.groupConsume({ topic, groupId, count: 6, ...spec })).sort(byPosition)
    expectRecords(first, await all(), 'first member of the group')
    expectEqual(await committedOffsets(env.address, groupId, topic, 2), [3, 3], 'offsets committed by the first member')

    await seed(0, ['g0-3'])
    await seed(1, ['g1-3'])
    const second = (await ops.groupConsume({ topic, groupId, count: 2, ...spec })).sort(byPosition)
    expectRecords(second, (await all()).filter((r) => r.offset === 3), 'a new member resuming from the committed offsets')
    expectEqual(await committedOffsets(env.address, groupId, topic, 2), [4, 4], 'offsets committed by the second member')
  }
}

const CHECKS: Record<FeatureId, Check> = {
  async metadata(ops, env) {
    const md = await ops.metadata([env.metaTopic])
    const [host, port] = [env.address.slice(0, env.address.lastIndexOf(':')), Number(env.address.slice(env.address.lastIndexOf(':') + 1))]
    expectEqual(md.brokers, [{ nodeId: env.nodeId, host, port }], 'brokers')
    const t = md.topics.find((x) => x.name === env.metaTopic)
    if (!t) fail(`topic ${env.metaTopic} missing from metadata (saw ${md.topics.map((x) => x.name).join(', ') || 'none'})`)
    expectEqual(
      [...t.partitions].sort((a, b) => a.partition - b.partition),
      [0, 1, 2].map((partition) => ({ partition, leader: env.nodeId })),
      `partitions of ${env.metaTopic}`,
    )
  },

  async createTopic(ops, env, prefix) {
    const topic = `${prefix}-created`
    await ops.createTopic(topic, 3)
    const md = await metadata(env.address, [topic])
    const t = md.topics.find((x) => x.name === topic)
    if (!t || t.errorCode !== 0) fail(`broker does not know ${topic} after the client created it (error ${t?.errorCode})`)
    expectEqual(t.partitions.map((p) => p.partitionIndex).sort(), [0, 1, 2], `partitions of ${topic}`)
  },

  async produceKeys(ops, env, prefix) {
    const topic = `${prefix}-keys`
    await createTopics(env.address, [{ name: topic, partitions: 1 }])
    const records = Array.from({ length: 6 }, (_, i) => outgoing(i % 2 ? `ключ-${i}` : `key-${i}`, `value ${i} ✓ ${'x'.repeat(i)}`))
    const reported = await ops.produce({ topic, partition: 0, codec: 'none', records })
    await expectStoredExactly(env, topic, records, reported, null)
  },

  async headers(ops, env, prefix) {
    const topic = `${prefix}-headers`
    await createTopics(env.address, [{ name: topic, partitions: 1 }])
    const records = Array.from({ length: 4 }, (_, i) => outgoing(`h-${i}`, `with headers ${i}`, HEADERS))
    const reported = await ops.produce({ topic, partition: 0, codec: 'none', records })
    const stored = await expectStoredExactly(env, topic, records, reported, null)
    const seen = await ops.consume({ topic, partition: 0, from: { beginning: true }, count: records.length })
    expectRecords(seen, stored, 'records with headers read back by the client')
  },

  'codec-none': codecCheck('none'),
  'codec-gzip': codecCheck('gzip'),
  'codec-snappy': codecCheck('snappy'),
  'codec-lz4': codecCheck('lz4'),
  'codec-zstd': codecCheck('zstd'),

  async consumeBeginning(ops, env) {
    const seen = await ops.consume({ topic: env.fixtureTopic, partition: 0, from: { beginning: true }, count: env.fixture.length })
    expectRecords(seen, env.fixture, 'consumed from the beginning')
  },

  async consumeOffset(ops, env) {
    // offset 4 is the last record of the first batch: the client must drop the four before it
    const seen = await ops.consume({ topic: env.fixtureTopic, partition: 0, from: { offset: 4 }, count: 6 })
    expectRecords(seen, env.fixture.slice(4), 'consumed from offset 4')
  },

  async consumeTimestamp(ops, env) {
    // between records 5 and 6: the first record at or after it is offset 6, inside the second batch
    const seen = await ops.consume({ topic: env.fixtureTopic, partition: 0, from: { timestamp: env.fixtureT0 + 5500 }, count: 4 })
    expectRecords(seen, env.fixture.slice(6), `consumed from timestamp t0+5500`)
  },

  group: groupCheck('classic'),

  async groupKip848(ops, env, prefix) {
    await groupCheck('consumer')(ops, env, prefix)
    // the members left; the group stays, and only a group served by the consumer protocol has an epoch
    const groupId = groupName(prefix, 'consumer')
    const g = await describeConsumerGroup(env.address, groupId)
    if (g.errorCode !== 0 || g.groupEpoch <= 0) fail(`ConsumerGroupDescribe ${groupId}: error ${g.errorCode}, group epoch ${g.groupEpoch}; expected a consumer-protocol group`)
  },
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (cause: ${err.cause.message})` : ''
    return `${err.name === 'Error' || err.name === 'CheckFailed' ? '' : `${err.name}: `}${err.message}${cause}`.slice(0, 2000)
  }
  return String(err).slice(0, 2000)
}

/** `@platformatic/kafka` -> `platformatic-kafka`: usable in topic and group names. */
export const slug = (name: string) => name.replace(/^@/, '').replace(/[^a-zA-Z0-9-]+/g, '-')

/**
 * Runs every feature for one client. Missing clients become a column of n/a cells carrying the
 * reason; the caller decides whether that is acceptable (it is not under CI).
 */
export async function runClient(driver: ClientDriver, env: SharedSetup): Promise<ClientResult> {
  const probe = await driver.probe()
  const cells = {} as Record<FeatureId, Cell>
  if (!probe.ok) {
    for (const f of FEATURES) cells[f.id] = { status: 'n/a', note: `${driver.name} is not installed here: ${probe.reason}` }
    return { name: driver.name, version: 'not installed', available: false, cells }
  }
  const prefix = `mx-${slug(driver.name)}`
  let ops: (ClientOps & { close(): Promise<void> }) | undefined
  try {
    ops = await withTimeout(driver.open(env.address), CELL_TIMEOUT_MS, `${driver.name} setup`)
  } catch (err) {
    for (const f of FEATURES) cells[f.id] = { status: 'fail', error: `could not set up ${driver.name}: ${errorText(err)}` }
    return { name: driver.name, version: probe.version, available: true, cells }
  }
  try {
    for (const f of FEATURES) {
      const na = probe.notApplicable[f.id]
      if (na) {
        cells[f.id] = { status: 'n/a', note: na }
        continue
      }
      const note = driver.notes?.[f.id]
      try {
        await withTimeout(CHECKS[f.id](ops, env, prefix), CELL_TIMEOUT_MS, f.label)
        cells[f.id] = note ? { status: 'pass', note } : { status: 'pass' }
      } catch (err) {
        cells[f.id] = { status: 'fail', error: errorText(err), ...(note ? { note } : {}) }
      }
    }
  } finally {
    await ops.close().catch(() => {})
  }
  return { name: driver.name, version: probe.version, available: true, cells }
}

