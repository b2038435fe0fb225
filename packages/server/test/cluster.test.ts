// Two instances (two processes) of one app, with topics on a real redis-server: what is
// published on one reaches subscribers on the other, once; an event stream resumes on the
// other instance with Last-Event-ID; Redis killed and restarted mid-test costs nothing but the
// messages published while it was away.
import { spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { RedisServer } from '@mummy/test-kit'
import WebSocketClient from 'ws'
import { TRANSPORTS } from './fixtures/transports.js'

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/cluster-server.js')

interface Instance {
  port: number
  child: ChildProcess
  /** Lines the instance printed after its port. */
  lines: string[]
  send(line: string): void
}

async function startInstance(redis: RedisServer, transport: string): Promise<Instance> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, REDIS_URL: redis.url, TRANSPORT: transport },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines: string[] = []
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('instance did not start')), 20_000)
    child.once('exit', (code) => reject(new Error(`instance exited with ${code}`)))
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as { port?: number }
      if (parsed.port !== undefined) {
        clearTimeout(timer)
        resolve(parsed.port)
      } else lines.push(line)
    })
  })
  return { port, child, lines, send: (line) => child.stdin!.write(`${line}\n`) }
}

async function until(predicate: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

interface Client {
  ws: WebSocketClient
  /** Text as is, binary as `bin:<length>:<sum of bytes>`. */
  messages: string[]
  /** Binary messages as received. */
  binary: Buffer[]
  /** Sends a command and waits for its `ok`. */
  ask(command: string): Promise<void>
}

function client(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${port}/ws`)
    const messages: string[] = []
    const binary: Buffer[] = []
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) binary.push(data)
      messages.push(
        isBinary ? `bin:${data.length}:${data.reduce((a, b) => a + b, 0)}` : data.toString(),
      )
    })
    ws.once('error', reject)
    ws.once('open', () =>
      resolve({
        ws,
        messages,
        binary,
        ask: async (command) => {
          ws.send(command)
          await until(() => messages.includes(`ok ${command}`))
        },
      }),
    )
  })
}

/** An event stream: the raw text received so far. */
function eventStream(
  port: number,
  topic: string,
  lastEventId?: string,
): { text: () => string; close: () => void } {
  let text = ''
  const req = http.get({
    port,
    host: '127.0.0.1',
    path: `/sse/${topic}`,
    headers: lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId },
  })
  req.on('response', (res) => res.on('data', (chunk: Buffer) => (text += chunk.toString())))
  req.on('error', () => {})
  return { text: () => text, close: () => req.destroy() }
}

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    http
      .get({ port, host: '127.0.0.1', path }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      .on('error', reject),
  )
}

/** Redis has `n` subscriptions (across instances) to `topic`. */
async function subscribers(redis: RedisServer, topic: string): Promise<number> {
  const out = await redis.command('PUBSUB', 'NUMSUB', `mummy:${topic}`)
  return Number(out.split('\n')[1] ?? 0)
}

/** The `id:` and `data:` lines of the events in `text`. */
function events(text: string): Array<[string | undefined, string]> {
  const out: Array<[string | undefined, string]> = []
  for (const block of text.split('\n\n')) {
    const data = /^data: (.*)$/m.exec(block)?.[1]
    if (data !== undefined) out.push([/^id: (.*)$/m.exec(block)?.[1], data])
  }
  return out
}

describe.each(TRANSPORTS)('two instances on Redis (%s transport)', (transport) => {
  let redis: RedisServer
  let a: Instance
  let b: Instance
  beforeAll(async () => {
    redis = await RedisServer.start()
    ;[a, b] = await Promise.all([startInstance(redis, transport), startInstance(redis, transport)])
  }, 60_000)
  afterAll(async () => {
    for (const instance of [a, b]) instance?.child.kill('SIGKILL')
    await redis?.dispose()
  })

  it('a WebSocket on A gets what B publishes from a worker, the IO thread and HTTP — once, in order, binary byte for byte', async () => {
    const onA = await client(a.port)
    const onB = await client(b.port)
    await onA.ask('sub:room')
    await onB.ask('sub:room')
    await until(async () => (await subscribers(redis, 'room')) === 2)
    await onB.ask('pub:room:one')
    b.send('publish room two')
    expect(await get(b.port, '/publish/room/three')).toBe(200)
    await onB.ask('bin:room:300')
    const expected = ['one', 'two', 'three', `bin:300:${(255 * 256) / 2 + (43 * 44) / 2}`]
    for (const c of [onA, onB]) {
      await until(() => c.messages.filter((m) => !m.startsWith('ok ')).length >= 4)
    }
    // A got each once, from Redis; B got each once, locally.
    expect(onA.messages.filter((m) => !m.startsWith('ok '))).toEqual(expected)
    expect(onB.messages.filter((m) => !m.startsWith('ok '))).toEqual(expected)
    // The last local subscriber gone, the instance lets go of the topic.
    onA.ws.close()
    await until(async () => (await subscribers(redis, 'room')) === 1)
    await onB.ask('unsub:room')
    await until(async () => (await subscribers(redis, 'room')) === 0)
    onB.ws.close()
  })

  it('an event stream that comes back on the other instance with Last-Event-ID gets exactly what it missed', async () => {
    const first = eventStream(a.port, 'h:feed')
    await until(() => first.text().includes('subscribed'))
    await until(async () => (await subscribers(redis, 'h:feed')) >= 1)
    for (const n of [1, 2, 3]) expect(await get(b.port, `/event/h:feed/e${n}`)).toBe(200)
    await until(() => events(first.text()).length === 3)
    const seen = events(first.text())
    expect(seen.map(([, data]) => data)).toEqual(['e1', 'e2', 'e3'])
    // Ids are the history's (Redis Stream ids), the same on every instance.
    for (const [id] of seen) expect(id).toMatch(/^\d+-\d+$/)
    first.close()
    // Missed while away: e4, e5 (published on A this time).
    for (const n of [4, 5]) expect(await get(a.port, `/event/h:feed/e${n}`)).toBe(200)
    const resumed = eventStream(b.port, 'h:feed', seen[2]![0])
    await until(() => events(resumed.text()).length >= 2)
    expect(await get(a.port, '/event/h:feed/e6')).toBe(200)
    await until(() => events(resumed.text()).length >= 3)
    await new Promise((r) => setTimeout(r, 200))
    expect(events(resumed.text()).map(([, data]) => data)).toEqual(['e4', 'e5', 'e6'])
    resumed.close()
  })

  it('a WebSocket resumes on the other instance after the last id it got: what it missed, then live, none twice', async () => {
    const first = await client(a.port)
    await first.ask('ids h:room')
    await until(async () => (await subscribers(redis, 'h:room')) >= 1)
    expect(await get(b.port, '/publish/h:room/m1')).toBe(200)
    await until(() => first.messages.length === 2)
    const m1 = JSON.parse(first.messages[1]!) as { topic: string; id: string; data: string }
    expect(m1).toEqual({ topic: 'h:room', id: expect.stringMatching(/^\d+-\d+$/), data: 'm1' })
    first.ws.close()
    // Missed: text from A, binary from B; an event (for event streams only) in between.
    expect(await get(a.port, '/publish/h:room/m2')).toBe(200)
    expect(await get(a.port, '/event/h:room/not-for-websockets')).toBe(200)
    expect(await get(b.port, '/bin/h:room/300')).toBe(200)
    const resumed = await client(b.port)
    await resumed.ask(`since h:room ${m1.id}`)
    await until(() => resumed.messages.length >= 3)
    expect(await get(a.port, '/publish/h:room/m3')).toBe(200)
    await until(() => resumed.messages.length >= 4)
    await new Promise((r) => setTimeout(r, 200))
    const got = resumed.messages.slice(1)
    expect(got.length).toBe(3)
    const m2 = JSON.parse(got[0]!) as { id: string; data: string }
    expect(m2.data).toBe('m2')
    const bin = resumed.binary[0]!
    const nl = bin.indexOf(10)
    const head = JSON.parse(bin.subarray(0, nl).toString()) as { topic: string; id: string }
    expect(head.topic).toBe('h:room')
    expect([...bin.subarray(nl + 1)]).toEqual(Array.from({ length: 300 }, (_, i) => i & 255))
    const m3 = JSON.parse(got[2]!) as { id: string; data: string }
    expect(m3.data).toBe('m3')
    // Ids only grow (Redis Stream order is delivery order).
    const ids = [m1.id, m2.id, head.id, m3.id].map((id) => id.split('-').map(BigInt))
    for (let i = 1; i < ids.length; i++)
      expect(
        ids[i]![0]! > ids[i - 1]![0]! ||
          (ids[i]![0] === ids[i - 1]![0] && ids[i]![1]! > ids[i - 1]![1]!),
      ).toBe(true)
    resumed.ws.close()
  })

  it('a WebSocket resuming after an id history no longer holds is told of the gap; topics without history carry no id', async () => {
    const c = await client(a.port)
    await c.ask('since h:room 1-0')
    await until(() => c.messages.length >= 2)
    expect(c.messages[1]).toBe('{"topic":"h:room","gap":true}')
    await c.ask('ids plain')
    await until(async () => (await subscribers(redis, 'plain')) >= 1)
    expect(await get(b.port, '/publish/plain/x')).toBe(200)
    await until(() => c.messages.includes('{"topic":"plain","id":null,"data":"x"}'))
    c.ws.close()
  })

  it('Redis killed and restarted: local delivery goes on, losses are counted, subscriptions come back', async () => {
    const onA = await client(a.port)
    const onB = await client(b.port)
    await onA.ask('sub:ops')
    await onB.ask('sub:ops')
    await until(async () => (await subscribers(redis, 'ops')) === 2)
    await redis.kill()
    // While Redis is away, B's own subscriber is still served; A's is not (lost, counted).
    await onB.ask('pub:ops:while-away')
    await until(() => onB.messages.includes('while-away'))
    b.send('stats')
    await until(() => b.lines.some((l) => (JSON.parse(l) as { lost: number }).lost >= 1))
    await redis.start()
    await until(async () => (await subscribers(redis, 'ops')) === 2, 20_000)
    await onB.ask('pub:ops:back')
    await until(() => onA.messages.includes('back'))
    expect(onA.messages).not.toContain('while-away')
    onA.ws.close()
    onB.ws.close()
  }, 40_000)

  it('1,000 WebSockets across the two instances each get a message once', async () => {
    const clients = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => client(i % 2 === 0 ? a.port : b.port)),
    )
    await Promise.all(clients.map((c) => c.ask('sub:many')))
    await until(async () => (await subscribers(redis, 'many')) === 2)
    a.send('publish many hello')
    await until(() => clients.every((c) => c.messages.includes('hello')), 20_000)
    await new Promise((r) => setTimeout(r, 200))
    expect(clients.filter((c) => c.messages.filter((m) => m === 'hello').length !== 1)).toEqual([])
    for (const c of clients) c.ws.close()
  }, 60_000)
})
