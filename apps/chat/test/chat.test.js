// The chat demo end to end: the server as a real process, a real browser (Debian's chromium
// driven by playwright-core), and the protocol's edges through a plain WebSocket client.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import Database from 'better-sqlite3'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { freePort, openSocket, startProcess, until } from './helpers.js'

const SERVER = fileURLToPath(new URL('../server.js', import.meta.url))
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const dirs = []
const servers = []

function tempDatabase() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-chat-'))
  dirs.push(dir)
  return path.join(dir, 'chat.db')
}

async function startChat(db, port, transport = 'node') {
  const server = await startProcess(SERVER, {
    port,
    env: { CHAT_DB: db, WORKERS: '4', TRANSPORT: transport },
  })
  servers.push(server)
  return server
}

afterAll(async () => {
  for (const server of servers.splice(0)) await server.stop()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

// The browser test runs on both transports: node:net, and uWebSockets.js (`transport: 'uws'`).
describe.each(['node', 'uws'])('chat in a browser (%s transport)', (transport) => {
  let browser

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`)
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
  })

  async function openPage(base) {
    // One context each: two separate visitors (their own localStorage).
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } })
    const page = await context.newPage()
    const errors = []
    page.on('pageerror', (error) => errors.push(error.message))
    await page.goto(base)
    return { page, errors }
  }

  async function join(page, nick, room) {
    await page.fill('#nick', nick)
    await page.fill('#room', room)
    await page.click('#join-button')
    await page.locator('#room-title', { hasText: `#${room}` }).waitFor()
    await page.locator('#text:not([disabled])').waitFor()
  }

  it('two visitors talk in a room; after a restart the history is still there', async () => {
    const db = tempDatabase()
    const port = await freePort()
    let server = await startChat(db, port, transport)
    const base = `http://127.0.0.1:${port}/`

    const alice = await openPage(base)
    const bob = await openPage(base)
    await join(alice.page, 'alice', 'lobby')
    await join(bob.page, 'bob', 'lobby')
    await alice.page.locator('#messages .notice', { hasText: 'bob joined #lobby' }).waitFor()
    await alice.page.locator('#members li', { hasText: 'bob' }).waitFor()

    // Alice types and presses Enter; Bob sees it.
    await alice.page.fill('#text', 'Hello from alice!')
    await alice.page.press('#text', 'Enter')
    await bob.page.locator('#messages .message', { hasText: 'Hello from alice!' }).waitFor()
    expect(await bob.page.locator('#messages .message .nick').last().textContent()).toBe('alice')

    // Bob clicks Send; Alice sees it.
    await bob.page.fill('#text', 'hi alice, bob here')
    await bob.page.click('#send')
    await alice.page.locator('#messages .message', { hasText: 'bob here' }).waitFor()

    // Restart the server on the same port with the same database.
    await server.stop()
    await alice.page.locator('#status.offline').waitFor()
    server = await startChat(db, port, transport)

    // Alice's page reconnects and rejoins by itself; the room's history comes back.
    await alice.page.locator('#status.online').waitFor({ timeout: 15_000 })
    await alice.page.locator('#messages .divider').waitFor()
    await alice.page.locator('#messages .message', { hasText: 'bob here' }).waitFor()

    // Bob reloads the page and joins again: the history shows the earlier messages.
    await bob.page.reload()
    await join(bob.page, 'bob', 'lobby')
    const texts = await bob.page.locator('#messages .message .text').allTextContents()
    expect(texts).toEqual(['Hello from alice!', 'hi alice, bob here'])
    await bob.page.locator('#members li', { hasText: 'alice' }).waitFor()

    await bob.page.fill('#text', 'still here after the restart')
    await bob.page.press('#text', 'Enter')
    await alice.page.locator('#messages .message', { hasText: 'after the restart' }).waitFor()

    mkdirSync(OUTPUT, { recursive: true })
    const shot = path.join(OUTPUT, transport === 'node' ? 'chat.png' : `chat-${transport}.png`)
    rmSync(shot, { force: true })
    await alice.page.screenshot({ path: shot })
    const png = readFileSync(shot)
    expect(png.subarray(1, 4).toString()).toBe('PNG')
    expect(png.length).toBeGreaterThan(10_000)

    expect(alice.errors).toEqual([])
    expect(bob.errors).toEqual([])
  }, 90_000)
})

describe('chat protocol', () => {
  let db
  let url
  beforeAll(async () => {
    db = tempDatabase()
    const server = await startChat(db)
    url = `ws://127.0.0.1:${server.port}/ws`
  }, 30_000)

  const join = (ws, nick, room) => ws.send(JSON.stringify({ type: 'join', nick, room }))
  const say = (ws, text) => ws.send(JSON.stringify({ type: 'say', text }))
  const ofType = (messages, type) => messages.filter((m) => m.type === type)

  it('answers bad input with an error message and keeps the connection', async () => {
    const { ws, messages } = await openSocket(url, { json: true })
    const bad = [
      'not json',
      '[1,2]',
      'null',
      '{"type":"shout"}',
      '{"type":"say","text":"too early"}',
      '{"type":"join","nick":42,"room":"lobby"}',
      '{"type":"join","nick":"","room":"lobby"}',
      `{"type":"join","nick":"${'n'.repeat(25)}","room":"lobby"}`,
      '{"type":"join","nick":"<b>","room":"lobby"}',
      '{"type":"join","nick":"eve","room":"no spaces"}',
      `{"type":"join","nick":"eve","room":"${'r'.repeat(33)}"}`,
      `{"type":"say","text":"${'x'.repeat(5000)}"}`,
    ]
    for (const raw of bad) ws.send(raw)
    ws.send(Buffer.from('binary'))
    await until(() => messages.length >= bad.length + 1, 5000, 'errors')
    expect(messages.every((m) => m.type === 'error' && typeof m.text === 'string')).toBe(true)
    expect(messages.map((m) => m.text)).toContain('join a room first')

    // Still usable: a good join works, an empty or non-string text is refused.
    join(ws, 'eve', '#Garden')
    await until(() => ofType(messages, 'history').length === 1)
    expect(ofType(messages, 'history')[0]).toMatchObject({ room: 'garden', nick: 'eve' })
    say(ws, '   ')
    ws.send('{"type":"say","text":{"a":1}}')
    await until(() => messages.length >= bad.length + 6)
    expect(messages.slice(-2).map((m) => m.type)).toEqual(['error', 'error'])
    ws.close()
  })

  it('a message over 8 KiB is refused by the server with close code 1009', async () => {
    const { ws } = await openSocket(url, { json: true })
    const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)))
    say(ws, 'x'.repeat(9000))
    expect(await closed).toBe(1009)
  })

  it('join and leave notices, members, and state in SQLite keyed by ws.id (gone on close)', async () => {
    const a = await openSocket(url, { json: true })
    const b = await openSocket(url, { json: true })
    join(a.ws, 'ann', 'kitchen')
    await until(() => ofType(a.messages, 'history').length === 1)
    join(b.ws, 'ben', 'kitchen')
    await until(() => a.messages.some((m) => m.text === 'ben joined #kitchen'))
    await until(() => a.messages.some((m) => m.type === 'members' && m.nicks.length === 2))

    const store = new Database(db, { readonly: true })
    try {
      const rows = store.prepare("SELECT nick FROM members WHERE room = 'kitchen'").all()
      expect(rows.map((r) => r.nick).sort()).toEqual(['ann', 'ben'])

      say(b.ws, 'the kettle is on')
      await until(() => ofType(a.messages, 'message').length === 1)
      expect(ofType(a.messages, 'message')[0]).toMatchObject({
        nick: 'ben',
        text: 'the kettle is on',
      })
      expect(typeof ofType(a.messages, 'message')[0].at).toBe('number')

      b.ws.close()
      await until(() => a.messages.some((m) => m.text === 'ben left #kitchen'))
      await until(
        () =>
          store.prepare("SELECT count(*) AS n FROM members WHERE room = 'kitchen'").get().n === 1,
      )

      // Moving to another room leaves the first one.
      const c = await openSocket(url, { json: true })
      join(c.ws, 'cat', 'kitchen')
      await until(() => ofType(c.messages, 'history').length === 1)
      join(a.ws, 'ann', 'garden')
      await until(() => c.messages.some((m) => m.text === 'ann left #kitchen'))
      a.ws.close()
      c.ws.close()
      await until(() => store.prepare('SELECT count(*) AS n FROM members').get().n === 0)
    } finally {
      store.close()
    }
  })

  it('a joiner gets the last 50 messages, oldest first', async () => {
    const a = await openSocket(url, { json: true })
    join(a.ws, 'writer', 'archive')
    await until(() => ofType(a.messages, 'history').length === 1)
    for (let i = 0; i < 60; i++) say(a.ws, `line ${i}`)
    await until(() => ofType(a.messages, 'message').length === 60, 10_000)
    // One connection's events run in order: the live messages come in the order sent.
    expect(ofType(a.messages, 'message').map((m) => m.text)).toEqual(
      Array.from({ length: 60 }, (_, i) => `line ${i}`),
    )
    const b = await openSocket(url, { json: true })
    join(b.ws, 'reader', 'archive')
    await until(() => ofType(b.messages, 'history').length === 1)
    const history = ofType(b.messages, 'history')[0].messages
    expect(history.map((m) => m.text)).toEqual(
      Array.from({ length: 50 }, (_, i) => `line ${i + 10}`),
    )
    expect(history.every((m) => m.nick === 'writer')).toBe(true)
    a.ws.close()
    b.ws.close()
  })
})
