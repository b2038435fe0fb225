// The chat's handlers: the page, the WebSocket upgrade and every WebSocket event. This module
// is loaded by each worker thread; state lives in SQLite — or, with REDIS_URL, in Redis, shared
// by every instance — never in module variables.
import fs, { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Router, parseUploadMetadata, publish, publishEvent } from '@mummy/server'
import { chatQueries, filesPath, openDatabase } from './db.js'
import { redisChat } from './redis-store.js'
import {
  checkNick,
  checkRoom,
  cleanFileName,
  parseClientMessage,
  roomTopic,
  watchTopic,
} from './protocol.js'

// This worker's own connection to the shared store: the SQLite file, or Redis when the chat runs
// on several instances (server.js sets CHAT_INSTANCE then). The SQLite queries answer at once,
// Redis's asynchronously: the handlers await both.
const REDIS_URL = process.env.REDIS_URL || undefined
const INSTANCE = process.env.CHAT_INSTANCE
const chat = REDIS_URL === undefined ? chatQueries(openDatabase()) : redisChat(REDIS_URL, INSTANCE)
// Which instance answered, on every page and asset (to see the balancer at work).
const instanceHeader = REDIS_URL === undefined ? {} : { 'X-Chat-Instance': INSTANCE }

const assets = {
  '/': ['text/html; charset=utf-8', 'index.html'],
  '/client.js': ['text/javascript; charset=utf-8', 'client.js'],
  '/style.css': ['text/css; charset=utf-8', 'style.css'],
  '/watch.html': ['text/html; charset=utf-8', 'watch.html'],
  '/watch.js': ['text/javascript; charset=utf-8', 'watch.js'],
  '/ui.js': ['text/javascript; charset=utf-8', 'ui.js'],
}

// The assets are kept as strings: respond() moves a Buffer body that owns its memory to the IO
// thread (it is detached afterwards), so a Buffer read once could be sent only once.
const router = new Router()
for (const [route, [type, file]] of Object.entries(assets)) {
  const body = readFileSync(new URL(`./public/${file}`, import.meta.url), 'utf8')
  router.get(route, (request) =>
    request.respond(
      200,
      { 'Content-Type': type, 'Cache-Control': 'no-cache', ...instanceHeader },
      body,
    ),
  )
}
// The tus client the page uploads files with (its browser build, from node_modules).
const tusClient = readFileSync(
  createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js'),
  'utf8',
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
// Each event's id is the message's row id (with Redis: its stream entry id): a reconnecting
// EventSource sends the last one it got as Last-Event-ID, and gets exactly what it missed.
router.get('/rooms/:room/events', async (request) => {
  const room = checkRoom(request.pathParams.room)
  if (room.error !== undefined) {
    request.respond(400, { 'Content-Type': 'text/plain; charset=utf-8' }, `${room.error}\n`)
    return
  }
  const stream = request.respondSSE()
  // Subscribe before reading the backlog, so nothing said in between is missed (a message
  // may then come twice, live and from the backlog: the page keeps one per id). With Redis,
  // a stream resuming from a stream entry id is caught up by the server itself.
  stream.subscribe(watchTopic(room.value))
  stream.send({ event: 'room', retry: 1000, data: room.value })
  for (const { id, ...message } of await chat.backlog(room.value, stream.lastEventId))
    stream.send({ event: 'message', id: String(id), data: JSON.stringify(message) })
})

// ---- shared files ----
// The page uploads a file with tus (resumable: a dropped connection or a reload resumes where
// the server's disk left off). The bytes go to disk on the IO thread as they arrive; this
// handler only checks who and where on creation, and posts the file to the room once it is
// complete.
const FILES = filesPath()
const FILE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

async function uploads(request) {
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
  const { id, message } = await chat.say(room, nick, `shared ${file.name}`, file)
  post(room, id, message)
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

/**
 * A stored message to the room's watchers (`id`: its row id; none with Redis, where the
 * watch topic's history gives it one) and members. The watchers' event first: with Redis, it
 * is what stores the message, and one instance's publishes reach Redis in order, so whoever
 * sees the message live finds it in the history too.
 */
function post(room, id, message) {
  const data = JSON.stringify(message)
  publishEvent(
    watchTopic(room),
    id === undefined ? { event: 'message', data } : { event: 'message', id: String(id), data },
  )
  toRoom(room, { type: 'message', ...message })
}

async function sendMembers(room) {
  toRoom(room, { type: 'members', room, nicks: await chat.members(room) })
}

async function join(ws, nick, room) {
  const before = await chat.member(ws.id)
  if (before !== undefined && before.room !== room) await leave(ws)
  await chat.join(ws.id, nick, room)
  const entering = before === undefined || before.room !== room
  // Subscribe before reading the history, so nothing said in between is missed. Commands from
  // one thread reach the IO thread in order: the joiner sees the history, then the notice.
  if (entering) ws.subscribe(roomTopic(room))
  send(ws, { type: 'history', room, nick, messages: await chat.history(room) })
  if (entering) toRoom(room, { type: 'notice', text: `${nick} joined #${room}` })
  else if (before.nick !== nick) {
    toRoom(room, { type: 'notice', text: `${before.nick} is now known as ${nick}` })
  }
  await sendMembers(room)
}

async function leave(ws) {
  const gone = await chat.leave(ws.id)
  if (gone === undefined) return
  ws.unsubscribe(roomTopic(gone.room))
  toRoom(gone.room, { type: 'notice', text: `${gone.nick} left #${gone.room}` })
  await sendMembers(gone.room)
}

async function say(ws, text) {
  const me = await chat.member(ws.id)
  if (me === undefined) {
    send(ws, { type: 'error', text: 'join a room first' })
    return
  }
  const { id, message } = await chat.say(me.room, me.nick, text)
  post(me.room, id, message)
}

/**
 * Every WebSocket event, on a worker: events of one connection come in order, one at a time;
 * other connections are handled meanwhile on the other workers.
 */
export async function websocketHandler(ws, event, message) {
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
        if (parsed.type === 'join') await join(ws, parsed.nick, parsed.room)
        else await say(ws, parsed.text)
      } catch (error) {
        // A store failure (disk full, locked too long, Redis away): tell the client, let the
        // server log it.
        send(ws, { type: 'error', text: 'the server could not do that, try again' })
        throw error
      }
      break
    }
    case 'error':
      break
    case 'close':
      await leave(ws)
      break
  }
}

export default router
