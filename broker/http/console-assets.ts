// The console's static files, shipped in the package beside this module (console/, copied into
// dist/ by `npm run build`) and read once: no CDN, no bundler, nothing fetched at run time.
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'

const DIR = fileURLToPath(new URL('./console/', import.meta.url))

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/charts.js': { file: 'charts.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
}

const cache = new Map<string, Buffer>()

/** The asset served at `path`, or undefined for any other path. */
export function consoleAsset(path: string): { type: string; body: Buffer } | undefined {
  const f = FILES[path]
  if (f === undefined) return undefined
  let body = cache.get(f.file)
  if (body === undefined) {
    body = fs.readFileSync(DIR + f.file)
    cache.set(f.file, body)
  }
  return { type: f.type, body }
}
