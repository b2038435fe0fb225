/**
 * Route patterns: compiled once at registration into a flat list of segment matchers, then
 * matched against a {@link PathView} with a small two-pointer matcher (no regular expressions).
 *
 * `**` compiles to "one non-empty segment" followed by a rest marker that absorbs zero or more
 * further segments. The matcher keeps a single back-tracking point (the last rest marker seen),
 * the classic wildcard algorithm: correct for any number of `**` and O(segments × items) in the
 * worst case, never exponential.
 */
import { MummyError } from '@mummy/errors'
import { tryDecode, type PathView } from './path.js'

/**
 * Error code (`MummyError.code`) thrown when a route, method or handler cannot be registered.
 *
 * @example
 * ```ts
 * try { router.get('users', handler) } catch (error) {
 *   if (error instanceof MummyError && error.code === INVALID_ROUTE) console.error(error.message)
 * }
 * ```
 */
export const INVALID_ROUTE = 'ERR_MUMMY_INVALID_ROUTE'

const LITERAL = 0
const ONE = 1
const PARAM = 2
const GLOB = 3
const REST = 4

const PARAM_NAME = /^[A-Za-z0-9_$-]+$/

/** One compiled route segment. Every kind has the same shape, so matching stays monomorphic. */
class Item {
  constructor(
    readonly kind: number,
    /** LITERAL: the decoded text. GLOB: the prefix before the first `*`. */
    readonly text: string,
    /** GLOB: the suffix after the last `*`. */
    readonly suffix: string,
    /** GLOB: the non-empty pieces between `*`s, in order. */
    readonly middles: readonly string[],
    /** GLOB: the shortest segment that can match. */
    readonly minLength: number,
    /** PARAM: index into the route's params. */
    readonly param: number,
  ) {}
}

const ONE_ITEM = new Item(ONE, '', '', [], 0, -1)
const REST_ITEM = new Item(REST, '', '', [], 0, -1)

/**
 * A route string compiled for matching.
 *
 * @example
 * ```ts
 * const route = compileRoute('/users/:id')
 * route.paramNames // ['id']
 * ```
 */
export interface CompiledRoute {
  /** The route string as registered. */
  readonly source: string
  /** Names of the `:name` / `@name` params, in the order they appear. */
  readonly paramNames: readonly string[]
  /** @internal */
  readonly items: readonly Item[]
  /** Fewest path segments that can match (every item except rest markers takes one). */
  readonly minSegments: number
  /** `true` when the route contains `**` (and so matches more than `minSegments`). */
  readonly variable: boolean
  /** @internal segment index captured for each param by the last successful match */
  readonly captures: Int32Array
}

/**
 * Validates and compiles a route string. Throws {@link MummyError} `ERR_MUMMY_INVALID_ROUTE` when
 * the route does not start with `/`, contains `?` or `#`, uses `**` inside a segment, or has a
 * param with an empty, invalid (`[A-Za-z0-9_$-]` only) or repeated name.
 *
 * @example
 * ```ts
 * compileRoute('/static/**\/*.png')
 * compileRoute('users/:id') // throws ERR_MUMMY_INVALID_ROUTE
 * ```
 */
export function compileRoute(route: string): CompiledRoute {
  if (typeof route !== 'string' || route.charCodeAt(0) !== 0x2f) {
    throw invalid(route, 'routes must start with "/"')
  }
  if (route.includes('?') || route.includes('#')) {
    throw invalid(route, 'routes match the path only; "?" and "#" are not allowed')
  }
  const items: Item[] = []
  const paramNames: string[] = []
  let variable = false
  for (const segment of route.slice(1).split('/')) {
    if (segment === '**') {
      items.push(ONE_ITEM, REST_ITEM)
      variable = true
    } else if (segment.includes('**')) {
      throw invalid(route, `"**" must be a whole segment, not part of "${segment}"`)
    } else if (segment === '*') {
      items.push(ONE_ITEM)
    } else if (segment.length >= 2 && (segment[0] === ':' || segment[0] === '@')) {
      const name = segment.slice(1)
      if (!PARAM_NAME.test(name)) {
        throw invalid(route, `param name "${name}" may only use letters, digits, "_", "$" and "-"`)
      }
      if (paramNames.includes(name)) throw invalid(route, `param "${name}" appears twice`)
      items.push(new Item(PARAM, '', '', [], 0, paramNames.length))
      paramNames.push(name)
    } else if (segment.includes('*')) {
      const pieces = segment.split('*').map(decodeLiteral)
      const prefix = pieces[0] ?? ''
      const suffix = pieces[pieces.length - 1] ?? ''
      const middles = pieces.slice(1, -1).filter((piece) => piece !== '')
      let minLength = prefix.length + suffix.length
      for (const piece of middles) minLength += piece.length
      items.push(new Item(GLOB, prefix, suffix, middles, minLength, -1))
    } else {
      items.push(new Item(LITERAL, decodeLiteral(segment), '', [], 0, -1))
    }
  }
  let minSegments = 0
  for (const item of items) if (item.kind !== REST) minSegments++
  return {
    source: route,
    paramNames,
    items,
    minSegments,
    variable,
    captures: new Int32Array(paramNames.length),
  }
}

