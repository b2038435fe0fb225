// A minimal chat in one file: rooms are topics; who is who lives in SQLite, keyed by ws.id.
// Run: node examples/chat.js, then open http://localhost:8080/?room=lobby&nick=alice and ?room=lobby&nick=bob
import Database from 'better-sqlite3'
import os from 'node:os'
import path from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { Router, createServer, publish } from '@mummy/server'

// Every thread opens its own connection to the same file (see sqlite.js).
const db = new Database(process.env.CHAT_DB ?? path.join(os.tmpdir(), 'mummy-chat-example.db'))
db.pragma('journal_mode = WAL')
db.pragma('busy_timeout = 5000')
db.exec('CREATE TABLE IF NOT EXISTS members (ws_id INTEGER PRIMARY KEY, nick TEXT, room TEXT)')
if (isMainThread) db.exec('DELETE FROM members') // connections of an earlier run are gone
const addMember = db.prepare('INSERT OR REPLACE INTO members (ws_id, nick, room) VALUES (?, ?, ?)')
const findMember = db.prepare('SELECT nick, room FROM members WHERE ws_id = ?')
const removeMember = db.prepare('DELETE FROM members WHERE ws_id = ? RETURNING nick, room')

const page = `<!doctype html>
<title>chat</title>
<p>Add ?room=lobby&amp;nick=you to the address; open it again with another nick to talk.</p>
<ul id="log"></ul>
<form id="say"><input id="text" autofocus autocomplete="off"><button>Send</button></form>
<script>
  const ws = new WebSocket('ws://' + location.host + '/ws' + location.search)
  ws.onmessage = (event) => {
    const item = document.createElement('li')
    item.textContent = event.data
    document.getElementById('log').append(item)
  }
  document.getElementById('say').onsubmit = (event) => {
    event.preventDefault()
    ws.send(document.getElementById('text').value)
    document.getElementById('text').value = ''
  }
</script>
`

const NAME = /^[A-Za-z0-9_-]{1,24}$/

const router = new Router()
router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/html' }, page))
router.get('/ws', (request) => {
  const nick = request.query.get('nick') ?? ''
  const room = request.query.get('room') ?? 'lobby'
  if (!NAME.test(nick) || !NAME.test(room)) {
    request.respond(
      400,
      { 'Content-Type': 'text/plain' },
      'nick and room: 1-24 of A-Z a-z 0-9 _ -\n',
    )
    return
  }
  const ws = request.upgradeToWebSocket()
  addMember.run(ws.id, nick, room)
  ws.subscribe(room)
  publish(room, `${nick} joined #${room}`)
})

function websocketHandler(ws, event, message) {
  if (event === 'message' && message.kind === 'text') {
    const member = findMember.get(ws.id)
    const text = message.data.trim().slice(0, 500)
    if (member !== undefined && text !== '') publish(member.room, `${member.nick}: ${text}`)
  } else if (event === 'close') {
    const member = removeMember.get(ws.id)
    if (member !== undefined) publish(member.room, `${member.nick} left #${member.room}`)
  }
}

const server = createServer(router, { websocketHandler, workers: 4 })
await server.listen(Number(process.env.PORT ?? 8080))
console.log(`Serving on ${server.url}`)
