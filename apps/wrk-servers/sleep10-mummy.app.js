// sleep10: the @mummy app module. A blocking 10 ms wait, then the hello body.
import { HELLO_BODY, SLEEP_MS, blockFor } from './lib/work.js'

const HEADERS = { 'Content-Type': 'text/plain' }

export default function sleep10(request) {
  blockFor(SLEEP_MS)
  request.respond(200, HEADERS, HELLO_BODY)
}
