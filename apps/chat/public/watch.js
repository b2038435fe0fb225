// The read-only room page: one EventSource on /rooms/<room>/events. The browser reconnects by
// itself and sends the id of the last message it got (Last-Event-ID), so the server sends
// exactly what was missed. Messages are kept in id order, one per id. An id is a row id (`42`,
// SQLite) or a Redis Stream entry id (`1733390000000-0`, the chat on several instances).
/* global CSS, document, location, EventSource */

import { $, messageItem, setStatus } from './ui.js'

const messages = $('messages')
const room = (new URLSearchParams(location.search).get('room') ?? 'lobby').toLowerCase()
/** Counters the page's tests read: message events received, and how many were new. */
const stats = { received: 0, shown: 0 }
globalThis.__watch = stats

$('room-title').textContent = `#${room}`
document.title = `watching #${room} · mummy chat`

const source = new EventSource(`/rooms/${encodeURIComponent(room)}/events`)
source.onopen = () => setStatus('online', 'watching')
source.onerror = () => setStatus('offline', 'reconnecting…')
source.addEventListener('message', (event) => {
  stats.received++
  show(event.lastEventId, JSON.parse(event.data))
})

/** Whether id `a` comes before id `b`: `<n>` or `<ms>-<seq>`, compared number by number. */
function before(a, b) {
  const [am, as = 0] = a.split('-').map(Number)
  const [bm, bs = 0] = b.split('-').map(Number)
  return am !== bm ? am < bm : as < bs
}

function show(id, message) {
  if (messages.querySelector(`[data-id="${CSS.escape(id)}"]`) !== null) return
  stats.shown++
  const item = messageItem(message)
  item.dataset.id = id
  // In id order: a live message can overtake the backlog sent on (re)connect.
  let next = null
  for (const other of messages.children)
    if (before(id, other.dataset.id)) {
      next = other
      break
    }
  messages.insertBefore(item, next)
  if (next === null) messages.scrollTop = messages.scrollHeight
}
