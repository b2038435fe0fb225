/**
 * TypeScript modules in pool workers. A main thread started under tsx (`tsx app.ts`, or
 * `node --import tsx`) has tsx's module hooks; on Node versions whose workers do not inherit
 * hooks registered with `module.register()` (those without `worker_threads.isInternalThread`,
 * Node 20 among them) tsx registers them on the main thread only, so a worker could not import
 * a `.ts` module. A worker of such a process registers tsx's hooks itself, through tsx's own API,
 * before it imports anything. Node's built-in type stripping needs nothing: its flag is in
 * `process.execArgv`, which workers inherit.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import * as threads from 'node:worker_threads'

/** The URL of tsx's ESM API for the `--import` value `spec`, or null when it is not tsx. */
function tsxApi(spec: string): string | null {
  // `tsx app.ts` imports its loader by URL: …/tsx/dist/loader.mjs.
  if (/[\\/]tsx[\\/]dist[\\/]loader\.mjs$/.test(spec))
    return new URL('./esm/api/index.mjs', spec).href
  if (spec !== 'tsx' && spec !== 'tsx/esm') return null
  try {
    const pkg = createRequire(path.join(process.cwd(), 'noop.js')).resolve('tsx/package.json')
    return pathToFileURL(path.join(path.dirname(pkg), 'dist', 'esm', 'api', 'index.mjs')).href
  } catch {
    return null
  }
}

/** Registers tsx's hooks in this worker when the process runs under tsx and they are not inherited. */
export async function registerTypeScriptLoader(): Promise<void> {
  if ('isInternalThread' in threads) return
  const argv = process.execArgv
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const spec =
      arg === '--import' ? argv[i + 1] : arg.startsWith('--import=') ? arg.slice(9) : undefined
    const api = spec === undefined ? null : tsxApi(spec)
    if (api === null) continue
    const { register } = (await import(api)) as { register: () => unknown }
    register()
    return
  }
}
