// node:http, the baseline: one thread, async handlers.
import { serverFile } from './wrk-servers.mjs'

export default {
  id: 'node',
  label: 'node:http',
  color: '#3c873a',
  script: (scenario) => serverFile(scenario, 'node'),
  env: () => ({}),
}
