// The chat's store on several instances (REDIS_URL set): the same questions db.js answers from
// SQLite, answered from Redis, which every instance shares. Each worker has its own ioredis
// connection; the calls are async (the handlers await them).
//
// - Messages are not written here: app.js publishes each one with publishEvent() to the room's
//   watch topic, which keeps history (server.js gives the server a redisPubSub engine with
//   `history` on `watch:` topics). The engine appends it to the topic's Redis Stream,
//   `chat:history:watch:<room>`, whose entry id becomes the event's SSE id on every instance.
//   This module only reads that stream back: the last messages for a joiner, the backlog for a
//   watcher.
// - Who is connected: `ws.id` names a connection of one instance only, so a connection is
//   `<instance>/<ws.id>` (CHAT_INSTANCE, set by server.js). `chat:conns:<instance>` maps ws.id to
//   `{ nick, room }`; `chat:members:<room>` maps `<instance>/<ws.id>` to `{ nick, at }`.
import { compareStreamIds, decodeEnvelope, parseStreamId } from '@mummy/redis'
import { Redis } from 'ioredis'
import { HISTORY_LENGTH } from './db.js'

/** Prefix of the pub/sub engine's channels and streams, and of the keys below. */
export const REDIS_PREFIX = 'chat:'
/** Messages a room's stream keeps (about: Redis trims whole stream nodes). */
export const HISTORY_KEPT = 1000
/** The topics whose events are kept in a Redis Stream: the rooms' watch topics. */
export const keepsHistory = (topic) => topic.startsWith('watch:')

const historyKey = (room) => `${REDIS_PREFIX}history:watch:${room}`
const connsKey = (instance) => `${REDIS_PREFIX}conns:${instance}`
const membersKey = (room) => `${REDIS_PREFIX}members:${room}`

/** A connection to Redis that tells the log when it cannot reach it (once per 5 s at most). */
export function connect(url) {
  const redis = new Redis(url, { maxRetriesPerRequest: 2 })
  let warned = 0
  redis.on('error', (error) => {
    if (Date.now() - warned < 5000) return
    warned = Date.now()
    console.warn(`[chat] redis ${url}: ${error.message}`)
  })
  return redis
}

/** A stream entry (`[id, [field, value, …]]`, as buffers) as `{ id, ...message }`, or null. */
function entryMessage([id, fields]) {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i].toString() !== 'm') continue
    const envelope = decodeEnvelope(fields[i + 1])
    if (envelope?.message.kind !== 'event') return null
    try {
      return { id: id.toString(), ...JSON.parse(envelope.message.event.data) }
    } catch {
      return null
    }
  }
  return null
}

/**
 * The chat's store in Redis, for connections of `instance` (this instance's name, the same on
 * every thread of it, different on every instance).
 */
export function redisChat(url, instance) {
  const redis = connect(url)

  /** The last `count` messages of `room`, with their ids, oldest first. */
  async function recent(room, count) {
    const entries = await redis.xrevrangeBuffer(historyKey(room), '+', '-', 'COUNT', count)
    return entries
      .map(entryMessage)
      .filter((m) => m !== null)
      .reverse()
  }

  const chat = {
    /** The connection's nick and room, or undefined before it joins. */
    member: async (wsId) => {
      const json = await redis.hget(connsKey(instance), String(wsId))
      return json === null ? undefined : JSON.parse(json)
    },
    join: async (wsId, nick, room) => {
      await redis
        .multi()
        .hset(connsKey(instance), String(wsId), JSON.stringify({ nick, room }))
        .hset(membersKey(room), `${instance}/${wsId}`, JSON.stringify({ nick, at: Date.now() }))
        .exec()
    },
    /** Forgets the connection; returns what it was, or undefined. */
    leave: async (wsId) => {
      const gone = await chat.member(wsId)
      if (gone === undefined) return undefined
      await redis
        .multi()
        .hdel(connsKey(instance), String(wsId))
        .hdel(membersKey(gone.room), `${instance}/${wsId}`)
        .exec()
      return gone
    },
    /** Nicks in `room`, on every instance, in the order they joined. */
    members: async (room) => {
      const all = await redis.hgetall(membersKey(room))
      return Object.entries(all)
        .map(([who, json]) => ({ who, ...JSON.parse(json) }))
        .sort((a, b) => a.at - b.at || (a.who < b.who ? -1 : a.who > b.who ? 1 : 0))
        .map((member) => member.nick)
    },
    /**
     * A message as it is sent to the room (with a shared file's `{ id, name, size }`, if any).
     * It is stored by its publishEvent() to the watch topic: its id is the stream entry's,
     * given by the engine, so there is none yet.
     */
    say: async (room, nick, text, file) => {
      const at = Date.now()
      const message = file === undefined ? { nick, text, at } : { nick, text, at, file }
      return { id: undefined, message }
    },
    /** The room's last HISTORY_LENGTH messages, oldest first (for a joiner). */
    history: async (room) =>
      (await recent(room, HISTORY_LENGTH)).map(({ id: _id, ...message }) => message),
    /**
     * Messages with their ids for a watcher that connects with `lastEventId` (or none): none
     * when it resumes from an id the stream still holds — the server catches the stream up
     * from the engine's history itself, on any instance — else the last HISTORY_LENGTH.
     */
    backlog: async (room, lastEventId) => {
      const since = lastEventId === undefined ? null : parseStreamId(lastEventId)
      if (since !== null) {
        const [first] = await redis.xrange(historyKey(room), '-', '+', 'COUNT', 1)
        const oldest = first === undefined ? null : parseStreamId(first[0])
        if (oldest !== null && compareStreamIds(since, oldest) >= 0) return []
      }
      return recent(room, HISTORY_LENGTH)
    },
  }
  return chat
}

/**
 * Forgets the connections `instance` had in an earlier run (none survives a restart): called
 * by server.js before it listens.
 */
export async function forgetInstance(url, instance) {
  const redis = connect(url)
  try {
    const conns = await redis.hgetall(connsKey(instance))
    const forget = redis.multi().del(connsKey(instance))
    for (const [wsId, json] of Object.entries(conns))
      forget.hdel(membersKey(JSON.parse(json).room), `${instance}/${wsId}`)
    await forget.exec()
  } finally {
    redis.disconnect()
  }
}
