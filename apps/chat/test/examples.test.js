// The WebSocket examples (examples/*.js), run as real processes and asked with a real client.
import { afterAll, afterEach, describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openSocket, sleep, startProcess, until } from './helpers.js'

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url))
const running = []
const dirs = []

async function startExample(file, env = {}) {
  const server = await startProcess(path.join(EXAMPLES, file), { env })
  running.push(server)
  return server
}

afterEach(async () => {
  for (const server of running.splice(0)) await server.stop()
})
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const texts = (messages) => messages.filter((m) => typeof m === 'string')
const binaries = (messages) => messages.filter((m) => typeof m !== 'string')

describe('WebSocket examples', () => {
  it('basic_websockets.js (the seed WebSocket example): greeting, events logged by kind', async () => {
    const { port, output } = await startExample('basic_websockets.js')
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text()
    expect(page).toContain('new WebSocket(')
    const { ws, messages } = await openSocket(`ws://127.0.0.1:${port}/ws`)
    await until(() => messages.length === 1)
    expect(messages[0]).toBe('Hello world from WebSocket!')
    ws.send('hi there')
    ws.send(Buffer.from('bytes'))
    await until(() => output().includes('text: hi there') && output().includes('binary: bytes'))
    expect(output().match(/Serving on/g)).toHaveLength(1)
    ws.close()
  })

  it('chat.js: rooms are topics, who is who is in SQLite, join and leave notices', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-chat-example-'))
    dirs.push(dir)
    const { port } = await startExample('chat.js', { CHAT_DB: path.join(dir, 'chat.db') })
    const url = (query) => `ws://127.0.0.1:${port}/ws?${query}`

    const alice = await openSocket(url('room=lobby&nick=alice'))
    await until(() => alice.messages.includes('alice joined #lobby'))
    const bob = await openSocket(url('room=lobby&nick=bob'))
    const carol = await openSocket(url('room=garden&nick=carol'))
    await until(() => alice.messages.includes('bob joined #lobby'))
    await until(() => carol.messages.includes('carol joined #garden'))

    alice.ws.send('hello bob')
    await until(() => bob.messages.includes('alice: hello bob'))
    expect(alice.messages).toContain('alice: hello bob')
    bob.ws.close()
    await until(() => alice.messages.includes('bob left #lobby'))
    await sleep(100)
    expect(carol.messages).toEqual(['carol joined #garden'])

    await expect(openSocket(url('room=lobby&nick=no%20spaces'))).rejects.toThrow(/400/)
    alice.ws.close()
    carol.ws.close()
  })

  it('backpressure.js: a paced stream arrives whole; a flood is dropped past maxBackpressure', async () => {
    const { port, output } = await startExample('backpressure.js')
    const url = `ws://127.0.0.1:${port}/firehose`

    // A client that reads at once, and one that stops reading for a while.
    for (const pause of [0, 700]) {
      const { ws, messages } = await openSocket(url)
      if (pause > 0) ws.pause()
      ws.send('stream')
      await sleep(pause)
      ws.resume()
      // (Generous: 2,048 paced chunks take a few seconds alone, far longer beside other suites.)
      await until(() => texts(messages).length === 1, 60_000, 'the stream summary')
      const [, sent, buffered, dropped] = texts(messages)[0]
        .match(/^stream: (\d+) sent, (\d+) buffered, (\d+) dropped$/)
        .map(Number)
      // Unless send() ever said 'dropped' (a busy machine can make the answers lag the IO
      // thread, and the producer then stops), every chunk arrived.
      if (dropped === 0) {
        expect(sent + buffered).toBe(2048)
        expect(binaries(messages)).toHaveLength(2048)
      } else expect(binaries(messages).length).toBeLessThanOrEqual(sent + buffered + dropped)
      ws.close()
    }

    // A client that does not read while the server floods it: the excess is dropped and the
    // connection stays usable.
    const { ws, messages } = await openSocket(url)
    ws.pause()
    ws.send('flood')
    await until(() => /flood: \d+ sent/.test(output()), 10_000, 'the flood log line')
    ws.resume()
    // Read what got through, until nothing more comes; then the connection still works.
    let seen = -1
    await until(
      async () => {
        const now = messages.length
        if (now === seen) return true
        seen = now
        await sleep(300)
        return false
      },
      10_000,
      'the flood to drain',
    )
    ws.send('stream')
    await until(() => texts(messages).length === 1, 60_000, 'the stream after the flood')
    const flooded = binaries(messages).length - 2048
    expect(flooded).toBeGreaterThan(0)
    expect(flooded).toBeLessThan(1024)
    expect(output()).toMatch(/flood: \d+ sent, \d+ buffered, \d+ dropped/)
    ws.close()
  }, 180_000)

  it('backpressure.js with BACKPRESSURE=close: a flooded slow reader is closed with 1008', async () => {
    const { port } = await startExample('backpressure.js', { BACKPRESSURE: 'close' })
    const { ws } = await openSocket(`ws://127.0.0.1:${port}/firehose`)
    const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)))
    ws.pause()
    ws.send('flood')
    await sleep(300)
    ws.resume()
    expect(await closed).toBe(1008)
  })

  it('broadcast.js: a POST (in a worker) and a timer (on the IO thread) reach every subscriber', async () => {
    const { port } = await startExample('broadcast.js', { TICK_MS: '100' })
    const clients = await Promise.all([1, 2, 3].map(() => openSocket(`ws://127.0.0.1:${port}/ws`)))
    await until(() => clients.every((c) => c.messages.some((m) => m.startsWith('tick '))))
    const response = await fetch(`http://127.0.0.1:${port}/news`, {
      method: 'POST',
      body: 'hello everyone',
    })
    expect(response.status).toBe(202)
    await until(() => clients.every((c) => c.messages.includes('news: hello everyone')))
    const empty = await fetch(`http://127.0.0.1:${port}/news`, { method: 'POST', body: '' })
    expect(empty.status).toBe(400)
    for (const c of clients) c.ws.close()
  })
})
