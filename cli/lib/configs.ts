// Describe and alter topic, broker and group configs. Altering uses IncrementalAlterConfigs (KIP-339):
// only the named keys change, so overrides set meanwhile by someone else, and sensitive values
// the broker hides, are left as they are. The current values are read only to report what
// changed and to refuse deleting a key that is not set.

import {
  AlterConfigOp,
  ConfigResourceType,
  ConfigSource,
  KafkaProtocolError,
  type AdminClient,
  type ConfigChange as AlterChange,
  type ConfigEntry,
} from '../../broker/client/admin-client.js'
import { CliError, usageError } from './errors.js'

export type EntityType = 'topic' | 'broker' | 'group'

export function resourceType(entity: EntityType): number {
  return entity === 'topic' ? ConfigResourceType.Topic : entity === 'group' ? ConfigResourceType.Group : ConfigResourceType.Broker
}

export function parseEntityType(text: string): EntityType {
  if (text === 'topic' || text === 'topics') return 'topic'
  if (text === 'broker' || text === 'brokers') return 'broker'
  if (text === 'group' || text === 'groups') return 'group'
  throw usageError(`unknown entity type '${text}' (topic, broker or group)`)
}

const SOURCE_NAMES: Record<number, string> = {
  0: 'unknown',
  1: 'topic',
  2: 'dynamic-broker',
  3: 'dynamic-default-broker',
  4: 'static-broker',
  5: 'default',
  6: 'dynamic-broker-logger',
  8: 'group',
}

export function sourceName(source: number | undefined): string {
  return source === undefined ? 'unknown' : (SOURCE_NAMES[source] ?? String(source))
}

/** True if the entry is set on the entity itself rather than inherited or defaulted. */
export function isOverride(entry: ConfigEntry, entity: EntityType): boolean {
  if (entry.source === ConfigSource.Unknown) return !entry.isDefault && !entry.readOnly
  if (entity === 'group') return entry.source === ConfigSource.GroupConfig
  return entity === 'topic' ? entry.source === ConfigSource.TopicConfig : entry.source === ConfigSource.DynamicBrokerConfig
}

/** Configs shown to people by default: anything not at its built-in default. */
export function isNonDefault(entry: ConfigEntry): boolean {
  if (entry.source === ConfigSource.Unknown) return !entry.isDefault
  return entry.source !== ConfigSource.DefaultConfig
}

export async function describeEntity(admin: AdminClient, entity: EntityType, name: string): Promise<ConfigEntry[]> {
  try {
    return await admin.describeConfigs({ type: resourceType(entity), name })
  } catch (err) {
    if (err instanceof KafkaProtocolError) throw new CliError(`cannot describe ${entity} '${name}': ${err.serverMessage || `error code ${err.code}`}`, undefined, { cause: err })
    throw err
  }
}

export interface ConfigChange {
  key: string
  before: string | null
  after: string | null
}

export async function alterEntity(
  admin: AdminClient,
  entity: EntityType,
  name: string,
  set: readonly [string, string][],
  remove: readonly string[],
  validateOnly = false,
): Promise<ConfigChange[]> {
  if (set.length === 0 && remove.length === 0) throw usageError('nothing to change: give --config/--add-config k=v or --delete-config k')
  const overrides = new Map<string, string | null>()
  for (const e of await describeEntity(admin, entity, name)) if (isOverride(e, entity)) overrides.set(e.name, e.isSensitive ? null : e.value)
  const changes: ConfigChange[] = []
  const ops: AlterChange[] = []
  for (const key of remove) {
    if (!overrides.has(key)) throw new CliError(`config '${key}' is not set on ${entity} '${name}'`)
    changes.push({ key, before: overrides.get(key) ?? null, after: null })
    ops.push({ name: key, op: AlterConfigOp.Delete })
  }
  for (const [key, value] of set) {
    changes.push({ key, before: overrides.get(key) ?? null, after: value })
    ops.push({ name: key, op: AlterConfigOp.Set, value })
  }
  try {
    await admin.incrementalAlterConfigs({ type: resourceType(entity), name }, ops, { validateOnly })
  } catch (err) {
    if (err instanceof KafkaProtocolError && err.serverMessage) throw new CliError(`cannot alter ${entity} '${name}': ${err.serverMessage}`, undefined, { cause: err })
    throw err
  }
  return changes
}
