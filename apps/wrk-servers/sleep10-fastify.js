// sleep10 on Fastify: every request awaits a 10 ms timer, then answers
// "abcdefghijklmnopqrstuvwxyz".
import { setTimeout as sleep } from 'node:timers/promises'
import Fastify from 'fastify'
import { HOST, PORT } from './lib/config.js'
import { HELLO_BODY, SLEEP_MS } from './lib/work.js'

const app = Fastify({ logger: false })
app.get('/', async (request, reply) => {
  await sleep(SLEEP_MS)
  reply.header('Content-Type', 'text/plain')
  return HELLO_BODY
})
await app.listen({ host: HOST, port: PORT })
