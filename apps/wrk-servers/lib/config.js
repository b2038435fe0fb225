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

/**
 * @mummy `transport` option from the `TRANSPORT` environment variable (`node` when unset), as
 * an object to spread into the server options.
 */
export function transport() {
  return { transport: process.env.TRANSPORT ?? 'node' }
}

/** Exit code that tells the runner a server cannot run here (reported as skipped). */
export const UNAVAILABLE_EXIT_CODE = 78

/**
 * `server.listen(port, host)`, except that a transport that is not available here ends the
 * process with {@link UNAVAILABLE_EXIT_CODE} and a one-line reason.
 */
export async function listen(server, port = PORT, host = HOST) {
  try {
    await server.listen(port, host)
  } catch (error) {
    if (error?.code !== 'ERR_MUMMY_TRANSPORT_UNAVAILABLE') throw error
    console.error(`skipped: ${error.message}`)
    process.exit(UNAVAILABLE_EXIT_CODE)
  }
}
