// What the chat page and the watch page share: small DOM helpers and how a message looks.
/* global document */

export const $ = (id) => document.getElementById(id)

export function element(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

export function colour(nick) {
  let hash = 0
  for (const ch of nick) hash = (hash * 31 + ch.codePointAt(0)) | 0
  return `hsl(${Math.abs(hash) % 360} 55% 48%)`
}

export function clock(at) {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

export function setStatus(kind, text) {
  const status = $('status')
  status.className = `status ${kind}`
  status.textContent = text
}

/** `1234567` → `1.2 MB`. */
export function fileSize(bytes) {
  if (bytes < 1000) return `${bytes} B`
  const units = ['kB', 'MB', 'GB']
  let value = bytes / 1000
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

/** A message's list item: avatar, nick, time and text (and a shared file's download link). */
export function messageItem({ nick, text, at, file }) {
  const item = element('li', 'message')
  const avatar = element('span', 'avatar', nick.slice(0, 1).toUpperCase())
  avatar.style.background = colour(nick)
  const head = element('div', 'meta')
  head.append(element('strong', 'nick', nick), element('time', 'at', clock(at)))
  const body = element('div', 'body')
  body.append(head, element('p', 'text', text))
  if (file !== undefined) {
    const link = element('a', 'file', file.name)
    link.href = `/files/${file.id}/${encodeURIComponent(file.name)}`
    link.download = file.name
    const line = element('p', 'attachment')
    line.append(link, element('span', 'size', fileSize(file.size)))
    body.append(line)
  }
  item.append(avatar, body)
  return item
}
