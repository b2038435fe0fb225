// Loads uWebSockets.js's native build — never the package's pure-JS fallback, which the
// `@trufflesuite/uws-js-unofficial` build (installed under the name "uWebSockets.js") would
// otherwise pick silently when the binary does not load, and which is not what we measure.
// Where the binary does not load (another Node ABI, an older glibc), the server exits with
// code 78 and a one-line reason; the runner reports uWebSockets.js as skipped.
import { createRequire } from 'node:module'
import path from 'node:path'

export const UWS_UNAVAILABLE_EXIT_CODE = 78

const require = createRequire(import.meta.url)

function load() {
  const binary = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`
  try {
    const entry = require.resolve('uWebSockets.js')
    return require(path.join(path.dirname(entry), '..', 'binaries', binary))
  } catch (error) {
    const reason = String(error?.message ?? error).split('\n')[0]
    console.error(
      `uWebSockets.js skipped: its native build ${binary} does not load here (${reason})`,
    )
    process.exit(UWS_UNAVAILABLE_EXIT_CODE)
  }
}

/** The native uWebSockets.js module. */
const uWS = load()
export default uWS

/** Listens on `host:port` and resolves once listening; rejects if the port cannot be bound. */
export function listen(app, host, port) {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) =>
      token ? resolve(token) : reject(new Error(`uWebSockets.js cannot listen on ${host}:${port}`)),
    )
  })
}
