import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderApiTable, replaceApiTable } from '../../broker/api-table.js'
import { handlers } from '../../broker/handlers/index.js'

describe('README table of served APIs', () => {
  it('matches the handler registry', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    expect(replaceApiTable(readme, renderApiTable())).toBe(readme)
  })

  it('lists every registered handler once', () => {
    const table = renderApiTable()
    for (const h of handlers) expect(table).toContain(`| ${h.api.apiKey} | ${h.api.name} |`)
    expect(new Set(handlers.map((h) => h.api.apiKey)).size).toBe(handlers.length)
  })
})
