// hello: the @mummy app module (runs in every worker).
import { HELLO_BODY } from './lib/work.js'

const HEADERS = { 'Content-Type': 'text/plain' }

export default function hello(request) {
  request.respond(200, HEADERS, HELLO_BODY)
}
