// The read-only room page: one EventSource on /rooms/<room>/events. The browser reconnects by
// itself and sends the id of the last message it got (Last-Event-ID), so the server sends
// exactly what was missed. Messages are kept in id order, one per id.
/* global document, location, EventSource */

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
  show(Number(event.lastEventId), JSON.parse(event.data))
})

function show(id, message) {
  if (messages.querySelector(`[data-id="${id}"]`) !== null) return
  stats.shown++
  const item = messageItem(message)
  item.dataset.id = String(id)
  // In id order: a live message can overtake the backlog sent on (re)connect.
  let next = null
  for (const other of messages.children)
    if (Number(other.dataset.id) > id) {
      next = other
      break
    }
  messages.insertBefore(item, next)
  if (next === null) messages.scrollTop = messages.scrollHeight
}
