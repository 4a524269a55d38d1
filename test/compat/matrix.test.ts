// The client compatibility matrix: every client driver against one in-process broker, one test
// per client and feature. The run is recorded in matrix/results.json, and the README's table
// must match it; `SAMSA_MATRIX_WRITE_README=1` (npm run compat:matrix) rewrites the table instead.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { isCI } from '../helpers/external-clients.js'
import { FEATURES, type ClientResult, type MatrixResults } from './matrix/features.js'
import { prepareShared, runClient } from './matrix/scenarios.js'
import { DRIVERS } from './matrix/drivers/index.js'
import { currentMatrixSection, renderMatrixTable, replaceMatrixSection } from './matrix/render.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const RESULTS_FILE = path.join(here, 'matrix', 'results.json')
const README = path.join(here, '..', '..', 'README.md')
const writeReadme = process.env.SAMSA_MATRIX_WRITE_README === '1'

let tb: TestBroker | undefined
let results: MatrixResults | undefined

beforeAll(async () => {
  tb = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'auto.create.topics.enable': 'false' })
  const env = await prepareShared(tb.address, tb.broker.nodeId)
  // clients use disjoint topics and groups, so they run side by side
  const clients = await Promise.all(DRIVERS.map((d) => runClient(d, env)))
  results = { clients }
  writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`)
}, 150_000)

afterAll(async () => {
  await tb?.stop()
})

function client(name: string): ClientResult {
  const c = results?.clients.find((x) => x.name === name)
  if (!c) throw new Error(`no results for ${name}: the matrix run did not complete`)
  return c
}

describe('client compatibility matrix', () => {
  for (const driver of DRIVERS) {
    describe(driver.name, () => {
      it('is installed (required under CI)', (ctx) => {
        const c = client(driver.name)
        if (!c.available && !isCI) ctx.skip(c.cells.metadata.note)
        expect(c.available, c.cells.metadata.note).toBe(true)
      })

      for (const f of FEATURES) {
        it(f.label, (ctx) => {
          const cell = client(driver.name).cells[f.id]
          if (cell.status === 'n/a') ctx.skip(cell.note)
          expect(cell.status, `${driver.name}, ${f.label}: ${cell.error ?? ''}`).toBe('pass')
        })
      }
    })
  }

  it('README table matches the latest results', (ctx) => {
    if (!results) throw new Error('the matrix run did not complete')
    const table = renderMatrixTable(results)
    const readme = readFileSync(README, 'utf8')
    if (writeReadme) {
      writeFileSync(README, replaceMatrixSection(readme, table))
      return
    }
    const missing = results.clients.filter((c) => !c.available).map((c) => c.name)
    if (missing.length && !isCI) ctx.skip(`${missing.join(', ')} not installed here, so this run cannot vouch for the README table`)
    expect(currentMatrixSection(readme), 'README client table is stale: run `npm run compat:matrix` and commit README.md and results.json').toBe(table)
  })
})
