// Where every benchmark server listens, and how @mummy servers log: quiet, but warnings and
// errors still reach stderr (the runner shows them when a server fails).
export const HOST = '127.0.0.1'
export const PORT = Number(process.env.PORT ?? 8080)

/** @mummy `logHandler`: drop info/debug lines, keep warnings and errors. */
export function quietLog(level, message) {
  if (level === 'warn' || level === 'error') console.error(`[${level}] ${message}`)
}

/**
 * @mummy worker count: the scenario's choice (`undefined` = the server's default) unless the
 * `WORKERS` environment variable overrides it (for experiments: `WORKERS=2 node hello-mummy.js`).
 */
export function workers(chosen) {
  return process.env.WORKERS === undefined ? chosen : Number(process.env.WORKERS)
}
