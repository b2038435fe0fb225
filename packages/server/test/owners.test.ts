// The IO-thread owners that Server composes, each tested alone, without sockets: the job
// table, the WebSocket hub, the stream and event-stream hubs, the command dispatcher and the
// inline executor. Transport objects are small recording stand-ins for what a transport gives.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from '@jest/globals'
import type {
  ResponseWriter,
  SendStatus,
  StreamEvents,
  Transport,
  TransportStream,
  TransportWebSocket,
  WebSocketEvents,
  WebSocketSettings,
} from '@mummy/io-loop'
import type { JobFailureReason, SerializedError } from '@mummy/workers'
import { dispatchCommand, executorEvents, type CommandTargets } from '../dist/commands.js'
import { InlineExecutor, type Executor, type ExecutorEvents } from '../dist/executor.js'
import type { JobFunction } from '../dist/job.js'
import { JobTable } from '../dist/jobs.js'
import type { LogLevel } from '../dist/log.js'
import {
  JOB_SSE,
  JOB_WS,
  StatusTable,
  type JobPayload,
  type WorkerMessage,
} from '../dist/protocol.js'
import { Topics, type EngineMessage, type PubSubEngine } from '../dist/pubsub.js'
import { SseHub } from '../dist/sse-hub.js'
import { StreamHub } from '../dist/streams.js'
import { addWebSocketChannel, removeWebSocketChannel, type Channel } from '../dist/websocket.js'
import { WebSocketHub } from '../dist/ws-hub.js'
import { IdSubscriptions, envelope } from '../dist/ws-ids.js'

type Call = [string, ...unknown[]]

class FakeStream implements TransportStream {
  readonly calls: Call[] = []
  bufferedAmount = 0
  closed = false
  constructor(readonly events: StreamEvents) {}
  write(chunk: Uint8Array | string): SendStatus {
    this.calls.push(['write', Buffer.from(chunk).toString()])
    return 'sent'
  }
  end(): void {
    this.calls.push(['end'])
  }
  abort(): void {
    this.calls.push(['abort'])
    this.closed = true
  }
  hold(): void {}
}

class FakeWs implements TransportWebSocket {
  readonly calls: Call[] = []
  closed = false
  bufferedAmount = 0
  constructor(readonly id: number) {}
  send(kind: 'text' | 'binary', data: Uint8Array): SendStatus {
    this.calls.push(['send', kind, Buffer.from(data).toString()])
    return 'sent'
  }
  close(code?: number, reason?: string): void {
    this.calls.push(['close', code, reason])
  }
  terminate(): void {}
  pause(): void {
    this.calls.push(['pause'])
  }
  resume(): void {
    this.calls.push(['resume'])
  }
}

class FakeWriter implements ResponseWriter {
  readonly calls: Call[] = []
  closed = false
  ended = false
  stream_: FakeStream | null = null
  ws: FakeWs | null = null
  wsEvents: WebSocketEvents | null = null
  end(status: number, headers: readonly string[], body?: Uint8Array | string, close?: boolean) {
    this.ended = true
    this.calls.push(['end', status, [...headers], Buffer.from(body ?? '').toString(), close])
  }
  upgrade(head: string, id: number, _settings: WebSocketSettings, events: WebSocketEvents) {
    this.ended = true
    this.calls.push(['upgrade', head, id])
    this.wsEvents = events
    return (this.ws = new FakeWs(id))
  }
  stream(status: number, headers: readonly string[], events: StreamEvents) {
    this.ended = true
    this.calls.push(['stream', status, [...headers]])
    return (this.stream_ = new FakeStream(events))
  }
}

/** Records submitted jobs; ids count from 1. */
class FakeExecutor implements Executor {
  readonly size = 1
  readonly jobs: [number, JobPayload, number | undefined][] = []
  async start(): Promise<void> {}
  submit(payload: JobPayload, key?: number): number {
    this.jobs.push([this.jobs.length + 1, payload, key])
    return this.jobs.length
  }
  withdrawUnstarted(): number {
    return 0
  }
  async close(): Promise<void> {}
}

