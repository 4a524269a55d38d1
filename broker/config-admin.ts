// What DescribeConfigs, AlterConfigs and IncrementalAlterConfigs share: describing a topic or broker
// resource with Kafka's config sources and synonyms, and validating and applying a set of changes.
//
// A single broker has one dynamic config layer. Altering the resource named after this node or the
// cluster default ("") writes that same layer; describing this node reports it as
// DYNAMIC_BROKER_CONFIG, describing "" as DYNAMIC_DEFAULT_BROKER_CONFIG. In cluster mode the two
// are Kafka's two layers, kept in etcd: "" is every broker's default, the node id this broker's
// own, which wins over the default. Changes to one resource are serialised here and, in a cluster,
// compare-and-set in etcd, so an incremental change never works from a stale copy of the overrides.
// Group configs and dynamic broker configs live in the admin state (storage/admin-state.ts).
import { ErrorCode } from '../protocol/errors.js'
import { GROUP_CONFIG_BROKER_BOUNDS, GROUP_CONFIG_DEFS, configDef, splitList, topicDefForBrokerKey } from '../storage/config-defs.js'
import { validateTopicConfigs } from '../storage/log-config.js'
import { sameValue } from '../storage/admin-state.js'
import { groupConfigKey } from '../storage/metadata-keys.js'
import { brokerConfigDef, type ConfigType, type DynamicLayer } from './config.js'
import type { BrokerContext } from './context.js'
import { isUnexpected, toKafkaError } from './errors.js'
import { ConfigSource, describeTopicConfigs, type ConfigSynonym } from './topic-configs.js'

export const ResourceType = { TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8, GROUP: 32 } as const
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const

/** Kafka's DescribeConfigsResponse ConfigType values. */
const CONFIG_TYPE: Record<ConfigType, number> = { boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7, password: 9 }

export interface ConfigDescription {
  name: string
  value: string | null
  readOnly: boolean
  source: number
  sensitive: boolean
  synonyms: ConfigSynonym[]
  configType: number
}

export interface ResourceOutcome {
  errorCode: number
  errorMessage: string | null
}

export interface DescribedResource extends ResourceOutcome {
  configs: ConfigDescription[]
}

export interface ConfigChange {
  name: string
  operation: number
  value: string | null
}

const OK: ResourceOutcome = { errorCode: ErrorCode.NONE, errorMessage: null }

function fail(errorCode: number, errorMessage: string): ResourceOutcome {
  return { errorCode, errorMessage }
}

/** Names every resource that appears more than once, as `type:name`; those are refused whole. */
export function duplicateResources(resources: ReadonlyArray<{ resourceType: number; resourceName: string }>): Set<string> {
  const seen = new Set<string>()
  const dup = new Set<string>()
  for (const r of resources) {
    const key = `${r.resourceType}:${r.resourceName}`
    if (seen.has(key)) dup.add(key)
    seen.add(key)
  }
  return dup
}

