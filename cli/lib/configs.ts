// Describe and alter topic/broker configs with kafkajs, which speaks only the legacy
// AlterConfigs API: it replaces the whole set of overrides. To change one key we read the
// current overrides, merge, and write them all back, as kafka-configs.sh did before KIP-339.

import kafkajs from 'kafkajs'
import type { Admin, ConfigEntries } from 'kafkajs'
import { CliError, usageError } from './errors.js'

export type EntityType = 'topic' | 'broker'

export function resourceType(entity: EntityType): number {
  return entity === 'topic' ? kafkajs.ConfigResourceTypes.TOPIC : kafkajs.ConfigResourceTypes.BROKER
}

export function parseEntityType(text: string): EntityType {
  if (text === 'topic' || text === 'topics') return 'topic'
  if (text === 'broker' || text === 'brokers') return 'broker'
  throw usageError(`unknown entity type '${text}' (topic or broker)`)
}

const SOURCE_NAMES: Record<number, string> = {
  0: 'unknown',
  1: 'topic',
  2: 'dynamic-broker',
  3: 'dynamic-default-broker',
  4: 'static-broker',
  5: 'default',
  6: 'dynamic-broker-logger',
}

export function sourceName(source: number | undefined): string {
  return source === undefined ? 'unknown' : (SOURCE_NAMES[source] ?? String(source))
}

/** True if the entry is set on the entity itself rather than inherited or defaulted. */
export function isOverride(entry: ConfigEntries, entity: EntityType): boolean {
  const source = entry.configSource as number | undefined
  if (source === undefined || source === 0) return !entry.isDefault && !entry.readOnly
  return entity === 'topic' ? source === 1 : source === 2
}

/** Configs shown to people by default: anything not at its built-in default. */
export function isNonDefault(entry: ConfigEntries): boolean {
  const source = entry.configSource as number | undefined
  if (source === undefined || source === 0) return !entry.isDefault
  return source !== 5
}

export async function describeEntity(admin: Admin, entity: EntityType, name: string): Promise<ConfigEntries[]> {
  const res = await admin.describeConfigs({ resources: [{ type: resourceType(entity), name }], includeSynonyms: false })
  const resource = res.resources[0]
  if (resource === undefined) throw new CliError(`no configs returned for ${entity} '${name}'`)
  if (resource.errorCode !== 0) throw new CliError(`cannot describe ${entity} '${name}': ${resource.errorMessage || `error code ${resource.errorCode}`}`)
  return [...resource.configEntries].sort((a, b) => a.configName.localeCompare(b.configName))
}

export interface ConfigChange {
  key: string
  before: string | null
  after: string | null
}

export async function alterEntity(
  admin: Admin,
  entity: EntityType,
  name: string,
  set: readonly [string, string][],
  remove: readonly string[],
  validateOnly = false,
): Promise<ConfigChange[]> {
  if (set.length === 0 && remove.length === 0) throw usageError('nothing to change: give --config/--add-config k=v or --delete-config k')
  const entries = await describeEntity(admin, entity, name)
  const overrides = new Map<string, string | null>()
  for (const e of entries) if (isOverride(e, entity)) overrides.set(e.configName, e.isSensitive ? null : e.configValue)
  const changes: ConfigChange[] = []
  for (const key of remove) {
    if (!overrides.has(key)) throw new CliError(`config '${key}' is not set on ${entity} '${name}'`)
    changes.push({ key, before: overrides.get(key) ?? null, after: null })
    overrides.delete(key)
  }
  for (const [key, value] of set) {
    changes.push({ key, before: overrides.get(key) ?? null, after: value })
    overrides.set(key, value)
  }
  const unknownSensitive = [...overrides].filter(([, v]) => v === null).map(([k]) => k)
  if (unknownSensitive.length > 0) {
    throw new CliError(`cannot keep sensitive config(s) ${unknownSensitive.join(', ')} whose values the broker hides; set them again explicitly`)
  }
  await admin.alterConfigs({
    validateOnly,
    resources: [
      {
        type: resourceType(entity),
        name,
        configEntries: [...overrides].map(([k, v]) => ({ name: k, value: v as string })),
      },
    ],
  })
  return changes
}