const SETTINGS: WebSocketSettings = {
  maxMessageLen: 1024,
  idleTimeout: 0,
  maxBackpressure: 100,
  backpressurePolicy: 'close',
  deflate: null,
}

function logger(): { lines: [LogLevel, string][]; log: (l: LogLevel, m: string) => void } {
  const lines: [LogLevel, string][] = []
  return { lines, log: (l, m) => void lines.push([l, m]) }
}

describe('JobTable', () => {
  it('answers a job once: its response, or a plain-text failure that may close', () => {
    const { lines, log } = logger()
    const jobs = new JobTable(log, 1234)
    const a = new FakeWriter()
    const b = new FakeWriter()
    jobs.add(1, a, 0, null)
    jobs.add(2, b, 7, null)
    expect(jobs.size).toBe(2)
    expect(jobs.takeResponse(1)).toBe(a)
    expect(jobs.takeResponse(1)).toBeUndefined()
    jobs.failed(2, 'timeout', undefined)
    jobs.fail(2, 500, 'twice')
    expect(b.calls).toEqual([
      ['end', 504, ['Content-Type', 'text/plain; charset=utf-8'], 'Gateway Timeout\n', false],
    ])
    expect(lines).toEqual([['error', 'handler timed out after 1234 ms']])
    expect(jobs.takeUpgrade(2)).toBe(7)
    expect(jobs.takeUpgrade(2)).toBeUndefined()
    const c = new FakeWriter()
    jobs.add(3, c, 0, null)
    const closed: SerializedError = {
      name: 'MummyError',
      message: 'x',
      code: 'ERR_MUMMY_POOL_CLOSED',
    }
    jobs.failed(3, 'worker-died' satisfies JobFailureReason, closed)
    expect(c.calls[0]?.slice(0, 2)).toEqual(['end', 503])
    expect(c.calls[0]?.[4]).toBe(true)
  })

  it("deletes a job's uploaded files when it ends, not before", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-jobs-'))
    const file = path.join(dir, 'upload')
    writeFileSync(file, 'x')
    const jobs = new JobTable(logger().log, 0)
    jobs.add(1, new FakeWriter(), 0, [file])
    jobs.takeResponse(1)
    expect(existsSync(file)).toBe(true)
    jobs.ended(1)
    // removeFiles unlinks asynchronously
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        expect(existsSync(file)).toBe(false)
        resolve()
      }, 50),
    )
  })
})

