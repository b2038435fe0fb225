// Raw uWebSockets.js (the @trufflesuite/uws-js-unofficial 20.30 build, installed under the name
// "uWebSockets.js"): C++ HTTP, one JS thread. Where its native build does not load, its server
// exits with code 78 and the runner reports it as skipped.
import { serverFile } from './wrk-servers.mjs'

export default {
  id: 'uws',
  label: 'uWebSockets.js',
  color: '#2f6db5',
  script: (scenario) => serverFile(scenario, 'uws'),
  env: () => ({}),
  skipExitCode: 78,
}
