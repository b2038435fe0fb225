// The chat page's script: one WebSocket to /ws speaking the JSON protocol, reconnecting (and
// rejoining) when the connection drops. No framework, no build step.
/* global document, location */

import { $, colour, element, messageItem, setStatus } from './ui.js'

const messages = $('messages')
const joined = { nick: localStorage.getItem('nick') ?? '', room: localStorage.getItem('room') }
let socket = null
let inRoom = false
let retries = 0

$('nick').value = joined.nick
if (joined.room) $('room').value = joined.room

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`)
  socket = ws
  ws.onopen = () => {
    retries = 0
    setStatus('online', 'online')
    // After a reconnect (a server restart), go back where we were.
    if (inRoom) send({ type: 'join', nick: joined.nick, room: joined.room })
  }
  ws.onmessage = (event) => receive(JSON.parse(event.data))
  ws.onclose = () => {
    if (socket !== ws) return
    setStatus('offline', 'reconnecting…')
    setComposer(false)
    setTimeout(connect, Math.min(5000, 250 * 2 ** retries++))
  }
}

function send(message) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message))
}

function receive(message) {
  switch (message.type) {
    case 'history':
      inRoom = true
      joined.room = message.room
      joined.nick = message.nick
      localStorage.setItem('nick', message.nick)
      localStorage.setItem('room', message.room)
      $('room-title').textContent = `#${message.room}`
      $('watch-link').href = `/watch.html?room=${encodeURIComponent(message.room)}`
      document.title = `#${message.room} · mummy chat`
      messages.replaceChildren()
      if (message.messages.length > 0) {
        const count = message.messages.length
        showNotice(`${count === 1 ? 'the last message' : `the last ${count} messages`}`, 'divider')
        for (const m of message.messages) showMessage(m)
      }
      messages.scrollTop = messages.scrollHeight
      setComposer(true)
      break
    case 'message':
      showMessage(message)
      break
    case 'notice':
      showNotice(message.text, 'notice')
      break
    case 'error':
      showNotice(message.text, 'error')
      break
    case 'members':
      showMembers(message.nicks)
      break
  }
}

function showMessage(message) {
  const item = messageItem(message)
  if (message.nick === joined.nick) item.classList.add('mine')
  append(item)
}

function showNotice(text, kind) {
  append(element('li', kind, text))
}

function showMembers(nicks) {
  const list = $('members')
  list.replaceChildren(
    ...nicks.map((nick) => {
      const item = element('li', '', nick)
      const dot = element('span', 'dot')
      dot.style.background = colour(nick)
      item.prepend(dot)
      return item
    }),
  )
}

function append(item) {
  const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40
  messages.append(item)
  if (atBottom) messages.scrollTop = messages.scrollHeight
}

function setComposer(enabled) {
  $('text').disabled = !enabled
  $('send').disabled = !enabled
  $('file').disabled = !enabled
  $('text').placeholder = enabled ? `Message #${joined.room}` : 'Join a room to talk'
  if (enabled) $('text').focus()
}

$('join').addEventListener('submit', (event) => {
  event.preventDefault()
  send({ type: 'join', nick: $('nick').value, room: $('room').value })
})

$('say').addEventListener('submit', (event) => {
  event.preventDefault()
  const text = $('text').value
  if (text.trim() === '') return
  send({ type: 'say', text })
  $('text').value = ''
})

// Sharing a file: a tus upload (resumable: after a dropped connection it goes on where the
// server's disk left off, and a page reload finds the unfinished upload again). When it is
// complete, the server posts it to the room: it arrives as a message like any other.
$('file').addEventListener('change', () => {
  const file = $('file').files[0]
  $('file').value = ''
  if (file !== undefined) share(file)
})

function share(file) {
  const upload = new globalThis.tus.Upload(file, {
    endpoint: '/uploads',
    chunkSize: 8 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    removeFingerprintOnSuccess: true,
    metadata: { filename: file.name, filetype: file.type, room: joined.room, nick: joined.nick },
    onProgress: (sent, total) => showUpload(file.name, total === 0 ? 1 : sent / total),
    onSuccess: () => {
      $('upload').hidden = true
    },
    onError: (error) => {
      $('upload').hidden = true
      showNotice(`could not share ${file.name}: ${error.message}`, 'error')
    },
  })
  showUpload(file.name, 0)
  upload.findPreviousUploads().then((previous) => {
    if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0])
    upload.start()
  })
}

function showUpload(name, fraction) {
  $('upload').hidden = false
  $('upload-name').textContent = name
  $('upload-progress').value = fraction
  $('upload-percent').textContent = `${Math.floor(fraction * 100)}%`
}

connect()