describe('WebSocketHub', () => {
  function hub() {
    const table = new StatusTable()
    const executor = new FakeExecutor()
    return { table, executor, ws: new WebSocketHub(table, SETTINGS, () => executor) }
  }

  it('keeps commands that overtake the upgrade, in order, and runs them once it is accepted', () => {
    const { ws, table } = hub()
    const res = new FakeWriter()
    const id = ws.reserve(res)
    expect(table.isOpen(id)).toBe(true)
    ws.command(['s', id, 'text', Buffer.from('one')])
    ws.command(['s', id, 'text', Buffer.from('two')])
    ws.command(['c', id, 1000, 'bye'])
    expect(res.calls).toEqual([])
    ws.accept(id, 'HTTP/1.1 101 Switching Protocols\r\n\r\n', null, null)
    expect(res.calls[0]?.[0]).toBe('upgrade')
    expect(res.ws?.calls).toEqual([
      ['send', 'text', 'one'],
      ['send', 'text', 'two'],
      ['close', 1000, 'bye'],
    ])
    expect(ws.connection(id)).toBe(res.ws)
  })

  it('frees the id of a request answered without an upgrade', () => {
    const { ws, table } = hub()
    const id = ws.reserve(new FakeWriter())
    ws.refuse(id)
    expect(table.isOpen(id)).toBe(false)
    expect(ws.size).toBe(0)
  })

  it("batches a connection's events: one job at a time, the rest in the next, in order", () => {
    const { ws, executor } = hub()
    const res = new FakeWriter()
    const id = ws.reserve(res)
    ws.accept(id, 'h', null, null)
    const conn = res.ws!
    ws.events.onOpen(conn)
    ws.events.onMessage(conn, 'text', Buffer.from('a'))
    ws.events.onMessage(conn, 'text', Buffer.from('b'))
    expect(executor.jobs).toEqual([[1, [JOB_WS, id, [['open']]], id]])
    expect(ws.jobEnded(1)).toBe(true)
    expect(executor.jobs[1]?.[1]).toEqual([
      JOB_WS,
      id,
      [
        ['message', 'text', new Uint8Array(Buffer.from('a'))],
        ['message', 'text', new Uint8Array(Buffer.from('b'))],
      ],
    ])
    expect(ws.jobEnded(99)).toBe(false)
  })

  it('holds the events until the job that upgraded ends, so its sends go first', () => {
    const { ws, executor } = hub()
    const res = new FakeWriter()
    const id = ws.reserve(res)
    ws.accept(id, 'h', null, 77)
    const conn = res.ws!
    ws.events.onOpen(conn)
    ws.events.onMessage(conn, 'text', Buffer.from('a'))
    expect(executor.jobs).toEqual([])
    expect(ws.jobEnded(77)).toBe(true)
    expect(executor.jobs[0]?.[1]).toEqual([
      JOB_WS,
      id,
      [['open'], ['message', 'text', new Uint8Array(Buffer.from('a'))]],
    ])
  })

  it('stops reading a connection whose events pile up, and reads again once they drain', () => {
    const { ws, executor } = hub()
    const res = new FakeWriter()
    const id = ws.reserve(res)
    ws.accept(id, 'h', null, null)
    const conn = res.ws!
    for (let i = 0; i < 1100; i++) ws.events.onMessage(conn, 'binary', Buffer.from([i & 255]))
    expect(conn.calls).toEqual([['pause']])
    // Jobs of at most 256 events each, one after the other.
    let done = 0
    while (executor.jobs.length > done) ws.jobEnded(executor.jobs[done++]![0])
    expect(executor.jobs.map(([, job]) => (job[0] === JOB_WS ? job[2].length : 0))).toEqual([
      1, 256, 256, 256, 256, 75,
    ])
    expect(conn.calls).toEqual([['pause'], ['resume']])
  })

  it('after close, the connection is forgotten once its last job ends; closing submits nothing', () => {
    const { ws, executor, table } = hub()
    const res = new FakeWriter()
    const id = ws.reserve(res)
    ws.accept(id, 'h', null, null)
    ws.events.onClose(res.ws!, 1000, '')
    expect(table.isOpen(id)).toBe(false)
    ws.jobEnded(1)
    expect(ws.size).toBe(0)
    const res2 = new FakeWriter()
    const id2 = ws.reserve(res2)
    ws.accept(id2, 'h', null, null)
    ws.closing = true
    ws.events.onOpen(res2.ws!)
    expect(executor.jobs.length).toBe(1)
  })
})

