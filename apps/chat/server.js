// The chat demo's entry point: WebSocket rooms with nicknames and history in SQLite.
// Run: node apps/chat/server.js (PORT, CHAT_DB, WORKERS, TRANSPORT=uws), then open http://localhost:8080 in two tabs.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { consoleLogHandler, createServer } from '@mummy/server'
import { filesPath, openDatabase } from './db.js'
import { MAX_FILE } from './protocol.js'

// This file runs on the IO thread only (the handlers are in app.js, loaded by each worker).
// Connections from an earlier run are gone: forget them before anyone connects.
const db = openDatabase()
db.exec('DELETE FROM members')
db.close()
mkdirSync(filesPath(), { recursive: true })

const server = createServer({
  app: new URL('./app.js', import.meta.url),
  workers: Number(process.env.WORKERS ?? 4),
  maxMessageLen: 8 * 1024,
  transport: process.env.TRANSPORT === 'uws' ? 'uws' : 'node',
  logHandler: consoleLogHandler(process.env.LOG_LEVEL ?? 'info'),
  // Shared files: tus uploads land in files/.incoming/tus until complete (unfinished ones are
  // removed after a day), then the handler moves them to files/.
  uploads: { dir: path.join(filesPath(), '.incoming'), tus: { maxSize: MAX_FILE } },
})
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Chat on http://localhost:${server.port}`)

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server.close().then(() => process.exit(0))
  })
}
