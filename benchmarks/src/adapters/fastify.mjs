// Fastify 5 (+ @fastify/compress for json): one thread, async handlers.
import { serverFile } from './wrk-servers.mjs'

export default {
  id: 'fastify',
  label: 'Fastify',
  color: '#5a5a5a',
  script: (scenario) => serverFile(scenario, 'fastify'),
  env: () => ({}),
}