describe('StreamHub and SseHub', () => {
  function hubs(limit = 100) {
    const table = new StatusTable()
    const executor = new FakeExecutor()
    const { lines, log } = logger()
    const sse = new SseHub(() => executor)
    const streams = new StreamHub(table, log, limit, sse)
    sse.attach(streams)
    return { table, executor, sse, streams, lines }
  }

  it('keeps writes that overtake their head, then writes them in order', () => {
    const { table, streams } = hubs()
    const id = table.claim()
    streams.command(['w', id, Buffer.from('a')])
    streams.command(['w', id, Buffer.from('b')])
    streams.command(['e', id])
    const res = new FakeWriter()
    streams.open(res, id, 200, ['Content-Type', 'text/plain'], false, -1)
    expect(res.stream_?.calls).toEqual([['write', 'a'], ['write', 'b'], ['end']])
  })

  it('drops the connection of a reader too far behind, and a write to a closed id costs nothing', () => {
    const { table, streams, lines } = hubs(10)
    const id = table.claim()
    const res = new FakeWriter()
    streams.open(res, id, 200, [], false, -1)
    const stream = res.stream_!
    stream.bufferedAmount = 11
    expect(streams.write(id, Buffer.from('x'))).toBe('dropped')
    expect(stream.calls).toEqual([['abort']])
    expect(lines[0]?.[0]).toBe('debug')
    stream.events.onClose(false)
    expect(table.isOpen(id)).toBe(false)
    streams.command(['w', id, Buffer.from('late')])
    expect(streams.size).toBe(0)
  })

  it('publishes to subscribed event streams, beats idle ones, and reports their end', async () => {
    const { table, streams, sse, executor } = hubs()
    const a = table.claim()
    const b = table.claim()
    const ra = new FakeWriter()
    const rb = new FakeWriter()
    streams.open(ra, a, 200, [], true, -1)
    streams.open(rb, b, 200, [], true, -1)
    streams.command(['T', a, 'news', null])
    streams.command(['T', b, 'news', null])
    streams.command(['V', b, 'news', null])
    expect(sse.publish('news', Buffer.from('data: hi\n\n'))).toBe(1)
    expect(ra.stream_?.calls).toEqual([['write', 'data: hi\n\n']])
    expect(rb.stream_?.calls).toEqual([])
    sse.startHeartbeat(1)
    await new Promise((r) => setTimeout(r, 250))
    sse.stop()
    expect(rb.stream_?.calls[0]).toEqual(['write', ':\n'])
    ra.stream_!.events.onClose(false)
    expect(sse.has('news')).toBe(false)
    expect(executor.jobs).toEqual([[1, [JOB_SSE, a, 'close'], a]])
  })

  it('an event stream whose client left before its head is reported closed at once', () => {
    const { table, streams, executor } = hubs()
    const id = table.claim()
    const res = new FakeWriter()
    res.closed = true
    streams.open(res, id, 200, [], true, -1)
    expect(table.isOpen(id)).toBe(false)
    expect(executor.jobs).toEqual([[1, [JOB_SSE, id, 'close'], id]])
  })
})

describe('dispatchCommand', () => {
  function targets() {
    const table = new StatusTable()
    const executor = new FakeExecutor()
    const { lines, log } = logger()
    const sse = new SseHub(() => executor)
    const streams = new StreamHub(table, log, 100, sse)
    sse.attach(streams)
    const published: unknown[] = []
    const to: CommandTargets = {
      jobs: new JobTable(log, 0),
      sockets: new WebSocketHub(table, SETTINGS, () => executor),
      streams,
      sse,
      log,
      publish: (m) => void published.push(m),
      publishEvent: (m) => void published.push(m),
    }
    return { to, table, lines, published }
  }

  it("'r' answers its job's request and frees the WebSocket id it did not use", () => {
    const { to, table } = targets()
    const res = new FakeWriter()
    const wsId = to.sockets.reserve(res)
    to.jobs.add(5, res, wsId, null)
    dispatchCommand(to, ['r', 200, ['A', 'b'], Buffer.from('ok')], 5)
    dispatchCommand(to, ['r', 500, [], Buffer.from('again')], 5)
    expect(res.calls).toEqual([['end', 200, ['A', 'b'], 'ok', undefined]])
    expect(table.isOpen(wsId)).toBe(false)
  })

  it("'h' opens a stream on its job's request; 'u' upgrades; 'p' and 'l' reach their owners", () => {
    const { to, table, lines, published } = targets()
    const res = new FakeWriter()
    to.jobs.add(1, res, 0, null)
    const id = table.claim()
    dispatchCommand(to, ['h', id, 200, [], false, -1], 1)
    dispatchCommand(to, ['w', id, Buffer.from('x')], null)
    expect(res.stream_?.calls).toEqual([['write', 'x']])
    const up = new FakeWriter()
    const wsId = to.sockets.reserve(up)
    to.jobs.add(2, up, wsId, null)
    dispatchCommand(to, ['u', wsId, 'HTTP/1.1 101\r\n\r\n', null], 2)
    dispatchCommand(to, ['s', wsId, 'binary', Buffer.from('b')], null)
    expect(up.ws?.calls).toEqual([['send', 'binary', 'b']])
    expect(to.jobs.size).toBe(0)
    const message: WorkerMessage = ['p', 't', 'text', Buffer.from('m'), 0]
    dispatchCommand(to, message, null)
    dispatchCommand(to, ['l', 'warn', 'from a worker'], null)
    expect(published).toEqual([message])
    expect(lines).toEqual([['warn', 'from a worker']])
  })
  it('a job that ends unanswered gets 500, 504 or 503, and frees its WebSocket id', () => {
    const { to, table, lines } = targets()
    const events = executorEvents(to)
    const writers = [new FakeWriter(), new FakeWriter(), new FakeWriter()]
    const wsId = to.sockets.reserve(writers[0]!)
    to.jobs.add(1, writers[0]!, wsId, null)
    to.jobs.add(2, writers[1]!, 0, null)
    to.jobs.add(3, writers[2]!, 0, null)
    events.onJobDone(1)
    events.onJobFailed(2, 'timeout')
    events.onJobFailed(3, 'worker-died', { name: 'Error', message: 'gone' })
    expect(writers.map((w) => [w.calls[0]?.[1], w.calls[0]?.[4]])).toEqual([
      [500, false],
      [504, false],
      [503, true],
    ])
    expect(table.isOpen(wsId)).toBe(false)
    expect(lines.map(([level]) => level)).toEqual(['error', 'error', 'error'])
    events.onJobDone(1) // a second end is no news
    expect(writers[0]!.calls.length).toBe(1)
  })
})

