/**
 * The one error base every `@mummy/*` package throws or reports.
 *
 * Each error has a stable `code` (`ERR_MUMMY_*`) that callers may switch on, and
 * — where the error comes from a protocol — the HTTP status (`status`) or the
 * WebSocket close code (`closeCode`) the server answers with. Every code is listed
 * in `docs/errors.md`; a test keeps that list and the code in sync.
 *
 * `instanceof MummyError` works even when two copies of this package are loaded
 * (for example by jest's module registry and by a worker thread), because the
 * check uses a `Symbol.for` brand rather than prototype identity.
 *
 * @example
 * ```ts
 * try { parse(bytes) } catch (err) {
 *   if (err instanceof MummyError && err.code === 'ERR_MUMMY_BODY_TOO_LARGE') reply(err.status)
 * }
 * ```
 */
const BRAND = Symbol.for('mummy.error')

/** Options accepted by {@link MummyError}'s constructor. */
export interface MummyErrorOptions {
  /** HTTP status the server answers with when this error ends a request. */
  status?: number
  /** WebSocket close code the server closes with when this error ends a connection. */
  closeCode?: number
  /** The underlying error, if any. */
  cause?: unknown
}

/**
 * Base class of every error raised by `@mummy`.
 *
 * @example
 * ```ts
 * throw new MummyError('ERR_MUMMY_INVALID_OPTION', 'workers must be >= 1')
 * ```
 */
export class MummyError extends Error {
  /** Stable machine-readable code, always starting with `ERR_MUMMY_`. */
  readonly code: string
  /** HTTP status to answer with, when the error maps to one. */
  readonly status: number | undefined
  /** WebSocket close code to close with, when the error maps to one. */
  readonly closeCode: number | undefined

  constructor(code: string, message: string, options: MummyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'MummyError'
    this.code = code
    this.status = options.status
    this.closeCode = options.closeCode
  }

  /** Brand check so `instanceof` survives duplicate copies of this module. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== MummyError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true
    )
  }
}
Object.defineProperty(MummyError.prototype, BRAND, { value: true })

/** `true` when `value` is a {@link MummyError} (from any copy of this package). */
export function isMummyError(value: unknown): value is MummyError {
  return value instanceof MummyError
}
