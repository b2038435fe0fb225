// json: the @mummy app module. The server compresses the answer.
import { makeDocument } from './lib/work.js'

const HEADERS = { 'Content-Type': 'application/json' }
const document = makeDocument()

export default function json(request) {
  request.respond(200, HEADERS, JSON.stringify(document))
}