describe('InlineExecutor', () => {
  const channel: Channel = {
    post: () => {},
    table: null,
    maxBackpressure: 1,
    policy: 'close',
  }

  function recorder() {
    const log: unknown[] = []
    const events: ExecutorEvents = {
      onMessage: (m, id) => void log.push(['message', m[0], id]),
      onJobDone: (id) => void log.push(['done', id]),
      onJobError: (id, e) => void log.push(['error', id, e.message, e.code]),
      onJobFailed: (id, reason) => void log.push(['failed', id, reason]),
    }
    return { log, events }
  }

  it('runs a job after submit returns; its messages come before its end, with its id', async () => {
    const { log, events } = recorder()
    const run: JobFunction = (_job, port) => {
      port.post(['l', 'info', 'hi'])
    }
    const ex = new InlineExecutor(async () => run, channel, 0, events)
    await ex.start()
    addWebSocketChannel(channel)
    try {
      const id = ex.submit([JOB_SSE, 1, 'close'])
      expect(log).toEqual([])
      await Promise.resolve()
      expect(log).toEqual([
        ['message', 'l', id],
        ['done', id],
      ])
    } finally {
      removeWebSocketChannel(channel)
    }
  })

  it('reports a throw with its code, and an async job past its timeout exactly once', async () => {
    const { log, events } = recorder()
    // The async job settles only when the test says so: no race with the 30 ms timeout.
    let settle = (): void => {}
    const run: JobFunction = (job) => {
      if (job[0] === JOB_SSE) throw Object.assign(new Error('boom'), { code: 'ERR_X' })
      return new Promise<void>((resolve) => (settle = resolve))
    }
    const ex = new InlineExecutor(async () => run, channel, 30, events)
    await ex.start()
    const a = ex.submit([JOB_SSE, 1, 'close'])
    const b = ex.submit([JOB_WS, 1, []])
    const end = Date.now() + 5000
    while (log.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5))
    expect(log).toEqual([
      ['error', a, 'boom', 'ERR_X'],
      ['failed', b, 'timeout'],
    ])
    setTimeout(() => settle(), 20)
    const closing = ex.close({ timeout: 1000 })
    expect(() => ex.submit([JOB_SSE, 2, 'close'])).toThrow('closed')
    await closing // waits for the running job to settle
    expect(log.length).toBe(2)
  })
})

