// @mummy/server (node transport): handlers on a worker_threads pool. Worker counts are chosen
// per scenario in each server file's header; `--workers N` overrides them all (WORKERS=N).
import { serverFile } from './wrk-servers.mjs'

export default {
  id: 'mummy',
  label: '@mummy/server',
  color: '#b5651d',
  countsWorkers: true,
  script: (scenario) => serverFile(scenario, 'mummy'),
  env: (options) => ({
    TRANSPORT: 'node',
    ...(options.workers === undefined ? {} : { WORKERS: String(options.workers) }),
  }),
}
