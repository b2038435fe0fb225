/**
 * A static directory as a route handler: the request's path under a folder, served with
 * `respondFile` (validators, conditional requests, ranges, precompressed `.gz` siblings, media
 * types from `mime-types`), an index file for folders, and the rules that keep a folder's
 * secrets in it: nothing outside the folder (no `..`, no symbolic link leading out), no dotfiles.
 */
import fs from 'node:fs'
import path from 'node:path'
import { MummyError } from '@mummy/errors'
import type { HeadersInit, Request } from './request.js'

/** How {@link serveStatic} serves a folder. */
export interface StaticOptions {
  /**
   * The URL prefix the route is mounted at, removed from the path before it is looked up
   * (`'/static'` for `router.get('/static/**', …)`). Default `''`.
   */
  prefix?: string
  /** File served for a folder's URL (ending in `/`); `false`: none (404). Default `'index.html'`. */
  index?: string | false
  /**
   * Paths with a segment starting with `.` (`.env`, `.git/config`): `'deny'` answers 404 as if
   * absent (the default), `'allow'` serves them.
   */
  dotfiles?: 'deny' | 'allow'
  /** Headers added to every file answer, e.g. `{ 'Cache-Control': 'public, max-age=3600' }`. */
  headers?: HeadersInit
  /** Serve `<file>.gz` to clients that take gzip, where it exists (default `true`). */
  precompressed?: boolean
  /**
   * A folder's URL without its final `/` is redirected (301) to the URL with it, so relative
   * links in its index work. Default `true`.
   */
  redirectFolders?: boolean
}

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' }

/**
 * A handler serving the files under `root` (resolved once, symbolic links included; it must be
 * a folder). Only `GET` and `HEAD` are answered (others: 405 with `Allow`).
 *
 * @example
 * ```ts
 * const files = serveStatic('./public', { prefix: '/static' })
 * // `**` matches one or more segments: the folder's own URLs are routed too.
 * for (const route of ['/static', '/static/', '/static/**']) router.get(route, files)
 * ```
 */
export function serveStatic(
  root: string,
  options: StaticOptions = {},
): (request: Request) => Promise<void> | void {
  let base: string
  try {
    base = fs.realpathSync(path.resolve(root))
    if (!fs.statSync(base).isDirectory()) throw new Error('not a folder')
  } catch (error) {
    throw new MummyError(
      'ERR_MUMMY_INVALID_OPTION',
      `serveStatic root must be a folder, got ${JSON.stringify(root)} (${(error as Error).message})`,
    )
  }
  const prefix = (options.prefix ?? '').replace(/\/+$/, '')
  const index = options.index ?? 'index.html'
  const allowDot = options.dotfiles === 'allow'
  const redirect = options.redirectFolders !== false
  const fileOptions = {
    precompressed: options.precompressed !== false,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
  }
  const notFound = (request: Request): void => request.respond(404, TEXT, 'Not Found\n')

  return (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      request.respond(405, { ...TEXT, Allow: 'GET, HEAD' }, 'Method Not Allowed\n')
      return
    }
    const full = request.path
    if (prefix !== '' && full !== prefix && !full.startsWith(`${prefix}/`)) return notFound(request)
    const rest = full.slice(prefix.length) || '/'
    const segments = rest.split('/')
    // (request.path is decoded: a NUL or backslash could only come from an encoded one.)
    if (
      rest.includes('\0') ||
      rest.includes('\\') ||
      segments.some((s) => s === '..' || (!allowDot && s.startsWith('.') && s !== ''))
    )
      return notFound(request)
    const wanted = path.join(base, ...segments)
    let real: string
    let stat: fs.Stats
    try {
      real = fs.realpathSync(wanted)
      stat = fs.statSync(real)
    } catch {
      return notFound(request)
    }
    // A symbolic link may not lead out of the folder.
    if (real !== base && !real.startsWith(base + path.sep)) return notFound(request)
    if (stat.isDirectory()) {
      if (!rest.endsWith('/')) {
        if (!redirect) return notFound(request)
        const query = request.uri.includes('?') ? request.uri.slice(request.uri.indexOf('?')) : ''
        const location = `${encodeURI(full)}/${query}`
        request.respond(301, { ...TEXT, Location: location }, `Moved to ${location}\n`)
        return
      }
      if (index === false) return notFound(request)
      return request.respondFile(path.join(real, index), fileOptions)
    }
    if (!stat.isFile()) return notFound(request)
    return request.respondFile(real, fileOptions)
  }
}