/**
 * Matches `route` against the path loaded in `view`. On success the segment index of every param
 * is left in `route.captures` (read them with {@link readParams} before the next match).
 *
 * @example
 * ```ts
 * const view = new PathView()
 * view.load('/a/b/c.png')
 * matchRoute(compileRoute('/**\/*.png'), view) // true
 * ```
 */
export function matchRoute(route: CompiledRoute, view: PathView): boolean {
  const count = view.count
  if (route.variable ? count < route.minSegments : count !== route.minSegments) return false
  const items = route.items
  const itemCount = items.length
  let i = 0
  let j = 0
  let restItem = -1
  let restSegment = 0
  while (j < count) {
    const item = items[i]
    if (item !== undefined) {
      if (item.kind === REST) {
        restItem = i
        restSegment = j
        i++
        continue
      }
      if (matchItem(item, view, j, route.captures)) {
        i++
        j++
        continue
      }
    }
    if (restItem < 0) return false
    // Let the last `**` take one more segment and retry what follows it.
    i = restItem + 1
    j = ++restSegment
  }
  while (i < itemCount && items[i]?.kind === REST) i++
  return i === itemCount
}

/**
 * Builds the params object (null prototype, decoded values) of the last successful
 * {@link matchRoute} of `route` against `view`.
 *
 * @example
 * ```ts
 * const route = compileRoute('/users/:id')
 * view.load('/users/J%C3%B6rg')
 * if (matchRoute(route, view)) readParams(route, view) // { id: 'Jörg' }
 * ```
 */
export function readParams(route: CompiledRoute, view: PathView): Record<string, string> {
  const params = Object.create(null) as Record<string, string>
  const names = route.paramNames
  for (let k = 0; k < names.length; k++) {
    // A param only matches a segment whose value is valid, so value() is a string here.
    params[names[k] as string] = view.value(route.captures[k] ?? 0) ?? ''
  }
  return params
}

function matchItem(item: Item, view: PathView, index: number, captures: Int32Array): boolean {
  switch (item.kind) {
    case LITERAL: {
      const text = item.text
      if (view.isEncoded(index)) return view.value(index) === text
      const start = view.start(index)
      return view.end(index) - start === text.length && view.uri.startsWith(text, start)
    }
    case ONE:
      return view.end(index) > view.start(index)
    case PARAM:
      if (view.end(index) === view.start(index)) return false
      if (view.isEncoded(index) && view.value(index) === null) return false
      captures[item.param] = index
      return true
    case GLOB: {
      if (view.isEncoded(index)) {
        const value = view.value(index)
        return value !== null && matchGlob(item, value, 0, value.length)
      }
      return matchGlob(item, view.uri, view.start(index), view.end(index))
    }
    default:
      return false
  }
}

/** Matches `text[start, end)` against a `*` pattern within one segment; leftmost-first is exact. */
function matchGlob(item: Item, text: string, start: number, end: number): boolean {
  if (end - start < item.minLength) return false
  const prefix = item.text
  const suffix = item.suffix
  if (!text.startsWith(prefix, start)) return false
  const limit = end - suffix.length
  if (!text.startsWith(suffix, limit)) return false
  let position = start + prefix.length
  for (const piece of item.middles) {
    const found = text.indexOf(piece, position)
    if (found < 0 || found + piece.length > limit) return false
    position = found + piece.length
  }
  return true
}

/** Route literals may be written percent-encoded; invalid encodings are kept verbatim. */
function decodeLiteral(text: string): string {
  if (!text.includes('%')) return text
  return tryDecode(text) ?? text
}

function invalid(route: unknown, reason: string): MummyError {
  return new MummyError(INVALID_ROUTE, `Invalid route ${JSON.stringify(route)}: ${reason}`)
}
