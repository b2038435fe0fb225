/** Severity of a log line, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/**
 * Receives the server's log lines, on the IO thread (lines from workers are forwarded).
 *
 * @example
 * ```ts
 * createServer(router, { logHandler: (level, message) => myLogger[level](message) })
 * ```
 */
export type LogHandler = (level: LogLevel, message: string) => void

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }

/**
 * A log handler writing `ISO-time level message` lines to stderr for `level` and above.
 *
 * @example
 * ```ts
 * createServer(router, { logHandler: consoleLogHandler('debug') })
 * ```
 */
export function consoleLogHandler(level: LogLevel = 'info'): LogHandler {
  const min = RANK[level]
  return (lineLevel, message) => {
    if (RANK[lineLevel] < min) return
    process.stderr.write(`${new Date().toISOString()} ${lineLevel.toUpperCase()} ${message}\n`)
  }
}

/** A log handler that drops every line. */
export const silentLogHandler: LogHandler = () => {}

/** Formats an error (or anything thrown) for a log line. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`
  return String(error)
}
