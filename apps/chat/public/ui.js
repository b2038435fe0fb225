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

/** A message's list item: avatar, nick, time and text. */
export function messageItem({ nick, text, at }) {
  const item = element('li', 'message')
  const avatar = element('span', 'avatar', nick.slice(0, 1).toUpperCase())
  avatar.style.background = colour(nick)
  const head = element('div', 'meta')
  head.append(element('strong', 'nick', nick), element('time', 'at', clock(at)))
  const body = element('div', 'body')
  body.append(head, element('p', 'text', text))
  item.append(avatar, body)
  return item
}
