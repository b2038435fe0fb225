// The chat demo's entry point: WebSocket rooms with nicknames and history in SQLite — or, with
// REDIS_URL set, in Redis, so that several instances serve one chat.
// Run: node apps/chat/server.js (PORT, CHAT_DB, WORKERS, TRANSPORT=uws, REDIS_URL), then open
// http://localhost:8080 in two tabs.
import { mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { consoleLogHandler, createServer } from '@mummy/server'
import { redisPubSub } from '@mummy/redis'
import { filesPath, openDatabase } from './db.js'
import { MAX_FILE } from './protocol.js'
import { HISTORY_KEPT, REDIS_PREFIX, forgetInstance, keepsHistory } from './redis-store.js'

// This file runs on the IO thread only (the handlers are in app.js, loaded by each worker).
const port = Number(process.env.PORT ?? 8080)
const redisUrl = process.env.REDIS_URL || undefined
let pubsub
if (redisUrl === undefined) {
  // Connections from an earlier run are gone: forget them before anyone connects.
  const db = openDatabase()
  db.exec('DELETE FROM members')
  db.close()
} else {
  // Several instances: topics cross them through Redis, and the rooms' watch topics keep their
  // messages in Redis Streams (the history every instance reads). This instance's name keys its
  // connections in Redis; the workers read it from the environment they inherit.
  process.env.CHAT_INSTANCE ||= `${os.hostname()}:${port}`
  await forgetInstance(redisUrl, process.env.CHAT_INSTANCE).catch((error) =>
    console.warn(`[chat] could not forget earlier connections: ${error.message}`),
  )
  pubsub = redisPubSub({
    url: redisUrl,
    prefix: REDIS_PREFIX,
    history: { maxLen: HISTORY_KEPT, topics: keepsHistory },
  })
}
mkdirSync(filesPath(), { recursive: true })

const server = createServer({
  app: new URL('./app.js', import.meta.url),
  workers: Number(process.env.WORKERS ?? 4),
  maxMessageLen: 8 * 1024,
  transport: process.env.TRANSPORT === 'uws' ? 'uws' : 'node',
  logHandler: consoleLogHandler(process.env.LOG_LEVEL ?? 'info'),
  // Shared files: tus uploads land in files/.incoming/tus until complete (unfinished ones are
  // removed after a day), then the handler moves them to files/. Instances sharing one
  // CHAT_FILES folder can each take any chunk of an upload, and serve every file.
  uploads: { dir: path.join(filesPath(), '.incoming'), tus: { maxSize: MAX_FILE } },
  pubsub,
  // Ctrl-C / SIGTERM: answer what is in flight, close, exit 0.
  shutdownSignals: true,
})
await server.listen(port)
console.log(
  redisUrl === undefined
    ? `Chat on http://localhost:${server.port}`
    : `Chat on http://localhost:${server.port} (instance ${process.env.CHAT_INSTANCE}, Redis ${redisUrl})`,
)
