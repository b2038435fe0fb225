/**
 * The options of `createServer`, checked when they are given: every key known, every value of
 * the right type and range. A mistake is reported at once, naming the option and the value
 * received, instead of being ignored or found at `listen()`.
 */
import { MummyError } from '@mummy/errors'

type Check = (value: unknown) => string | null

const integer =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? null : `an integer >= ${min}`
const ms =
  (min: number): Check =>
  (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min
      ? null
      : min > 0
        ? 'a number of ms > 0'
        : 'a number of ms >= 0'
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? null : values.map((x) => `'${x}'`).join(' or ')
const fn: Check = (v) => (typeof v === 'function' ? null : 'a function')
const url: Check = (v) => (typeof v === 'string' || v instanceof URL ? null : 'a string or a URL')
const object: Check = (v) =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? null : 'an object'
const flagOrObject: Check = (v) =>
  typeof v === 'boolean' ? null : object(v) && 'true, false or an object'

/** Every option `createServer` takes, with what its value must be. */
const CHECKS: Readonly<Record<string, Check>> = {
  workers: integer(0),
  app: url,
  module: url,
  concurrency: integer(1),
  maxHeadersLen: integer(1),
  maxBodyLen: integer(0),
  headersTimeout: ms(1),
  requestTimeout: ms(1),
  keepAliveTimeout: ms(1),
  sendTimeout: ms(1),
  handlerTimeout: ms(0),
  closeTimeout: ms(0),
  compression: flagOrObject,
  logHandler: fn,
  transport: oneOf('node', 'uws', 'auto'),
  resourceLimits: object,
  websocketHandler: fn,
  maxMessageLen: integer(1),
  idleTimeout: ms(0),
  maxBackpressure: integer(1),
  backpressure: oneOf('close', 'drop'),
  websocketCompression: flagOrObject,
  sseHandler: fn,
  uploads: flagOrObject,
  sseHeartbeat: ms(0),
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(
        (prev[j] as number) + 1,
        (next[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    prev = next
  }
  return prev[b.length] as number
}

/** The known option closest to `key`, if it is close enough to be a misspelling. */
function suggest(key: string): string | null {
  let best: string | null = null
  let bestDistance = Infinity
  for (const known of Object.keys(CHECKS)) {
    const d = known.toLowerCase() === key.toLowerCase() ? 0 : distance(known, key)
    if (d < bestDistance) {
      best = known
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : null
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'object' && value !== null)
    return Array.isArray(value) ? 'an array' : 'an object'
  return String(value)
}

/**
 * Checks the options given to `createServer`. Throws `ERR_MUMMY_INVALID_OPTION` (a
 * `MummyError`) naming the first option that is unknown (with the closest known name) or whose
 * value is not what it must be, and the value received. `undefined` values are ignored (the
 * default applies).
 *
 * @example
 * ```ts
 * validateOptions({ workers: 'four' })
 * // MummyError ERR_MUMMY_INVALID_OPTION: option workers must be an integer >= 0, got "four"
 * ```
 */
export function validateOptions(options: unknown): void {
  if (object(options) !== null)
    throw new MummyError(
      'ERR_MUMMY_INVALID_OPTION',
      `options must be an object, got ${show(options)}`,
    )
  for (const [key, value] of Object.entries(options as Record<string, unknown>)) {
    if (value === undefined) continue
    const check = CHECKS[key]
    if (check === undefined) {
      const near = suggest(key)
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `unknown option ${key}${near === null ? '' : ` (did you mean ${near}?)`}`,
      )
    }
    const expected = check(value)
    if (expected !== null)
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `option ${key} must be ${expected}, got ${show(value)}`,
      )
  }
}

/**
 * Checks `listen(port, host)`'s arguments: a port is an integer 0–65535 (0: any free port), a
 * host a non-empty string. Returns the `ERR_MUMMY_INVALID_OPTION` error to reject with, or null.
 *
 * @example
 * ```ts
 * listenArgumentError('8080', undefined)?.message // 'listen() port must be an integer 0…65535, got "8080"'
 * ```
 */
export function listenArgumentError(port: unknown, host: unknown): MummyError | null {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535)
    return new MummyError(
      'ERR_MUMMY_INVALID_OPTION',
      `listen() port must be an integer 0…65535, got ${show(port)}`,
    )
  if (host !== undefined && (typeof host !== 'string' || host === ''))
    return new MummyError(
      'ERR_MUMMY_INVALID_OPTION',
      `listen() host must be a non-empty string, got ${show(host)}`,
    )
  return null
}
