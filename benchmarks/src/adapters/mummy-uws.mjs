// @mummy/server on its uWebSockets.js transport (`transport: 'uws'`): the same server files and
// worker counts as the `mummy` adapter, IO by uWebSockets.js's native core. Where that does not
// load, the server exits with code 78 and the runner reports it as skipped.
import { serverFile } from './wrk-servers.mjs'

export default {
  id: 'mummy-uws',
  label: '@mummy/server (uws)',
  color: '#e08a3c',
  countsWorkers: true,
  script: (scenario) => serverFile(scenario, 'mummy'),
  env: (options) => ({
    TRANSPORT: 'uws',
    ...(options.workers === undefined ? {} : { WORKERS: String(options.workers) }),
  }),
  skipExitCode: 78,
}
