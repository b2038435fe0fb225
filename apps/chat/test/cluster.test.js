// The chat on two instances sharing a real redis-server (REDIS_URL): what one instance's
// visitors say, share and see reaches the other's — over WebSockets, in a browser, and through
// the `pnpm start:cluster` script with haproxy in front.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { RedisServer } from '@mummy/test-kit'
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
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
  sleep,
  startProcess,
  until,
} from './helpers.js'

const SERVER = fileURLToPath(new URL('../server.js', import.meta.url))
const SCRIPT = fileURLToPath(new URL('../../../scripts/start-cluster.sh', import.meta.url))
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url))

const join = (ws, nick, room) => ws.send(JSON.stringify({ type: 'join', nick, room }))
const say = (ws, text) => ws.send(JSON.stringify({ type: 'say', text }))
const ofType = (messages, type) => messages.filter((m) => m.type === type)
const b64 = (text) => Buffer.from(text).toString('base64')

/** A redis-server and two chat instances on it, sharing one folder of files. */
async function startCluster() {
  const redis = await RedisServer.start()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-chat-cluster-'))
  const instances = []
  try {
    for (const name of ['a', 'b']) {
      instances.push(
        await startProcess(SERVER, {
          env: {
            REDIS_URL: redis.url,
            CHAT_INSTANCE: name,
            CHAT_FILES: path.join(dir, 'files'),
            CHAT_DB: path.join(dir, `unused-${name}.db`),
            WORKERS: '2',
            LOG_LEVEL: 'warn',
          },
        }),
      )
    }
  } catch (error) {
    for (const instance of instances) await instance.stop()
    await redis.dispose()
    throw error
  }
  const [a, b] = instances
  return {
    redis,
    a,
    b,
    ws: (instance) => `ws://127.0.0.1:${instance.port}/ws`,
    http: (instance) => `http://127.0.0.1:${instance.port}`,
    async stop() {
      for (const instance of instances) await instance.stop()
      await redis.dispose()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Creates a tus upload of `bytes` on `base` for `nick` in `room`; returns its URL. */
async function createUpload(base, nick, room, name, length) {
  const created = await fetch(`${base}/uploads`, {
    method: 'POST',
    headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Length': String(length),
      'Upload-Metadata': `nick ${b64(nick)},room ${b64(room)},filename ${b64(name)}`,
    },
  })
  expect(created.status).toBe(201)
  return created.headers.get('location')
}

/** Sends `bytes` at `offset` of the upload `location` to the instance at `base`. */
async function patchUpload(base, location, offset, bytes) {
  const patched = await fetch(`${base}${location}`, {
    method: 'PATCH',
    headers: {
      'Tus-Resumable': '1.0.0',
      'Upload-Offset': String(offset),
      'Content-Type': 'application/offset+octet-stream',
    },
    body: bytes,
  })
  expect(patched.status).toBe(204)
  expect(patched.headers.get('upload-offset')).toBe(String(offset + bytes.length))
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex')

describe('chat on two instances (WebSocket clients)', () => {
  let cluster

  beforeAll(async () => {
    cluster = await startCluster()
  }, 60_000)

  afterAll(async () => {
    await cluster?.stop()
  })

  it('a message said on instance A reaches a member on B, and B serves it in the history; notices and members span both', async () => {
    const alice = await openSocket(cluster.ws(cluster.a), { json: true })
    const bob = await openSocket(cluster.ws(cluster.b), { json: true })
    join(alice.ws, 'alice', 'lobby')
    await until(() => ofType(alice.messages, 'history').length === 1, 10_000, 'history')
    join(bob.ws, 'bob', 'lobby')
    await until(() => ofType(bob.messages, 'history').length === 1, 10_000, 'history')
    // Bob's join, on B, is announced to Alice, on A; both are members, whichever instance.
    await until(
      () => alice.messages.some((m) => m.text === 'bob joined #lobby'),
      10_000,
      'the join notice on A',
    )
    await until(
      () => alice.messages.some((m) => m.type === 'members' && m.nicks.length === 2),
      10_000,
      'members on A',
    )
    expect(ofType(alice.messages, 'members').at(-1).nicks).toEqual(['alice', 'bob'])

    say(alice.ws, 'hello from A')
    await until(() => ofType(bob.messages, 'message').length === 1, 10_000, 'the message on B')
    expect(ofType(bob.messages, 'message')[0]).toMatchObject({
      nick: 'alice',
      text: 'hello from A',
    })
    say(bob.ws, 'hello from B')
    await until(() => ofType(alice.messages, 'message').length === 2, 10_000, 'the answer on A')
    expect(ofType(alice.messages, 'message').map((m) => m.text)).toEqual([
      'hello from A',
      'hello from B',
    ])

    // A newcomer on B gets both in the history (read from the Redis Stream), oldest first.
    const carol = await openSocket(cluster.ws(cluster.b), { json: true })
    join(carol.ws, 'carol', 'lobby')
    await until(() => ofType(carol.messages, 'history').length === 1, 10_000, 'history on B')
    expect(
      ofType(carol.messages, 'history')[0].messages.map(({ nick, text }) => [nick, text]),
    ).toEqual([
      ['alice', 'hello from A'],
      ['bob', 'hello from B'],
    ])
    await until(
      () =>
        carol.messages.some(
          (m) => m.type === 'members' && m.nicks.join() === ['alice', 'bob', 'carol'].join(),
        ),
      10_000,
      'three members',
    )

    // Alice leaves (A): Bob and Carol (B) hear of it, and she is no longer a member.
    alice.ws.close()
    await until(
      () => bob.messages.some((m) => m.text === 'alice left #lobby'),
      10_000,
      'the leave notice on B',
    )
    await until(
      () => carol.messages.some((m) => m.type === 'members' && m.nicks.join() === 'bob,carol'),
      10_000,
      'members after the leave',
    )
    bob.ws.close()
    carol.ws.close()
  }, 60_000)

  it('a watcher resumes on the other instance with Last-Event-ID (stream entry ids)', async () => {
    const scribe = await openSocket(cluster.ws(cluster.a), { json: true })
    join(scribe.ws, 'scribe', 'journal')
    await until(() => ofType(scribe.messages, 'history').length === 1, 10_000, 'history')
    for (let i = 0; i < 3; i++) say(scribe.ws, `entry ${i}`)
    await until(() => ofType(scribe.messages, 'message').length === 3, 10_000, 'messages')

    const messagesOf = (client) => client.events.filter((e) => e.type === 'message')
    const first = await openEvents(cluster.ws(cluster.a), '/rooms/journal/events')
    await until(() => messagesOf(first).length === 3, 10_000, 'the backlog on A')
    const ids = messagesOf(first).map((e) => e.lastEventId)
    for (const id of ids) expect(id).toMatch(/^[0-9]+-[0-9]+$/)
    expect(messagesOf(first).map((e) => JSON.parse(e.data).text)).toEqual([
      'entry 0',
      'entry 1',
      'entry 2',
    ])
    first.close()

    // Back on B, having got entry 0: entries 1 and 2, then live ones, with the same ids.
    const again = await openEvents(cluster.ws(cluster.b), '/rooms/journal/events', {
      'Last-Event-ID': ids[0],
    })
    await until(() => messagesOf(again).length === 2, 10_000, 'the catch-up on B')
    say(scribe.ws, 'entry 3')
    await until(() => messagesOf(again).length === 3, 10_000, 'a live event on B')
    expect(messagesOf(again).map((e) => JSON.parse(e.data).text)).toEqual([
      'entry 1',
      'entry 2',
      'entry 3',
    ])
    expect(
      messagesOf(again)
        .map((e) => e.lastEventId)
        .slice(0, 2),
    ).toEqual(ids.slice(1))
    again.close()
    scribe.ws.close()
  }, 60_000)

  it('a file uploaded in chunks to both instances is announced on both and served by both', async () => {
    const ann = await openSocket(cluster.ws(cluster.a), { json: true })
    const ben = await openSocket(cluster.ws(cluster.b), { json: true })
    join(ann.ws, 'ann', 'files')
    join(ben.ws, 'ben', 'files')
    await until(() => ofType(ann.messages, 'history').length === 1, 10_000, 'history')
    await until(() => ofType(ben.messages, 'history').length === 1, 10_000, 'history')

    // Created on A, first half to B, the rest to A: the instances share the upload folder.
    const bytes = randomBytes(300_000)
    const a = cluster.http(cluster.a)
    const b = cluster.http(cluster.b)
    const location = await createUpload(a, 'ann', 'files', 'notes.bin', bytes.length)
    await patchUpload(b, location, 0, bytes.subarray(0, 100_000))
    const head = await fetch(`${a}${location}`, {
      method: 'HEAD',
      headers: { 'Tus-Resumable': '1.0.0' },
    })
    expect(head.headers.get('upload-offset')).toBe('100000')
    await patchUpload(a, location, 100_000, bytes.subarray(100_000))

    for (const client of [ann, ben])
      await until(() => ofType(client.messages, 'message').length === 1, 10_000, 'the notice')
    const { nick, text, file } = ofType(ben.messages, 'message')[0]
    expect({ nick, text, name: file.name, size: file.size }).toEqual({
      nick: 'ann',
      text: 'shared notes.bin',
      name: 'notes.bin',
      size: bytes.length,
    })
    for (const base of [a, b]) {
      const download = await fetch(`${base}/files/${file.id}/notes.bin`)
      expect(download.status).toBe(200)
      expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(bytes))
    }
    ann.ws.close()
    ben.ws.close()
  }, 60_000)
})

describe('chat on two instances in a browser', () => {
  let cluster
  let browser

  beforeAll(async () => {
    browser = await launchBrowser()
    cluster = await startCluster()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await cluster?.stop()
  })

  const openPage = (base) => openPageIn(browser, base)

  it("two pages on two instances see each other's messages and shared files", async () => {
    const baseA = `${cluster.http(cluster.a)}/`
    const baseB = `${cluster.http(cluster.b)}/`
    const alice = await openPage(baseA)
    const bob = await openPage(baseB)
    await joinRoom(alice.page, 'alice', 'lobby')
    await joinRoom(bob.page, 'bob', 'lobby')
    await alice.page.locator('#messages .notice', { hasText: 'bob joined #lobby' }).waitFor()
    await alice.page.locator('#members li', { hasText: 'bob' }).waitFor()
    await bob.page.locator('#members li', { hasText: 'alice' }).waitFor()

    await alice.page.fill('#text', 'Hello from instance A!')
    await alice.page.press('#text', 'Enter')
    await bob.page.locator('#messages .message', { hasText: 'Hello from instance A!' }).waitFor()
    expect(await bob.page.locator('#messages .message .nick').last().textContent()).toBe('alice')

    await bob.page.fill('#text', 'and hello from B')
    await bob.page.click('#send')
    await alice.page.locator('#messages .message', { hasText: 'hello from B' }).waitFor()

    // Alice shares a file on A (tus, in 8 MiB chunks); Bob, on B, gets the notice, and its link
    // downloads the same bytes from B.
    const bytes = randomBytes(9 * 1024 * 1024 + 123)
    // (Handing 9 MiB to the browser takes a while on a loaded machine.)
    await alice.page.setInputFiles(
      '#file',
      { name: 'slides.pdf', mimeType: 'application/pdf', buffer: bytes },
      { timeout: 60_000 },
    )
    const link = bob.page.locator('#messages .message .file', { hasText: 'slides.pdf' })
    await link.waitFor({ timeout: 30_000 })
    await alice.page.locator('#messages .message .file', { hasText: 'slides.pdf' }).waitFor()
    const download = await fetch(new URL(await link.getAttribute('href'), baseB))
    expect(download.status).toBe(200)
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(bytes))

    // A page opened later on B shows it all in the history.
    const carol = await openPage(baseB)
    await joinRoom(carol.page, 'carol', 'lobby')
    await carol.page.locator('#messages .message .file', { hasText: 'slides.pdf' }).waitFor()
    expect(await carol.page.locator('#messages .message .text').allTextContents()).toEqual([
      'Hello from instance A!',
      'and hello from B',
      'shared slides.pdf',
    ])

    mkdirSync(OUTPUT, { recursive: true })
    const shot = path.join(OUTPUT, 'cluster.png')
    rmSync(shot, { force: true })
    await bob.page.screenshot({ path: shot })
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG')
    expect(alice.errors).toEqual([])
    expect(bob.errors).toEqual([])
    expect(carol.errors).toEqual([])
  }, 120_000)
})

/** The processes whose parent is `pid`, and theirs (from /proc). */
function descendants(pid) {
  const children = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // pid (comm) state ppid …: comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (!children.has(ppid)) children.set(ppid, [])
      children.get(ppid).push(Number(name))
    } catch {
      // Gone meanwhile.
    }
  }
  const out = []
  const walk = (parent) => {
    for (const child of children.get(parent) ?? []) {
      out.push(child)
      walk(child)
    }
  }
  walk(pid)
  return out
}