describe('Topics (across instances)', () => {
  /** An engine that records calls; history ids are handed out on demand. */
  class FakeEngine implements PubSubEngine {
    calls: unknown[][] = []
    deliver: ((topic: string, m: EngineMessage, id?: string | null) => void) | null = null
    ids: Array<(id: string | null) => void> = []
    entries: Array<{ id: string; message: EngineMessage }> | null = []
    historyAsked: Array<(v: typeof this.entries) => void> = []
    start(deliver: NonNullable<FakeEngine['deliver']>): Promise<void> {
      this.deliver = deliver
      return Promise.resolve()
    }
    subscribe(topic: string): void {
      this.calls.push(['subscribe', topic])
    }
    unsubscribe(topic: string): void {
      this.calls.push(['unsubscribe', topic])
    }
    publish(topic: string, message: EngineMessage): Promise<string | null> {
      this.calls.push(['publish', topic, message])
      return topic.startsWith('h:')
        ? new Promise((resolve) => this.ids.push(resolve))
        : Promise.resolve(null)
    }
    keepsHistory(topic: string): boolean {
      return topic.startsWith('h:')
    }
    history(): Promise<Array<{ id: string; message: EngineMessage }> | null> {
      return new Promise((resolve) => this.historyAsked.push(resolve))
    }
    close(): Promise<void> {
      return Promise.resolve()
    }
  }

  /** The topic part of a transport: subscriptions, and a publish that sends to each. */
  class TopicTransport {
    readonly subs = new Map<string, Set<TransportWebSocket>>()
    subscribe(ws: TransportWebSocket, topic: string): boolean {
      let set = this.subs.get(topic)
      if (set === undefined) this.subs.set(topic, (set = new Set()))
      if (set.has(ws)) return false
      set.add(ws)
      return true
    }
    unsubscribe(ws: TransportWebSocket, topic: string): boolean {
      return this.subs.get(topic)?.delete(ws) === true
    }
    publish(topic: string, kind: 'text' | 'binary', data: Uint8Array, except?: TransportWebSocket) {
      let n = 0
      for (const ws of this.subs.get(topic) ?? []) if (ws !== except && ws.send(kind, data)) n++
      return n
    }
  }

  async function setup() {
    const table = new StatusTable()
    const executor = new FakeExecutor()
    const { log } = logger()
    const sse = new SseHub(() => executor)
    const streams = new StreamHub(table, log, 1 << 20, sse)
    sse.attach(streams)
    const engine = new FakeEngine()
    const fake = new TopicTransport()
    const transport = () => fake as unknown as Transport
    const topics = new Topics(engine, transport, sse, new IdSubscriptions(transport, engine), log)
    sse.bridge(topics)
    const sockets = new WebSocketHub(table, SETTINGS, () => executor)
    sockets.topics(topics)
    sockets.attach(transport())
    await topics.start()
    const stream = (): [number, FakeWriter] => {
      const id = table.claim()
      const res = new FakeWriter()
      streams.open(res, id, 200, [], true, -1)
      return [id, res]
    }
    const socket = (): FakeWs => {
      const res = new FakeWriter()
      const ws = sockets.reserve(res)
      sockets.accept(ws, 'h', null, null)
      return res.ws!
    }
    return { engine, topics, streams, sockets, stream, socket }
  }

  /** What a socket was sent, as [kind, text]. */
  const sent = (ws: FakeWs) => ws.calls.filter((c) => c[0] === 'send').map((c) => [c[1], c[2]])
  const tick = () => new Promise((r) => setImmediate(r))

  it('envelopes name the topic and the history id; binary ones put the bytes after a line feed', () => {
    const text = envelope('t', 'text', Buffer.from('hé "x"'), '5-0')
    expect(text.kind).toBe('text')
    expect(JSON.parse(Buffer.from(text.bytes).toString())).toEqual({
      topic: 't',
      id: '5-0',
      data: 'hé "x"',
    })
    const bin = envelope('a\nb', 'binary', new Uint8Array([0, 10, 255]), null)
    const nl = bin.bytes.indexOf(10)
    expect(JSON.parse(Buffer.from(bin.bytes.subarray(0, nl)).toString())).toEqual({
      topic: 'a\nb',
      id: null,
    })
    expect([...bin.bytes.subarray(nl + 1)]).toEqual([0, 10, 255])
  })

  it('a socket taking a topic with ids gets envelopes; others get the message as published', async () => {
    const { engine, topics, sockets, socket } = await setup()
    const plain = socket()
    const withIds = socket()
    sockets.command(['S', plain.id, 'h:room', null])
    sockets.command(['S', withIds.id, 'h:room', { since: null }])
    expect(topics.publish('h:room', 'text', Buffer.from('hi'))).toBe(1)
    expect(sent(plain)).toEqual([['text', 'hi']])
    expect(sent(withIds)).toEqual([]) // waits for the history id
    engine.ids.shift()!('7-0')
    await tick()
    expect(sent(withIds)).toEqual([['text', '{"topic":"h:room","id":"7-0","data":"hi"}']])
    // From another instance: both at once.
    engine.deliver!('h:room', { kind: 'text', data: 'yo' }, '8-0')
    expect(sent(plain).at(-1)).toEqual(['text', 'yo'])
    expect(sent(withIds).at(-1)).toEqual(['text', '{"topic":"h:room","id":"8-0","data":"yo"}'])
    // Back to plain: no more envelopes, and one engine subscription all along.
    sockets.command(['S', withIds.id, 'h:room', null])
    engine.deliver!('h:room', { kind: 'text', data: 'z' }, '9-0')
    expect(sent(withIds).at(-1)).toEqual(['text', 'z'])
    expect(engine.calls.filter((c) => c[0] === 'subscribe')).toEqual([['subscribe', 'h:room']])
  })

  it('resuming after an id: history first, then the live messages that are newer, then live', async () => {
    const { engine, sockets, socket } = await setup()
    const ws = socket()
    sockets.command(['S', ws.id, 'h:room', { since: '3-0' }])
    expect(engine.historyAsked.length).toBe(1)
    engine.deliver!('h:room', { kind: 'text', data: 'm4' }, '4-0')
    engine.deliver!('h:room', { kind: 'binary', data: new Uint8Array([1]) }, '5-0')
    expect(sent(ws)).toEqual([])
    engine.historyAsked[0]!([
      { id: '4-0', message: { kind: 'text', data: 'm4' } },
      { id: '4-1', message: { kind: 'event', event: { data: 'for streams' } } },
    ])
    await tick()
    engine.deliver!('h:room', { kind: 'text', data: 'm6' }, '6-0')
    expect(sent(ws)).toEqual([
      ['text', '{"topic":"h:room","id":"4-0","data":"m4"}'],
      ['binary', '{"topic":"h:room","id":"5-0"}\n\u0001'],
      ['text', '{"topic":"h:room","id":"6-0","data":"m6"}'],
    ])
  })

  it('says where messages are missing: too old an id, a topic without history, a full page', async () => {
    const { engine, sockets, socket } = await setup()
    const old = socket()
    sockets.command(['S', old.id, 'h:room', { since: '1-0' }])
    engine.historyAsked[0]!(null)
    await tick()
    expect(sent(old)).toEqual([['text', '{"topic":"h:room","gap":true}']])
    const none = socket()
    sockets.command(['S', none.id, 'news', { since: '1-0' }])
    expect(sent(none)).toEqual([['text', '{"topic":"news","gap":true}']])
    const many = socket()
    sockets.command(['S', many.id, 'h:room', { since: '1-0' }])
    engine.historyAsked[1]!(
      Array.from({ length: 1000 }, (_, i) => ({
        id: `${i + 2}-0`,
        message: { kind: 'text' as const, data: 'x' },
      })),
    )
    await tick()
    expect(sent(many).length).toBe(1001)
    expect(sent(many).at(-1)).toEqual(['text', '{"topic":"h:room","gap":true}'])
  })

  it('leaving or closing during a catch-up cancels it', async () => {
    const { engine, sockets, socket } = await setup()
    const left = socket()
    const gone = socket()
    sockets.command(['S', left.id, 'h:room', { since: '1-0' }])
    sockets.command(['S', gone.id, 'h:room', { since: '1-0' }])
    sockets.command(['U', left.id, 'h:room', null])
    sockets.events.onClose(gone, 1000, '')
    for (const answer of engine.historyAsked)
      answer([{ id: '2-0', message: { kind: 'text', data: 'x' } }])
    await tick()
    engine.deliver!('h:room', { kind: 'text', data: 'y' }, '3-0')
    expect(sent(left)).toEqual([])
    expect(sent(gone)).toEqual([])
    expect(engine.calls.at(-1)).toEqual(['unsubscribe', 'h:room'])
  })

  it('subscribes once per topic, with the first local subscriber, and lets go with the last', async () => {
    const { engine, topics, streams, sockets, stream } = await setup()
    const [a] = stream()
    const [b, rb] = stream()
    streams.command(['T', a, 'news', null])
    streams.command(['T', a, 'news', null])
    streams.command(['T', b, 'news', null])
    const res = new FakeWriter()
    const ws = sockets.reserve(res)
    sockets.accept(ws, 'h', null, null)
    sockets.command(['S', ws, 'news', null])
    sockets.command(['S', ws, 'news', { since: null }])
    expect(topics.topics).toBe(1)
    expect(engine.calls).toEqual([['subscribe', 'news']])
    streams.command(['V', a, 'news', null])
    rb.stream_!.events.onClose(false)
    sockets.events.onClose(res.ws!, 1000, '')
    expect(engine.calls).toEqual([
      ['subscribe', 'news'],
      ['unsubscribe', 'news'],
    ])
    expect(topics.topics).toBe(0)
  })

  it('delivers here first, then hands over; events on topics with history take their id', async () => {
    const { engine, topics, streams, stream } = await setup()
    const [a, ra] = stream()
    streams.command(['T', a, 'news', null])
    streams.command(['T', a, 'h:feed', null])
    expect(topics.publish('news', 'text', Buffer.from('hi'))).toBe(1)
    expect(engine.calls.at(-1)).toEqual(['publish', 'news', { kind: 'text', data: 'hi' }])
    expect(topics.publishEvent('h:feed', { event: 'x', data: 'one' })).toBe(0)
    expect(ra.stream_?.calls.length).toBe(1)
    engine.ids.shift()!('5-0')
    await new Promise((r) => setImmediate(r))
    expect(ra.stream_?.calls.at(-1)).toEqual(['write', 'event: x\nid: 5-0\ndata: one\n\n'])
    // From another instance, with its history id.
    engine.deliver!('h:feed', { kind: 'event', event: { data: 'two' } }, '6-0')
    expect(ra.stream_?.calls.at(-1)).toEqual(['write', 'id: 6-0\ndata: two\n\n'])
  })

  it('catches up on two topics at once; leaving a topic meanwhile cancels its catch-up', async () => {
    const { engine, streams, stream } = await setup()
    const [a, ra] = stream()
    streams.command(['T', a, 'h:one', '1-0'])
    streams.command(['T', a, 'h:two', '1-0'])
    streams.command(['V', a, 'h:two', null])
    expect(engine.historyAsked.length).toBe(2)
    engine.historyAsked[1]!([{ id: '2-0', message: { kind: 'text', data: 'gone' } }])
    engine.historyAsked[0]!([{ id: '2-0', message: { kind: 'text', data: 'kept' } }])
    await new Promise((r) => setImmediate(r))
    expect(ra.stream_?.calls).toEqual([['write', 'id: 2-0\ndata: kept\n\n']])
  })

  it('a stream resuming with Last-Event-ID gets the history after it, then newer live events only', async () => {
    const { engine, streams, stream } = await setup()
    const [a, ra] = stream()
    streams.command(['T', a, 'h:feed', '3-0'])
    expect(engine.historyAsked.length).toBe(1)
    // Live events while the history is read: one it will also find there, one newer.
    engine.deliver!('h:feed', { kind: 'event', event: { data: 'e4' } }, '4-0')
    engine.deliver!('h:feed', { kind: 'event', event: { data: 'e5' } }, '5-0')
    expect(ra.stream_?.calls).toEqual([])
    engine.historyAsked[0]!([{ id: '4-0', message: { kind: 'event', event: { data: 'e4' } } }])
    await new Promise((r) => setImmediate(r))
    expect(ra.stream_?.calls).toEqual([
      ['write', 'id: 4-0\ndata: e4\n\n'],
      ['write', 'id: 5-0\ndata: e5\n\n'],
    ])
  })
})
