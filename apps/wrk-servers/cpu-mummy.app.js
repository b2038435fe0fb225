// cpu: the @mummy app module. ~1 ms of SHA-256; the digest is the body.
import { CPU_BLOCKS, hashWork } from './lib/work.js'

const HEADERS = { 'Content-Type': 'text/plain' }

export default function cpu(request) {
  request.respond(200, HEADERS, hashWork(CPU_BLOCKS))
}
