// json on Fastify: GET / → a ~10 KB JSON document, serialized by Fastify (JSON.stringify) per
// request and gzipped (level 6) by @fastify/compress when the client accepts gzip.
import compress from '@fastify/compress'
import Fastify from 'fastify'
import { HOST, PORT } from './lib/config.js'
import { GZIP_LEVEL, makeDocument } from './lib/work.js'

const document = makeDocument()

const app = Fastify({ logger: false })
await app.register(compress, {
  encodings: ['gzip'],
  threshold: 860,
  zlibOptions: { level: GZIP_LEVEL },
})
app.get('/', (request, reply) => {
  reply.send(document)
})
await app.listen({ host: HOST, port: PORT })