function alive(pid) {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie is gone for good, just not reaped yet.
  try {
    return !/^[0-9]+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('pnpm start:cluster (scripts/start-cluster.sh)', () => {
  it('starts Redis, two instances and haproxy, prints the URL; the chat works through it; Ctrl-C stops every process it started', async () => {
    const haproxy = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].some((file) => existsSync(file))
    if (!haproxy)
      throw new Error('haproxy not found: run scripts/setup.sh (apt-get install haproxy)')
    const port = await freePort()
    const child = spawn('bash', [SCRIPT], {
      env: { ...process.env, PORT: String(port), SKIP_BUILD: '1', WORKERS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const exited = new Promise((resolve) => child.once('exit', resolve))
    let started = []
    try {
      await until(
        () => {
          if (child.exitCode !== null) throw new Error(`the script exited:\n${output}`)
          return /Chat cluster ready: \S+/.test(output)
        },
        60_000,
        'the URL',
      )
      const url = /Chat cluster ready: (\S+)/.exec(output)[1]
      expect(url).toBe(`http://localhost:${port}/`)
      started = descendants(child.pid)
      // Redis, two instances, haproxy (each one process).
      expect(started.length).toBeGreaterThanOrEqual(4)

      // Through the balancer: the page, from both instances in turn.
      const base = `http://127.0.0.1:${port}`
      const seen = new Set()
      await until(
        async () => {
          const page = await fetch(`${base}/`)
          expect(page.status).toBe(200)
          expect(await page.text()).toContain('mummy chat')
          seen.add(page.headers.get('x-chat-instance'))
          return seen.size === 2
        },
        10_000,
        'both instances behind the balancer',
      )
      expect([...seen].sort()).toEqual(['a', 'b'])

      // Two WebSockets through it (round-robin: most likely one on each instance) talk.
      const one = await openSocket(`ws://127.0.0.1:${port}/ws`, { json: true })
      const two = await openSocket(`ws://127.0.0.1:${port}/ws`, { json: true })
      join(one.ws, 'one', 'lobby')
      join(two.ws, 'two', 'lobby')
      await until(() => ofType(one.messages, 'history').length === 1, 10_000, 'history')
      await until(() => ofType(two.messages, 'history').length === 1, 10_000, 'history')
      say(one.ws, 'through haproxy')
      await until(
        () => two.messages.some((m) => m.text === 'through haproxy'),
        10_000,
        'the message through haproxy',
      )
      one.ws.close()
      two.ws.close()
    } finally {
      // Ctrl-C (SIGINT to the script): everything it started stops, and it exits 0.
      child.kill('SIGINT')
      const deadline = Date.now() + 30_000
      while (child.exitCode === null && child.signalCode === null && Date.now() < deadline)
        await sleep(50)
      if (child.exitCode === null && child.signalCode === null) {
        for (const pid of descendants(child.pid)) process.kill(pid, 'SIGKILL')
        child.kill('SIGKILL')
      }
      await exited
    }
    expect(child.exitCode).toBe(0) // the intended end: everything stopped
    expect(output).toContain('== stopping')
    await until(() => started.every((pid) => !alive(pid)), 10_000, 'every child gone')
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()
  }, 120_000)
})
