// mixed: the @mummy app module. / is cheap; /heavy is ~100 ms of SHA-256.
import { HEAVY_BLOCKS, HELLO_BODY, hashWork } from './lib/work.js'

const HEADERS = { 'Content-Type': 'text/plain' }

export default function mixed(request) {
  if (request.path === '/heavy') request.respond(200, HEADERS, hashWork(HEAVY_BLOCKS))
  else request.respond(200, HEADERS, HELLO_BODY)
}
