// The chat's handlers: the page, the WebSocket upgrade and every WebSocket event. This module
// is loaded by each worker thread; state lives in SQLite, never in module variables.
import fs, { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Router, parseUploadMetadata, publish, publishEvent } from '@mummy/server'
import { chatQueries, filesPath, openDatabase } from './db.js'
import {
  checkNick,
  checkRoom,
  cleanFileName,
  parseClientMessage,
  roomTopic,
  watchTopic,
} from './protocol.js'

// This worker's own connection to the shared database.
const chat = chatQueries(openDatabase())

const assets = {
  '/': ['text/html; charset=utf-8', 'index.html'],
  '/client.js': ['text/javascript; charset=utf-8', 'client.js'],
  '/style.css': ['text/css; charset=utf-8', 'style.css'],
  '/watch.html': ['text/html; charset=utf-8', 'watch.html'],
  '/watch.js': ['text/javascript; charset=utf-8', 'watch.js'],
  '/ui.js': ['text/javascript; charset=utf-8', 'ui.js'],
}

const router = new Router()
for (const [route, [type, file]] of Object.entries(assets)) {
  const body = readFileSync(new URL(`./public/${file}`, import.meta.url))
  router.get(route, (request) =>
    request.respond(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' }, body),
  )
}
// The tus client the page uploads files with (its browser build, from node_modules).
const tusClient = readFileSync(
  createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js'),
)
router.get('/vendor/tus.min.js', (request) =>
  request.respond(200, { 'Content-Type': 'text/javascript; charset=utf-8' }, tusClient),
)

router.get('/ws', (request) => {
  try {
    request.upgradeToWebSocket()
  } catch (error) {
    // Not a WebSocket handshake: it was already answered (400/426), nothing else to do.
    if (!request.responded) throw error
  }
})

// A room's messages as Server-Sent Events, for read-only watchers (/watch.html?room=lobby).
// Each event's id is the message's row id: a reconnecting EventSource sends the last one it
// got as Last-Event-ID, and gets exactly what it missed.
router.get('/rooms/:room/events', (request) => {
  const room = checkRoom(request.pathParams.room)
  if (room.error !== undefined) {
    request.respond(400, { 'Content-Type': 'text/plain; charset=utf-8' }, `${room.error}\n`)
    return
  }
  const stream = request.respondSSE()
  // Subscribe before reading the backlog, so nothing said in between is missed (a message
  // may then come twice, live and from the backlog: the page keeps one per id).
  stream.subscribe(watchTopic(room.value))
  const after = /^[0-9]+$/.test(stream.lastEventId ?? '') ? Number(stream.lastEventId) : undefined
  stream.send({ event: 'room', retry: 1000, data: room.value })
  for (const { id, ...message } of chat.backlog(room.value, after))
    stream.send({ event: 'message', id: String(id), data: JSON.stringify(message) })
})

// ---- shared files ----
// The page uploads a file with tus (resumable: a dropped connection or a reload resumes where
// the server's disk left off). The bytes go to disk on the IO thread as they arrive; this
// handler only checks who and where on creation, and posts the file to the room once it is
// complete.
const FILES = filesPath()
const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function uploads(request) {
  if (request.method === 'POST') {
    // Who shares what where: checked before the upload exists.
    const meta = parseUploadMetadata(request.headers.get('upload-metadata') ?? '') ?? {}
    const nick = checkNick(meta.nick)
    const room = checkRoom(meta.room)
    const refused = nick.error ?? room.error ?? (meta.filename ? undefined : 'name the file')
    if (refused !== undefined) {
      request.respond(400, { 'Content-Type': 'text/plain; charset=utf-8' }, `${refused}\n`)
      return
    }
  }
  const upload = request.tus()
  if (upload === null) return
  // Complete: keep it, and tell the room.
  fs.renameSync(upload.path, path.join(FILES, upload.id))
  const file = { id: upload.id, name: cleanFileName(upload.metadata.filename), size: upload.length }
  const room = checkRoom(upload.metadata.room).value
  const nick = checkNick(upload.metadata.nick).value
  const { id, message } = chat.say(room, nick, `shared ${file.name}`, file)
  toRoom(room, { type: 'message', ...message })
  publishEvent(watchTopic(room), {
    event: 'message',
    id: String(id),
    data: JSON.stringify(message),
  })
}
router.all('/uploads', uploads)
router.all('/uploads/**', uploads)

// A shared file, as a download (never rendered by the browser: it is somebody's upload).
// respondFile streams it from disk with Content-Length, and answers ranges (a browser resumes
// an interrupted download) and conditional requests.
router.get('/files/:id/:name', (request) => {
  const { id, name } = request.pathParams
  if (!FILE_ID.test(id)) {
    request.respond(404, { 'Content-Type': 'text/plain; charset=utf-8' }, 'no such file\n')
    return
  }
  return request.respondFile(path.join(FILES, id), {
    contentType: 'application/octet-stream',
    download: cleanFileName(name),
    headers: { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'private, max-age=3600' },
  })
})

function send(ws, message) {
  ws.send(JSON.stringify(message))
}

function toRoom(room, message) {
  publish(roomTopic(room), JSON.stringify(message))
}

function sendMembers(room) {
  toRoom(room, { type: 'members', room, nicks: chat.members(room) })
}

function join(ws, nick, room) {
  const before = chat.member(ws.id)
  if (before !== undefined && before.room !== room) leave(ws)
  chat.join(ws.id, nick, room)
  const entering = before === undefined || before.room !== room
  // Subscribe before reading the history, so nothing said in between is missed. Commands from
  // one thread reach the IO thread in order: the joiner sees the history, then the notice.
  if (entering) ws.subscribe(roomTopic(room))
  send(ws, { type: 'history', room, nick, messages: chat.history(room) })
  if (entering) toRoom(room, { type: 'notice', text: `${nick} joined #${room}` })
  else if (before.nick !== nick) {
    toRoom(room, { type: 'notice', text: `${before.nick} is now known as ${nick}` })
  }
  sendMembers(room)
}

function leave(ws) {
  const gone = chat.leave(ws.id)
  if (gone === undefined) return
  ws.unsubscribe(roomTopic(gone.room))
  toRoom(gone.room, { type: 'notice', text: `${gone.nick} left #${gone.room}` })
  sendMembers(gone.room)
}

function say(ws, text) {
  const me = chat.member(ws.id)
  if (me === undefined) {
    send(ws, { type: 'error', text: 'join a room first' })
    return
  }
  const { id, message } = chat.say(me.room, me.nick, text)
  toRoom(me.room, { type: 'message', ...message })
  publishEvent(watchTopic(me.room), {
    event: 'message',
    id: String(id),
    data: JSON.stringify(message),
  })
}

/**
 * Every WebSocket event, on a worker: events of one connection come in order, one at a time;
 * other connections are handled meanwhile on the other workers.
 */
export function websocketHandler(ws, event, message) {
  switch (event) {
    case 'open':
      break
    case 'message': {
      if (message.kind !== 'text') {
        if (message.kind === 'binary') send(ws, { type: 'error', text: 'send JSON text messages' })
        return
      }
      const parsed = parseClientMessage(message.data)
      if (parsed.error !== undefined) {
        send(ws, { type: 'error', text: parsed.error })
        return
      }
      try {
        if (parsed.type === 'join') join(ws, parsed.nick, parsed.room)
        else say(ws, parsed.text)
      } catch (error) {
        // A database failure (disk full, locked too long): tell the client, let the server log it.
        send(ws, { type: 'error', text: 'the server could not do that, try again' })
        throw error
      }
      break
    }
    case 'error':
      break
    case 'close':
      leave(ws)
      break
  }
}

export default router
