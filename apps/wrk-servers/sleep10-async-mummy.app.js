// sleep10-async: the @mummy app module. The 10 ms are an awaited timer (a database call, an
// HTTP request to another service), so a worker runs many requests at once.
import { setTimeout as sleep } from 'node:timers/promises'
import { HELLO_BODY, SLEEP_MS } from './lib/work.js'

const HEADERS = { 'Content-Type': 'text/plain' }

export default async function sleep10async(request) {
  await sleep(SLEEP_MS)
  request.respond(200, HEADERS, HELLO_BODY)
}
