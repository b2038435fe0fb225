// Where the server files are.
import { createRequire } from 'node:module'
import path from 'node:path'

const require = createRequire(import.meta.url)

/** Directory of the @mummy/wrk-servers package. */
export const WRK_SERVERS_DIR = path.dirname(require.resolve('@mummy/wrk-servers/package.json'))

/** Absolute path of `<scenario>-<id>.js`. */
export function serverFile(scenario, id) {
  return path.join(WRK_SERVERS_DIR, `${scenario}-${id}.js`)
}
