// Keeps STYLE.md's arrows true: cli -> broker -> storage, broker -> protocol; storage uses the
// record-batch format, CRC and codecs but never protocol/generated or broker; protocol imports
// nothing of ours; nothing imports test/. Also refuses import cycles between files outside
// protocol/generated.
//
// Type-only imports count for both: a type import is still a dependency a reader must follow,
// and a cycle of types is a design knot even when it vanishes at run time.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { importCycles, importGraph, parseImports, sourceFiles, type ImportEdge } from './helpers/import-graph.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const LAYERS = ['protocol', 'storage', 'broker', 'cli', 'bench'] as const
type Layer = (typeof LAYERS)[number] | 'test'

/** What storage may take from protocol: the on-disk batch format, its CRC and its codecs. */
const STORAGE_MAY_USE = new Set([
  'protocol/record-batch.ts',
  'protocol/record-batch-builder.ts',
  'protocol/record-reader.ts',
  'protocol/control-records.ts',
  'protocol/crc32c.ts',
  'protocol/compression.ts',
])

function layerOf(file: string): Layer | undefined {
  const top = file.split('/')[0]
  return top === 'test' || (LAYERS as readonly string[]).includes(top!) ? (top as Layer) : undefined
}

/** Why the edge breaks an arrow, or undefined when it is allowed. */
export function arrowViolation(e: ImportEdge): string | undefined {
  const from = layerOf(e.from)
  const to = layerOf(e.to)
  if (from === undefined || to === undefined || from === to) return undefined
  if (to === 'test') return 'nothing imports test/'
  switch (from) {
    case 'protocol':
      return 'protocol imports nothing of ours'
    case 'storage':
      if (to === 'protocol' && STORAGE_MAY_USE.has(e.to)) return undefined
      return to === 'protocol' ? 'storage may use the record-batch format, crc32c and compression only' : `storage never imports ${to}`
    case 'broker':
      return to === 'cli' || to === 'bench' ? `broker never imports ${to}` : undefined
    case 'cli':
      return to === 'bench' ? 'cli never imports bench' : undefined
    default:
      return undefined
  }
}

function violations(edges: readonly ImportEdge[]): string[] {
  return edges.flatMap((e) => {
    const why = arrowViolation(e)
    return why === undefined ? [] : [`${e.from}:${e.line} -> ${e.to}${e.typeOnly ? ' (type)' : ''}: ${why}`]
  })
}

const PACKAGE = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
const SHIPPED: ReadonlySet<Layer> = new Set(['protocol', 'storage', 'broker', 'cli'])

/** The npm package an import names ('@scope/name' or 'name'), or undefined for our files and node builtins. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.endsWith('.ts') || specifier.startsWith('.')) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/** Imports from what `npm install samsa` ships that name a package outside `dependencies` (kafkajs is a test client only). */
export function packageViolations(edges: readonly ImportEdge[], deps: Record<string, string> = PACKAGE.dependencies): string[] {
  return edges.flatMap((e) => {
    const layer = layerOf(e.from)
    const pkg = packageOf(e.to)
    if (layer === undefined || !SHIPPED.has(layer) || pkg === undefined || e.typeOnly || pkg in deps) return []
    return [`${e.from}:${e.line} -> ${pkg}: not a runtime dependency`]
  })
}

function cyclesOutsideGenerated(edges: readonly ImportEdge[]): string[][] {
  const inGenerated = (f: string): boolean => f.startsWith('protocol/generated/')
  return importCycles(edges.filter((e) => !inGenerated(e.from) && !inGenerated(e.to)))
}

describe('architecture', () => {
  const files = sourceFiles(ROOT, LAYERS)
  const edges = importGraph(ROOT, files)

  it('reads the whole source tree', () => {
    expect(files.length).toBeGreaterThan(100)
    for (const layer of LAYERS) expect(files.some((f) => f.startsWith(`${layer}/`)), layer).toBe(true)
    // Every relative import resolved to a file (a miss would silently drop an arrow).
    const unresolved = edges.filter((e) => e.to.startsWith('.') || (layerOf(e.to) !== undefined && !e.to.endsWith('.ts')))
    expect(unresolved.map((e) => `${e.from}:${e.line} -> ${e.to}`)).toEqual([])
    expect(edges.some((e) => e.from.startsWith('storage/') && e.to === 'protocol/record-batch.ts')).toBe(true)
  })

  it('keeps the arrows STYLE.md draws', () => {
    expect(violations(edges)).toEqual([])
  })

  it('has no import cycles outside protocol/generated', () => {
    expect(cyclesOutsideGenerated(edges)).toEqual([])
  })

  it('runs on its runtime dependencies only: the shipped layers import no devDependency', () => {
    expect(packageViolations(edges)).toEqual([])
    expect(edges.some((e) => e.from.startsWith('storage/') && e.to === 'lmdb')).toBe(true)
  })
})