function brokerNameProblem(b: BrokerContext, name: string): ResourceOutcome | undefined {
  if (name === '' || name === String(b.nodeId)) return undefined
  return fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${b.nodeId} or empty string, but received ${name}`)
}

export function describeResource(
  b: BrokerContext,
  resourceType: number,
  resourceName: string,
  keys: readonly string[] | null,
  includeSynonyms: boolean,
): DescribedResource {
  const wanted = keys === null || keys.length === 0 ? undefined : new Set(keys)
  const keep = (c: ConfigDescription): boolean => wanted === undefined || wanted.has(c.name)
  const strip = (c: ConfigDescription): ConfigDescription => (includeSynonyms ? c : { ...c, synonyms: [] })
  switch (resourceType) {
    case ResourceType.TOPIC: {
      const topic = b.logs.getTopic(resourceName)
      if (!topic) return { ...fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${resourceName} does not exist`), configs: [] }
      return { ...OK, configs: describeTopic(b, topic.configs).filter(keep).map(strip) }
    }
    case ResourceType.BROKER: {
      const problem = brokerNameProblem(b, resourceName)
      if (problem) return { ...problem, configs: [] }
      return { ...OK, configs: describeBroker(b, resourceName === '').filter(keep).map(strip) }
    }
    case ResourceType.BROKER_LOGGER: {
      // Log levels are not exposed through the protocol: a valid broker has no logger entries.
      if (resourceName === String(b.nodeId)) return { ...OK, configs: [] }
      return { ...fail(ErrorCode.INVALID_REQUEST, `Unexpected broker id, expected ${b.nodeId}, but received ${resourceName}`), configs: [] }
    }
    case ResourceType.GROUP:
      return { ...OK, configs: describeGroup(b, resourceName).filter(keep).map(strip) }
    default:
      return { ...fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resourceType}`), configs: [] }
  }
}

/**
 * Group-level overrides (Kafka 4.0, KIP-848/932): described for any group id, with Kafka's
 * defaults. They are stored and reported; the classic coordinator takes timeouts from its members.
 */
const GROUP_CONFIG_SOURCE = 8

function describeGroup(b: BrokerContext, group: string): ConfigDescription[] {
  const overrides = b.adminState.get<Record<string, string>>(groupConfigKey(group)) ?? {}
  return GROUP_CONFIG_DEFS.map((d) => {
    const set = overrides[d.name]
    const source = set !== undefined ? GROUP_CONFIG_SOURCE : ConfigSource.DEFAULT_CONFIG
    const synonyms: ConfigSynonym[] = set !== undefined ? [{ name: d.name, value: set, source }] : []
    synonyms.push({ name: d.name, value: d.default, source: ConfigSource.DEFAULT_CONFIG })
    return { name: d.name, value: set ?? d.default, readOnly: false, source, sensitive: false, synonyms, configType: CONFIG_TYPE[d.type] }
  })
}

async function alterGroup(
  b: BrokerContext,
  group: string,
  changes: readonly ConfigChange[],
  opts: { replace: boolean; validateOnly: boolean },
): Promise<ResourceOutcome> {
  if (group === '') return fail(ErrorCode.INVALID_REQUEST, 'Group id must not be empty')
  const plan = (current: Record<string, string>): Record<string, string> | ResourceOutcome => {
    const next = applyChanges(opts.replace ? {} : { ...current }, changes, (key) => configDef('group', key)?.type, (key) => configDef('group', key)?.default)
    if (typeof next === 'string') return fail(ErrorCode.INVALID_CONFIG, next)
    return groupConfigProblem(b, next) ?? next
  }
  if (opts.validateOnly) {
    const planned = plan(b.adminState.get<Record<string, string>>(groupConfigKey(group)) ?? {})
    return isOutcome(planned) ? planned : OK
  }
  try {
    let refused: ResourceOutcome | undefined
    await b.adminState.update<Record<string, string>>(groupConfigKey(group), (current) => {
      const planned = plan(current ?? {})
      refused = isOutcome(planned) ? planned : undefined
      if (isOutcome(planned)) return current
      return Object.keys(planned).length === 0 ? undefined : planned
    })
    return refused ?? OK
  } catch (err) {
    return failure(b, err)
  }
}

function groupConfigProblem(b: BrokerContext, next: Record<string, string>): ResourceOutcome | undefined {
  for (const [key, value] of Object.entries(next)) {
    const def = configDef('group', key)
    if (!def) return fail(ErrorCode.INVALID_CONFIG, `Unknown group config name: ${key}`)
    const problem = def.validate?.(value)
    if (problem !== undefined) return fail(ErrorCode.INVALID_CONFIG, `Invalid value ${value} for configuration ${key}: ${problem}`)
    const bounds = GROUP_CONFIG_BROKER_BOUNDS[key]
    if (bounds !== undefined) {
      const [min, max] = bounds.map((k) => b.config.getInt(k))
      if (Number(value) < min! || Number(value) > max!) {
        return fail(ErrorCode.INVALID_CONFIG, `Invalid value ${value} for configuration ${key}: must be from ${bounds[0]} (${min}) to ${bounds[1]} (${max})`)
      }
    }
    const prefix = b.config.get('errors.deadletterqueue.topic.name.prefix')
    if (key === 'errors.deadletterqueue.topic.name' && value !== '' && !value.startsWith(prefix)) {
      return fail(ErrorCode.INVALID_CONFIG, `Invalid value ${value} for configuration ${key}: must start with errors.deadletterqueue.topic.name.prefix (${prefix})`)
    }
  }
  return undefined
}

function isOutcome(x: Record<string, string> | ResourceOutcome): x is ResourceOutcome {
  return typeof (x as ResourceOutcome).errorCode === 'number'
}

function describeTopic(b: BrokerContext, overrides: Record<string, string>): ConfigDescription[] {
  return describeTopicConfigs(b, overrides).map((c) => ({
    name: c.name,
    value: c.value,
    readOnly: c.readOnly,
    source: c.source,
    sensitive: c.sensitive,
    synonyms: c.synonyms,
    configType: CONFIG_TYPE[c.type as ConfigType] ?? 0,
  }))
}

/** The dynamic layer a broker resource names: `<default>` ("") or this broker (one layer for a single broker). */
function layerOf(b: BrokerContext, resourceName: string): { key: string; layer: DynamicLayer } {
  const keys = b.brokerConfigKeys
  if (resourceName === '' && keys.clusterDefault !== keys.broker) return { key: keys.clusterDefault, layer: 'default' }
  return { key: keys.broker, layer: 'broker' }
}

function describeBroker(b: BrokerContext, clusterDefault: boolean): ConfigDescription[] {
  const dynamicSource = clusterDefault ? ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG : ConfigSource.DYNAMIC_BROKER_CONFIG
  const { layer } = layerOf(b, clusterDefault ? '' : String(b.nodeId))
  const defaults = layer === 'default' ? b.config.dynamicEntries('default') : undefined
  const names = clusterDefault ? Object.keys(b.config.dynamicEntries(layer)).sort() : b.config.names()
  return names.map((name) => {
    const def = brokerConfigDef(name)
    // Kafka hides passwords and any key it cannot type, since it cannot tell whether it is secret.
    const sensitive = def === undefined || def.sensitive === true || def.type === 'password'
    const from = defaults !== undefined ? 'dynamic-default' : b.config.source(name)
    // A key without a default that nobody set (log.retention.ms) has no value and no synonym.
    const unset = from === 'default' && def?.default === null
    const value = sensitive || unset ? null : (defaults?.[name] ?? b.config.get(name))
    const source =
      from === 'dynamic' ? dynamicSource : from === 'dynamic-default' ? ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG : from === 'static' ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG
    const synonyms: ConfigSynonym[] = unset ? [] : [{ name, value, source }]
    if (def !== undefined && def.default !== null && source !== ConfigSource.DEFAULT_CONFIG) {
      synonyms.push({ name, value: sensitive ? null : def.default, source: ConfigSource.DEFAULT_CONFIG })
    }
    return { name, value, readOnly: def?.dynamic !== true, source, sensitive, synonyms, configType: def ? CONFIG_TYPE[def.type] : 0 }
  })
}

const queues = new WeakMap<BrokerContext, Map<string, Promise<unknown>>>()

/** Runs `fn` after every earlier alteration of the same resource has finished. */
function serialised<T>(b: BrokerContext, key: string, fn: () => Promise<T>): Promise<T> {
  let perBroker = queues.get(b)
  if (!perBroker) queues.set(b, (perBroker = new Map()))
  const run = (perBroker.get(key) ?? Promise.resolve()).then(fn, fn)
  const tail = run.catch(() => {})
  perBroker.set(key, tail)
  void tail.then(() => {
    if (perBroker.get(key) === tail) perBroker.delete(key)
  })
  return run
}

/**
 * Validates `changes` against one resource and, unless `validateOnly`, applies them. With
 * `replace` the changes become the resource's whole set of overrides (legacy AlterConfigs).
 */
export function alterResource(
  b: BrokerContext,
  resourceType: number,
  resourceName: string,
  changes: readonly ConfigChange[],
  opts: { replace: boolean; validateOnly: boolean },
): Promise<ResourceOutcome> {
  const names = new Set<string>()
  for (const c of changes) {
    if (names.has(c.name)) return Promise.resolve(fail(ErrorCode.INVALID_REQUEST, `Error due to duplicate config keys: ${c.name}`))
    names.add(c.name)
    if (c.operation < ConfigOperation.SET || c.operation > ConfigOperation.SUBTRACT) {
      return Promise.resolve(fail(ErrorCode.INVALID_REQUEST, `Unknown config operation ${c.operation} for ${c.name}`))
    }
    if (c.value === null && c.operation !== ConfigOperation.DELETE) {
      return Promise.resolve(fail(ErrorCode.INVALID_REQUEST, `Null value not supported for : ${c.name}`))
    }
  }
  switch (resourceType) {
    case ResourceType.TOPIC:
      return serialised(b, `topic:${resourceName}`, () => alterTopic(b, resourceName, changes, opts))
    case ResourceType.BROKER: {
      const problem = brokerNameProblem(b, resourceName)
      if (problem) return Promise.resolve(problem)
      return serialised(b, 'broker', () => alterBroker(b, resourceName, changes, opts))
    }
    case ResourceType.GROUP:
      return serialised(b, `group:${resourceName}`, () => alterGroup(b, resourceName, changes, opts))
    default:
      return Promise.resolve(fail(ErrorCode.INVALID_REQUEST, `Unsupported resource type: ${resourceType}`))
  }
}

async function alterTopic(
  b: BrokerContext,
  name: string,
  changes: readonly ConfigChange[],
  opts: { replace: boolean; validateOnly: boolean },
): Promise<ResourceOutcome> {
  const topic = b.logs.getTopic(name)
  if (!topic) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic ${name} does not exist`)
  const effective = (key: string): string | undefined => describeTopicConfigs(b, topic.configs).find((c) => c.name === key)?.value ?? undefined
  const next = applyChanges(opts.replace ? {} : { ...topic.configs }, changes, (key) => configDef('topic', key)?.type, effective)
  if (typeof next === 'string') return fail(ErrorCode.INVALID_CONFIG, next)
  try {
    validateTopicConfigs(next)
    if (!opts.validateOnly) {
      // Cluster mode: etcd first, so every broker's watch applies it; here at once as well.
      await b.cluster?.admin.alterConfigs(name, next)
      await b.logs.alterTopicConfigs(name, next)
      b.logger.info({ topic: name, configs: next }, 'altered topic configs')
    }
    return OK
  } catch (err) {
    return failure(b, err)
  }
}

