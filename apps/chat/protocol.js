// The chat protocol: JSON text messages, checked here before anything touches the database.
// Pure functions (no IO), so bad input becomes an error message and never an exception.

export const MAX_NICK = 24
export const MAX_ROOM = 32
export const MAX_TEXT = 1000
/** Largest client message, in characters: anything longer is refused before parsing. */
export const MAX_FRAME = 4096

const NICK = /^[\p{L}\p{N}_.-]+$/u
const ROOM = /^[a-z0-9][a-z0-9_-]*$/
// C0/C1 controls except tab and newline; they would only garble other people's screens.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/**
 * Parses one client message. Returns `{ type: 'join', room, nick }` or `{ type: 'say', text }`
 * with the values normalised, or `{ error }` saying what is wrong.
 */
export function parseClientMessage(raw) {
  if (typeof raw !== 'string') return { error: 'send JSON text messages' }
  if (raw.length > MAX_FRAME) return { error: `message too long (at most ${MAX_FRAME} characters)` }
  let value
  try {
    value = JSON.parse(raw)
  } catch {
    return { error: 'not JSON' }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: 'expected a JSON object' }
  }
  switch (value.type) {
    case 'join': {
      const nick = checkNick(value.nick)
      if (nick.error) return nick
      const room = checkRoom(value.room)
      if (room.error) return room
      return { type: 'join', nick: nick.value, room: room.value }
    }
    case 'say': {
      if (typeof value.text !== 'string') return { error: 'text must be a string' }
      const text = value.text.replace(CONTROLS, '').trim()
      if (text === '') return { error: 'say something' }
      if (text.length > MAX_TEXT) return { error: `text too long (at most ${MAX_TEXT} characters)` }
      return { type: 'say', text }
    }
    default:
      return { error: 'unknown message type (expected join or say)' }
  }
}

export function checkNick(value) {
  if (typeof value !== 'string') return { error: 'nick must be a string' }
  const nick = value.normalize('NFC').trim()
  if (nick === '') return { error: 'choose a nickname' }
  if (nick.length > MAX_NICK) return { error: `nickname too long (at most ${MAX_NICK})` }
  if (!NICK.test(nick)) return { error: 'nickname: letters, digits, _ . - only' }
  return { value: nick }
}

export function checkRoom(value) {
  if (typeof value !== 'string') return { error: 'room must be a string' }
  const room = value.trim().replace(/^#/, '').toLowerCase()
  if (room === '') return { error: 'choose a room' }
  if (room.length > MAX_ROOM) return { error: `room name too long (at most ${MAX_ROOM})` }
  if (!ROOM.test(room)) return { error: 'room: a-z, 0-9, _ and - only' }
  return { value: room }
}

/** The pub/sub topic of a room. */
export function roomTopic(room) {
  return `room:${room}`
}

/** The topic of a room's event stream (watchers: messages only, with their ids). */
export function watchTopic(room) {
  return `watch:${room}`
}

/** Largest shared file, bytes. */
export const MAX_FILE = 1024 * 1024 * 1024
const MAX_FILE_NAME = 120

/**
 * A shared file's name as shown and offered for download: the client's name without any
 * folder part or control characters, at most MAX_FILE_NAME characters; `file` when nothing is
 * left.
 */
export function cleanFileName(value) {
  if (typeof value !== 'string') return 'file'
  const base = value.replace(CONTROLS, '').split(/[\\/]/).pop().trim()
  const name = base === '.' || base === '..' ? '' : base.slice(0, MAX_FILE_NAME)
  return name === '' ? 'file' : name
}
