// The import graph of the source tree, read without a compiler: TypeScript 7's `typescript` package
// ships the native compiler without the JavaScript API, so import and export-from statements are
// found by a small scanner. It blanks comments and the text of template literals first (the protocol
// generator holds `import ... from` lines inside templates), then matches static imports, export-
// from, side-effect imports and dynamic `import('...')` with a literal specifier.
import fs from 'node:fs'
import path from 'node:path'

export interface ImportEdge {
  /** Importing file, relative to the root, with '/' separators. */
  from: string
  /** Imported file, relative to the root (a .ts file when one exists), or the package name. */
  to: string
  /** `import type` / `export type`, or every named specifier marked `type`. */
  typeOnly: boolean
  line: number
}

/** Blanks comments and template-literal text, keeping offsets and line breaks. */
export function stripCommentsAndTemplates(src: string): string {
  const out = src.split('')
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' '
  }
  let i = 0
  let lastSignificant = ''
  const templateDepth: number[] = [] // brace depth at which each open `${` returns to its template
  let braceDepth = 0
  const scanTemplate = (start: number): number => {
    // `start` is just after a backtick or a closing `}` of a substitution.
    let k = start
    while (k < src.length) {
      const c = src[k]!
      if (c === '\\') k += 2
      else if (c === '`') {
        blank(start, k)
        return k + 1
      } else if (c === '$' && src[k + 1] === '{') {
        blank(start, k)
        templateDepth.push(braceDepth)
        braceDepth++
        return k + 2
      } else k++
    }
    blank(start, k)
    return k
  }
  while (i < src.length) {
    const c = src[i]!
    const next = src[i + 1]
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i)
      const stop = end === -1 ? src.length : end
      blank(i, stop)
      i = stop
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2)
      const stop = end === -1 ? src.length : end + 2
      blank(i, stop)
      i = stop
    } else if (c === '/' && (lastSignificant === '' || '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant))) {
      // A regular expression literal: skip it, honouring escapes and character classes.
      let k = i + 1
      let inClass = false
      while (k < src.length && src[k] !== '\n') {
        if (src[k] === '\\') k++
        else if (src[k] === '[') inClass = true
        else if (src[k] === ']') inClass = false
        else if (src[k] === '/' && !inClass) break
        k++
      }
      i = k + 1
      lastSignificant = '/'
    } else if (c === "'" || c === '"') {
      let k = i + 1
      while (k < src.length && src[k] !== c && src[k] !== '\n') k += src[k] === '\\' ? 2 : 1
      i = k + 1
      lastSignificant = c
    } else if (c === '`') {
      i = scanTemplate(i + 1)
      lastSignificant = '`'
    } else if (c === '{') {
      braceDepth++
      i++
      lastSignificant = c
    } else if (c === '}') {
      braceDepth--
      if (templateDepth.length > 0 && templateDepth[templateDepth.length - 1] === braceDepth) {
        templateDepth.pop()
        i = scanTemplate(i + 1)
        lastSignificant = '`'
      } else {
        i++
        lastSignificant = c
      }
    } else {
      if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? 'a' : c
      i++
    }
  }
  return out.join('')
}

const STATIC = /(?:^|[;}\n])[ \t]*(import|export)\s+(type\s+)?([^;'"`]*?)\s*\bfrom\s*(['"])([^'"\n]+)\4/g
const BARE = /(?:^|[;}\n])[ \t]*import\s*(['"])([^'"\n]+)\1/g
const DYNAMIC = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g

/** The specifiers one file imports, with whether each is type-only. */
export function parseImports(source: string): Array<{ specifier: string; typeOnly: boolean; index: number }> {
  const text = stripCommentsAndTemplates(source)
  const found: Array<{ specifier: string; typeOnly: boolean; index: number }> = []
  for (const m of text.matchAll(STATIC)) {
    const clause = m[3]!
    // `import { type A, type B } from` is type-only too; `import A, { type B }` is not.
    const braces = /^\{([^}]*)\}$/.exec(clause.trim())
    const allTyped = braces !== null && braces[1]!.split(',').map((s) => s.trim()).filter((s) => s !== '').every((s) => s.startsWith('type '))
    if (m[1] === 'export' && !/^(\*|\{)/.test(clause.trim()) && !/^\*\s+as\s/.test(clause.trim())) continue
    found.push({ specifier: m[5]!, typeOnly: m[2] !== undefined || allTyped, index: m.index! })
  }
  for (const m of text.matchAll(BARE)) found.push({ specifier: m[2]!, typeOnly: false, index: m.index! })
  for (const m of text.matchAll(DYNAMIC)) found.push({ specifier: m[2]!, typeOnly: false, index: m.index! })
  return found
}

/** Every .ts file under `dirs` (relative to `root`), skipping declaration files. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = []
  const walk = (rel: string): void => {
    const abs = path.join(root, rel)
    if (!fs.existsSync(abs)) return
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = `${rel}/${e.name}`
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'results') walk(child)
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(child)
    }
  }
  for (const d of dirs) walk(d)
  return out.sort()
}

/** Resolves relative specifiers to files under `root` ('./x.js' -> 'dir/x.ts'); packages stay as named. */
export function importGraph(root: string, files: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = []
  for (const from of files) {
    const src = fs.readFileSync(path.join(root, from), 'utf8')
    for (const imp of parseImports(src)) {
      const line = src.slice(0, imp.index).split('\n').length
      if (!imp.specifier.startsWith('.')) {
        edges.push({ from, to: imp.specifier, typeOnly: imp.typeOnly, line })
        continue
      }
      let to = path.posix.normalize(path.posix.join(path.posix.dirname(from), imp.specifier))
      for (const candidate of [to.replace(/\.js$/, '.ts'), to.replace(/\.js$/, '.d.ts'), `${to}.ts`, `${to}/index.ts`]) {
        if (fs.existsSync(path.join(root, candidate))) {
          to = candidate
          break
        }
      }
      edges.push({ from, to, typeOnly: imp.typeOnly, line })
    }
  }
  return edges
}

/** Groups of files that import one another (strongly connected components of two or more). */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>()
  for (const e of edges) {
    if (!next.has(e.from)) next.set(e.from, [])
    next.get(e.from)!.push(e.to)
  }
  // Tarjan's algorithm, iterative so deep graphs cannot overflow the stack.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const cycles: string[][] = []
  let counter = 0
  for (const start of next.keys()) {
    if (index.has(start)) continue
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }]
    index.set(start, counter)
    low.set(start, counter++)
    stack.push(start)
    onStack.add(start)
    while (work.length > 0) {
      const top = work[work.length - 1]!
      const succ = next.get(top.node) ?? []
      if (top.i < succ.length) {
        const w = succ[top.i++]!
        if (!index.has(w)) {
          index.set(w, counter)
          low.set(w, counter++)
          stack.push(w)
          onStack.add(w)
          work.push({ node: w, i: 0 })
        } else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!))
        continue
      }
      work.pop()
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node
        low.set(parent, Math.min(low.get(parent)!, low.get(top.node)!))
      }
      if (low.get(top.node) === index.get(top.node)) {
        const scc: string[] = []
        let w: string
        do {
          w = stack.pop()!
          onStack.delete(w)
          scc.push(w)
        } while (w !== top.node)
        const selfLoop = scc.length === 1 && (next.get(top.node) ?? []).includes(top.node)
        if (scc.length > 1 || selfLoop) cycles.push(scc.sort())
      }
    }
  }
  return cycles
}