describe('the architecture checks themselves', () => {
  const edge = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly, line: 1 })

  it('flag every forbidden arrow', () => {
    const bad = [
      edge('protocol/reader.ts', 'storage/segment.ts'),
      edge('storage/segment.ts', 'broker/errors.ts', true),
      edge('storage/log-manager.ts', 'protocol/generated/fetch.ts'),
      edge('storage/log-manager.ts', 'protocol/errors.ts'),
      edge('storage/log-manager.ts', 'cli/main.ts'),
      edge('broker/router.ts', 'cli/lib/format.ts'),
      edge('broker/router.ts', 'bench/e2e/main.ts'),
      edge('cli/main.ts', 'bench/e2e/main.ts'),
      edge('bench/e2e/main.ts', 'test/helpers/wire.ts'),
      edge('broker/router.ts', 'test/helpers/wire.ts'),
    ]
    expect(violations(bad)).toHaveLength(bad.length)
    const good = [
      edge('storage/segment.ts', 'protocol/record-batch.ts'),
      edge('storage/segment.ts', 'protocol/crc32c.ts'),
      edge('broker/router.ts', 'protocol/generated/fetch.ts'),
      edge('broker/router.ts', 'storage/segment.ts'),
      edge('cli/main.ts', 'broker/index.ts'),
      edge('bench/e2e/main.ts', 'cli/main.ts'),
      edge('storage/segment.ts', 'lmdb'),
    ]
    expect(violations(good)).toEqual([])
  })

  it('flag a shipped import of a devDependency and allow it in bench and test', () => {
    const deps = { lmdb: '1' }
    expect(packageViolations([edge('cli/commands/produce.ts', 'kafkajs'), edge('broker/x.ts', '@scope/pkg/sub')], deps)).toHaveLength(2)
    expect(packageViolations([edge('bench/e2e/node-clients.ts', 'kafkajs'), edge('storage/m.ts', 'lmdb'), edge('storage/m.ts', 'node:fs')], deps)).toEqual([])
  })

  it('find cycles, type-only ones included, and ignore protocol/generated', () => {
    expect(
      cyclesOutsideGenerated([
        edge('broker/a.ts', 'broker/b.ts'),
        edge('broker/b.ts', 'broker/c.ts', true),
        edge('broker/c.ts', 'broker/a.ts'),
        edge('broker/d.ts', 'broker/a.ts'),
        edge('protocol/generated/x.ts', 'protocol/generated/y.ts'),
        edge('protocol/generated/y.ts', 'protocol/generated/x.ts'),
      ]),
    ).toEqual([['broker/a.ts', 'broker/b.ts', 'broker/c.ts']])
  })

  it('parse imports and skip what only looks like one', () => {
    const src = [
      "import fs from 'node:fs'",
      "import type { A } from './a.js'",
      "import { type B, type C } from './bc.js'",
      "import D, { type E } from './de.js'",
      'import {',
      '  F,',
      '  G,',
      "} from './fg.js'",
      "export { H } from './h.js'",
      "export * from './star.js'",
      "import './side-effect.js'",
      "const m = await import('./dynamic.js')",
      "// import { X } from './commented.js'",
      "/* import { Y } from './block.js' */",
      "const t = `import { Z } from './template.js'\n${'x'}`",
      "const u = 'PLAINTEXT://host' // import q from './q.js'",
      'const re = /import x from "y"/',
      "export const from = 'nothing'",
    ].join('\n')
    expect(parseImports(src).map((i) => `${i.specifier}${i.typeOnly ? ' (type)' : ''}`).sort()).toEqual([
      './a.js (type)',
      './bc.js (type)',
      './de.js',
      './dynamic.js',
      './fg.js',
      './h.js',
      './side-effect.js',
      './star.js',
      'node:fs',
    ])
  })
})
