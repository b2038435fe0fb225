// A SQLite-backed handler with a synchronous driver (better-sqlite3): blocking queries on worker threads.
// Run: node examples/sqlite.js; then: curl -d 'hello' localhost:8080/notes && curl localhost:8080/notes
import Database from 'better-sqlite3'
import os from 'node:os'
import path from 'node:path'
import { Router, createServer } from '@mummy/server'

// Every worker opens its own connection (each thread has its own heap); WAL lets them share the file.
// The database lives in the temp folder unless NOTES_DB names one (never the working directory).
const file = process.env.NOTES_DB ?? path.join(os.tmpdir(), 'mummy-example-notes.db')
const db = new Database(file)
db.pragma('journal_mode = WAL')
db.pragma('busy_timeout = 5000')
db.exec(
  'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL, created INTEGER NOT NULL)',
)
const insert = db.prepare('INSERT INTO notes (text, created) VALUES (?, ?)')
const list = db.prepare('SELECT id, text, created FROM notes ORDER BY id DESC LIMIT 100')

const router = new Router()
router.post('/notes', (request) => {
  const { lastInsertRowid } = insert.run(request.text(), Date.now())
  request.respond(
    201,
    { 'Content-Type': 'application/json' },
    JSON.stringify({ id: Number(lastInsertRowid) }),
  )
})
router.get('/notes', (request) => {
  request.respond(200, { 'Content-Type': 'application/json' }, JSON.stringify(list.all()))
})

const server = createServer(router, { workers: 4 })
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving on ${server.url}; notes in ${file}`)
