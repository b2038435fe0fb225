// The chat demo end to end: the server as a real process, a real browser (Debian's chromium
// driven by playwright-core), and the protocol's edges through a plain WebSocket client.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import Database from 'better-sqlite3'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  freePort,
  joinRoom,
  launchBrowser,
  openEvents,
  openPage as openPageIn,
  openSocket,
  startProcess,
  until,
} from './helpers.js'

const SERVER = fileURLToPath(new URL('../server.js', import.meta.url))
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url))

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
    env: { CHAT_DB: db, WORKERS: '4', TRANSPORT: transport, LOG_LEVEL: 'debug' },
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
    browser = await launchBrowser()
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
  })

  const openPage = (base) => openPageIn(browser, base)

  it('two visitors talk in a room; after a restart the history is still there', async () => {
    const db = tempDatabase()
    const port = await freePort()
    let server = await startChat(db, port, transport)
    const base = `http://127.0.0.1:${port}/`

    const alice = await openPage(base)
    const bob = await openPage(base)
    await joinRoom(alice.page, 'alice', 'lobby')
    await joinRoom(bob.page, 'bob', 'lobby')
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
    await joinRoom(bob.page, 'bob', 'lobby')
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

  it('a visitor shares a file from the page (a tus upload in 8 MiB chunks); the room gets a download link to the same bytes', async () => {
    const db = tempDatabase()
    const port = await freePort()
    const server = await startChat(db, port, transport)
    const base = `http://127.0.0.1:${port}/`
    const alice = await openPage(base)
    const bob = await openPage(base)
    await joinRoom(alice.page, 'alice', 'files')
    await joinRoom(bob.page, 'bob', 'files')
    const bytes = randomBytes(20 * 1024 * 1024 + 321)
    await alice.page.setInputFiles('#file', {
      name: 'report ü #1.bin',
      mimeType: 'application/octet-stream',
      buffer: bytes,
    })
    const link = bob.page.locator('#messages .message .file', { hasText: 'report ü #1.bin' })
    await link.waitFor({ timeout: 30_000 })
    expect(await bob.page.locator('#messages .message .size').last().textContent()).toBe('21 MB')
    await alice.page.locator('#messages .message .file', { hasText: 'report ü' }).waitFor()
    // The progress bar went away when the upload was done.
    await alice.page.locator('#upload').waitFor({ state: 'hidden' })
    const href = await link.getAttribute('href')
    const download = await fetch(new URL(href, base))
    expect(download.status).toBe(200)
    expect(download.headers.get('content-disposition')).toBe(
      `attachment; filename="report _ #1.bin"; filename*=UTF-8''${encodeURIComponent('report ü #1.bin')}`,
    )
    expect(download.headers.get('content-length')).toBe(String(bytes.length))
    // An interrupted download resumes: the rest of the file, from where it stopped.
    const rest = await fetch(new URL(href, base), { headers: { Range: 'bytes=1000000-' } })
    expect(rest.status).toBe(206)
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(1000000))).toBe(true)
    const got = Buffer.from(
      await download.arrayBuffer().catch((error) => {
        // (What the server said about it, if anything.)
        throw new Error(`download failed: ${error}\nserver:\n${server.output().slice(-3000)}`)
      }),
    )
    expect(got.length).toBe(bytes.length)
    expect(createHash('sha256').update(got).digest('hex')).toBe(
      createHash('sha256').update(bytes).digest('hex'),
    )
    // It is in the room's history for whoever comes later.
    const carol = await openPage(base)
    await joinRoom(carol.page, 'carol', 'files')
    await carol.page.locator('#messages .message .file', { hasText: 'report ü #1.bin' }).waitFor()

    mkdirSync(OUTPUT, { recursive: true })
    const shot = path.join(OUTPUT, transport === 'node' ? 'files.png' : `files-${transport}.png`)
    rmSync(shot, { force: true })
    await bob.page.screenshot({ path: shot })
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG')
    expect(alice.errors).toEqual([])
    expect(bob.errors).toEqual([])
    expect(carol.errors).toEqual([])
  }, 90_000)

  it('a watcher follows a room over SSE and, after a restart, gets only what it missed (Last-Event-ID)', async () => {
    const db = tempDatabase()
    const port = await freePort()
    let server = await startChat(db, port, transport)
    const base = `http://127.0.0.1:${port}/`
    const alice = await openPage(base)
    await joinRoom(alice.page, 'alice', 'lobby')
    await alice.page.fill('#text', 'said before anyone watched')
    await alice.page.press('#text', 'Enter')
    await alice.page.locator('#messages .message', { hasText: 'before anyone' }).waitFor()

    const watcher = await openPage(`${base}watch.html?room=lobby`)
    const stats = () => watcher.page.evaluate(() => ({ ...globalThis.__watch }))
    await watcher.page.locator('#status.online').waitFor()
    // The backlog on connect, then live messages.
    await watcher.page.locator('#messages .message', { hasText: 'before anyone' }).waitFor()
    await alice.page.fill('#text', 'said while watched')
    await alice.page.press('#text', 'Enter')
    await watcher.page.locator('#messages .message', { hasText: 'while watched' }).waitFor()
    expect(await stats()).toEqual({ received: 2, shown: 2 })

    // The server goes away; the EventSource reconnects by itself (retry: 1000 ms) and sends the
    // id of the last message it got, so the server sends nothing it already has.
    await server.stop()
    await watcher.page.locator('#status.offline').waitFor()
    server = await startChat(db, port, transport)
    await watcher.page.locator('#status.online').waitFor({ timeout: 15_000 })
    const { ws, messages } = await openSocket(`ws://127.0.0.1:${port}/ws`, { json: true })
    ws.send(JSON.stringify({ type: 'join', nick: 'carol', room: 'lobby' }))
    await until(() => messages.some((m) => m.type === 'history'))
    ws.send(JSON.stringify({ type: 'say', text: 'said after the restart' }))
    await watcher.page.locator('#messages .message', { hasText: 'after the restart' }).waitFor()
    // Without Last-Event-ID the reconnect would have replayed the backlog (2 more events).
    expect(await stats()).toEqual({ received: 3, shown: 3 })
    expect(await watcher.page.locator('#messages .message .text').allTextContents()).toEqual([
      'said before anyone watched',
      'said while watched',
      'said after the restart',
    ])
    ws.close()

    mkdirSync(OUTPUT, { recursive: true })
    const shot = path.join(OUTPUT, transport === 'node' ? 'watch.png' : `watch-${transport}.png`)
    rmSync(shot, { force: true })
    await watcher.page.screenshot({ path: shot })
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG')
    expect(alice.errors).toEqual([])
    expect(watcher.errors).toEqual([])
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

  it('shared files: uploads need a valid nick, room and name; a name loses any folder part; unknown files are 404', async () => {
    const http = url.replace('ws://', 'http://').replace(/\/ws$/, '')
    const b64 = (text) => Buffer.from(text).toString('base64')
    const create = (metadata) =>
      fetch(`${http}/uploads`, {
        method: 'POST',
        headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '3', 'Upload-Metadata': metadata },
      })
    for (const metadata of [
      `room ${b64('lobby')},filename ${b64('a.txt')}`,
      `nick ${b64('<b>')},room ${b64('lobby')},filename ${b64('a.txt')}`,
      `nick ${b64('eve')},room ${b64('no spaces')},filename ${b64('a.txt')}`,
      `nick ${b64('eve')},room ${b64('lobby')}`,
      'not metadata at all',
    ]) {
      const refused = await create(metadata)
      expect(refused.status).toBe(400)
    }
    const { ws, messages } = await openSocket(url, { json: true })
    join(ws, 'eve', 'lobby')
    await until(() => ofType(messages, 'history').length === 1)
    const created = await create(
      `nick ${b64('eve')},room ${b64('lobby')},filename ${b64('../../etc/passwd')}`,
    )
    expect(created.status).toBe(201)
    const patched = await fetch(`${http}${created.headers.get('location')}`, {
      method: 'PATCH',
      headers: {
        'Tus-Resumable': '1.0.0',
        'Upload-Offset': '0',
        'Content-Type': 'application/offset+octet-stream',
      },
      body: 'abc',
    })
    expect(patched.status).toBe(204)
    await until(() => ofType(messages, 'message').length === 1)
    const { file, nick, text } = ofType(messages, 'message')[0]
    expect({ nick, text, name: file.name, size: file.size }).toEqual({
      nick: 'eve',
      text: 'shared passwd',
      name: 'passwd',
      size: 3,
    })
    expect(await (await fetch(`${http}/files/${file.id}/passwd`)).text()).toBe('abc')
    expect((await fetch(`${http}/files/not-an-id/x`)).status).toBe(404)
    expect((await fetch(`${http}/files/00000000-0000-4000-8000-000000000000/x`)).status).toBe(404)
    ws.close()
  })

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

  it("a room's event stream: the backlog with ids, only what is newer after Last-Event-ID, live messages, 400 for a bad room", async () => {
    const writer = await openSocket(url, { json: true })
    join(writer.ws, 'scribe', 'journal')
    await until(() => ofType(writer.messages, 'history').length === 1)
    for (let i = 0; i < 3; i++) say(writer.ws, `entry ${i}`)
    await until(() => ofType(writer.messages, 'message').length === 3)

    const first = await openEvents(url, '/rooms/journal/events')
    await until(() => first.events.filter((e) => e.type === 'message').length === 3)
    expect(first.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(first.events[0]).toMatchObject({ type: 'room', data: 'journal' })
    expect(first.parser.retry).toBe(1000)
    const backlog = first.events.filter((e) => e.type === 'message')
    expect(backlog.map((e) => JSON.parse(e.data).text)).toEqual(['entry 0', 'entry 1', 'entry 2'])
    const ids = backlog.map((e) => Number(e.lastEventId))
    expect(ids[0] < ids[1] && ids[1] < ids[2]).toBe(true)

    // A reconnect that got up to entry 0 gets entries 1 and 2, then live ones.
    const again = await openEvents(url, '/rooms/journal/events', {
      'Last-Event-ID': String(ids[0]),
    })
    await until(() => again.events.filter((e) => e.type === 'message').length === 2)
    say(writer.ws, 'entry 3')
    for (const client of [first, again]) {
      await until(() => client.events.some((e) => e.data.includes('entry 3')))
      expect(Number(client.events.at(-1).lastEventId)).toBeGreaterThan(ids[2])
    }
    expect(
      again.events.filter((e) => e.type === 'message').map((e) => JSON.parse(e.data).text),
    ).toEqual(['entry 1', 'entry 2', 'entry 3'])
    first.close()
    again.close()
    writer.ws.close()

    const bad = await fetch(
      `${url.replace('ws:', 'http:').replace('/ws', '')}/rooms/No%20Spaces/events`,
    )
    expect(bad.status).toBe(400)
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
