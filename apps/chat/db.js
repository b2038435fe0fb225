// The chat's store: one SQLite file shared by the IO thread and every worker, each with its own
// connection (a thread has its own heap). Queries are synchronous (better-sqlite3) and run on
// the workers, where blocking is fine.
import Database from 'better-sqlite3'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

/** Messages sent to a member when they join a room. */
export const HISTORY_LENGTH = 50

/**
 * Where shared files are kept: `CHAT_FILES`, or `files/` beside the database. Uploads in
 * progress live in its `.incoming` folder.
 */
export function filesPath() {
  return process.env.CHAT_FILES !== undefined && process.env.CHAT_FILES !== ''
    ? path.resolve(process.env.CHAT_FILES)
    : path.join(path.dirname(databasePath()), 'files')
}

/** `CHAT_DB` (relative to the working directory), or `chat.db` beside this file. */
export function databasePath() {
  return process.env.CHAT_DB !== undefined && process.env.CHAT_DB !== ''
    ? path.resolve(process.env.CHAT_DB)
    : fileURLToPath(new URL('./chat.db', import.meta.url))
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    nick TEXT NOT NULL,
    text TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);
  -- Who is connected: one row per WebSocket, keyed by its id (ws.id), deleted when it closes.
  CREATE TABLE IF NOT EXISTS members (
    ws_id INTEGER PRIMARY KEY,
    nick TEXT NOT NULL,
    room TEXT NOT NULL,
    joined_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS members_by_room ON members (room);
`

/**
 * Opens the database (WAL, so the workers read while one writes) and creates the tables.
 * Called once on the IO thread at start-up and once in every worker.
 */
export function openDatabase(file = databasePath()) {
  const db = new Database(file)
  db.pragma('busy_timeout = 5000')
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = NORMAL')
  db.exec(SCHEMA)
  // A message may carry a shared file ({ id, name, size } as JSON); databases from before
  // file sharing get the column.
  const columns = db.prepare('PRAGMA table_info(messages)').all()
  if (!columns.some((column) => column.name === 'file'))
    db.exec('ALTER TABLE messages ADD COLUMN file TEXT')
  return db
}

/** A row as it is sent: the file column parsed, left out when there is none. */
function withFile(row) {
  const { file, ...rest } = row
  return file === null || file === undefined ? rest : { ...rest, file: JSON.parse(file) }
}

/** The prepared statements the handlers use, on one connection. */
export function chatQueries(db) {
  const member = db.prepare('SELECT nick, room FROM members WHERE ws_id = ?')
  const upsertMember = db.prepare(
    `INSERT INTO members (ws_id, nick, room, joined_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (ws_id) DO UPDATE SET nick = excluded.nick, room = excluded.room,
       joined_at = excluded.joined_at`,
  )
  const deleteMember = db.prepare('DELETE FROM members WHERE ws_id = ? RETURNING nick, room')
  const members = db.prepare('SELECT nick FROM members WHERE room = ? ORDER BY joined_at, ws_id')
  const insertMessage = db.prepare(
    'INSERT INTO messages (room, nick, text, at, file) VALUES (?, ?, ?, ?, ?)',
  )
  const since = db.prepare(
    `SELECT id, nick, text, at, file FROM messages WHERE room = ? AND id > ? ORDER BY id LIMIT ?`,
  )
  const recent = db.prepare(
    `SELECT id, nick, text, at, file FROM
       (SELECT id, nick, text, at, file FROM messages WHERE room = ? ORDER BY id DESC LIMIT ?)
     ORDER BY id`,
  )
  const history = db.prepare(
    `SELECT nick, text, at, file FROM
       (SELECT id, nick, text, at, file FROM messages WHERE room = ? ORDER BY id DESC LIMIT ?)
     ORDER BY id`,
  )
  return {
    /** The connection's nick and room, or undefined before it joins. */
    member: (wsId) => member.get(wsId),
    join: (wsId, nick, room) => upsertMember.run(wsId, nick, room, Date.now()),
    /** Forgets the connection; returns what it was, or undefined. */
    leave: (wsId) => deleteMember.get(wsId),
    members: (room) => members.all(room).map((row) => row.nick),
    /**
     * Stores a message (with a shared file's `{ id, name, size }`, if any); returns it as it is
     * sent to the room, and its row id.
     */
    say: (room, nick, text, file) => {
      const at = Date.now()
      const stored = file === undefined ? null : JSON.stringify(file)
      const { lastInsertRowid } = insertMessage.run(room, nick, text, at, stored)
      const message = file === undefined ? { nick, text, at } : { nick, text, at, file }
      return { id: Number(lastInsertRowid), message }
    },
    history: (room) => history.all(room, HISTORY_LENGTH).map(withFile),
    /**
     * Messages with their ids, for a watcher: those after the row id `lastEventId` (a
     * reconnect's Last-Event-ID; at most HISTORY_LENGTH × 10), or the last HISTORY_LENGTH.
     */
    backlog: (room, lastEventId) =>
      (/^[0-9]+$/.test(lastEventId ?? '')
        ? since.all(room, Number(lastEventId), HISTORY_LENGTH * 10)
        : recent.all(room, HISTORY_LENGTH)
      ).map(withFile),
  }
}
