/**
 * Cookies for native handlers, on the maintained `cookie` package: `request.cookies` reads
 * them, {@link serializeCookie} writes a `Set-Cookie` value.
 */
import { stringifySetCookie, type SetCookie } from 'cookie'

/** A cookie's attributes: `maxAge` (s), `expires`, `domain`, `path`, `secure`, `httpOnly`, `sameSite`, `partitioned`, `priority`. */
export type CookieOptions = Omit<SetCookie, 'name' | 'value'>

/**
 * A `Set-Cookie` header value for `name=value` (the value percent-encoded) with `options`.
 * Throws a `TypeError` for a name or attribute that is not allowed.
 *
 * @example
 * ```ts
 * request.respond(200, {
 *   'Set-Cookie': [
 *     serializeCookie('session', id, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' }),
 *     serializeCookie('theme', 'dark', { maxAge: 60 * 60 * 24 * 365 }),
 *   ],
 * })
 * ```
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  return stringifySetCookie({ ...options, name, value })
}