async function alterBroker(
  b: BrokerContext,
  resourceName: string,
  changes: readonly ConfigChange[],
  opts: { replace: boolean; validateOnly: boolean },
): Promise<ResourceOutcome> {
  const { key, layer } = layerOf(b, resourceName)
  const plan = (current: Record<string, string>): Record<string, string> | ResourceOutcome => {
    const next = applyChanges(opts.replace ? {} : { ...current }, changes, (k) => brokerConfigDef(k)?.type, (k) => current[k] ?? b.config.get(k))
    if (typeof next === 'string') return fail(ErrorCode.INVALID_CONFIG, next)
    const touched = [...new Set([...Object.keys(current), ...Object.keys(next)])].filter((k) => current[k] !== next[k])
    const fixed = touched.filter((k) => brokerConfigDef(k)?.dynamic !== true)
    if (fixed.length > 0) return fail(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: ${fixed.join(', ')}`)
    for (const k of touched) {
      if (next[k] === undefined) continue
      const problem = brokerValueProblem(k, next[k])
      if (problem) return fail(ErrorCode.INVALID_CONFIG, `Invalid value ${next[k]} for configuration ${k}: ${problem}`)
    }
    return next
  }
  if (opts.validateOnly) {
    const planned = plan(b.config.dynamicEntries(layer))
    return isOutcome(planned) ? planned : OK
  }
  try {
    let refused: ResourceOutcome | undefined
    let stored: Record<string, string> | undefined
    // Stored first; the admin state's change listener (broker/index.ts) then loads it into the
    // broker's config, here and, in a cluster, on every broker.
    await b.adminState.update<Record<string, string>>(key, (current) => {
      const planned = plan(current ?? {})
      refused = isOutcome(planned) ? planned : undefined
      if (isOutcome(planned) || sameValue(current ?? {}, planned)) return current
      stored = planned
      return planned
    })
    if (refused !== undefined) return refused
    if (stored !== undefined) b.logger.info({ resource: resourceName === '' ? '<default>' : resourceName, configs: stored }, 'altered dynamic broker configs')
    return OK
  } catch (err) {
    return failure(b, err)
  }
}

/** The new override set, or a message saying why an APPEND/SUBTRACT does not apply. */
function applyChanges(
  start: Record<string, string>,
  changes: readonly ConfigChange[],
  typeOf: (key: string) => string | undefined,
  effective: (key: string) => string | undefined,
): Record<string, string> | string {
  const out = start
  for (const c of changes) {
    switch (c.operation) {
      case ConfigOperation.SET:
        out[c.name] = c.value!
        break
      case ConfigOperation.DELETE:
        delete out[c.name]
        break
      default: {
        const verb = c.operation === ConfigOperation.APPEND ? 'append' : 'subtract'
        if (typeOf(c.name) !== 'list') return `Config value ${verb} is not allowed for config key: ${c.name}`
        const items = splitList(out[c.name] ?? effective(c.name) ?? '')
        const given = splitList(c.value!)
        const result = verb === 'append' ? [...items, ...given.filter((v) => !items.includes(v))] : items.filter((v) => !given.includes(v))
        out[c.name] = result.join(',')
      }
    }
  }
  return out
}

function brokerValueProblem(key: string, value: string): string | undefined {
  const type = brokerConfigDef(key)?.type
  const v = value.trim()
  if (type === 'int' || type === 'long') {
    if (!/^-?\d+$/.test(v)) return `must be an integer`
    if (type === 'int' && Math.abs(Number(v)) > 2147483647) return 'must fit in 32 bits'
  } else if (type === 'boolean') {
    if (v.toLowerCase() !== 'true' && v.toLowerCase() !== 'false') return 'must be true or false'
  } else if (type === 'double') {
    if (v === '' || Number.isNaN(Number(v))) return 'must be a number'
  }
  return topicDefForBrokerKey(key)?.validate?.(value)
}

function failure(b: BrokerContext, err: unknown): ResourceOutcome {
  const f = toKafkaError(err)
  if (isUnexpected(f)) b.logger.error({ err }, 'altering configs failed')
  return fail(f.code, f.message)
}
