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
    for (const d of CONFIG_DEFS) expect(d.validate?.(d.default), `${d.scope}:${d.name}`).toBeUndefined()
  })

  it('gives a topic key the default of the broker key that backs it', () => {
    for (const t of TOPIC_CONFIG_DEFS) {
      const first = t.synonyms?.[0]
      const b = first === undefined ? undefined : configDef('broker', first.name)
      if (b === undefined) continue
      expect([t.name, b.default], b.name).toEqual([t.name, t.default])
      expect(b.type === t.type || (b.type === 'int' && t.type === 'long') || (b.type === 'long' && t.type === 'int'), b.name).toBe(true)
    }
  })
})
