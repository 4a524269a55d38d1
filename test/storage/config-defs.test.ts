import { describe, expect, it } from 'vitest'
import { CONFIG_DEFS, TOPIC_CONFIG_DEFS, configDef } from '../../storage/config-defs.js'

describe('configuration definitions', () => {
  it('declares each key once per scope', () => {
    const seen = new Set<string>()
    for (const d of CONFIG_DEFS) {
      const key = `${d.scope}:${d.name}`
      expect(seen.has(key), key).toBe(false)
      seen.add(key)
    }
  })

  it('accepts every default it declares', () => {
    for (const d of CONFIG_DEFS) if (d.default !== null) expect(d.validate?.(d.default), `${d.scope}:${d.name}`).toBeUndefined()
  })

  it('declares every broker key that backs a topic key', () => {
    for (const t of TOPIC_CONFIG_DEFS) for (const s of t.synonyms ?? []) expect(configDef('broker', s.name), `${t.name} <- ${s.name}`).toBeDefined()
  })

  it('gives a topic key the default of the first broker key that has one, in its unit', () => {
    for (const t of TOPIC_CONFIG_DEFS) {
      const backing = (t.synonyms ?? []).map((s) => ({ s, def: configDef('broker', s.name)! })).find((x) => x.def.default !== null)
      if (backing === undefined) continue
      const value = backing.s.factor === undefined ? backing.def.default : String(Number(backing.def.default) * backing.s.factor)
      expect(value, `${t.name} <- ${backing.s.name}`).toBe(t.default)
    }
  })
})
