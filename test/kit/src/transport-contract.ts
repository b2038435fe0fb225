/**
 * One suite for the `Transport` contract of `@mummy/io-loop` (its `transport.ts`), run against
 * every transport, as a router suite is run against every router: real sockets on 127.0.0.1,
 * exact wire bytes. A transport that departs from the contract where its README's table "Where it
 * differs from the node:net transport" says so passes that deviation's name in `deviations`; the
 * tests that meet it then assert the documented behaviour instead (their titles say so). Nothing
 * is skipped. A few deviations this suite found are not in that table yet; their titles say that.
 *
 * The kit cannot import `@mummy/io-loop` (whose tests import the kit: the packages would depend
 * on each other), so the types the suite needs are described here structurally; io-loop's
 * `contract.test.ts` checks at compile time that its real types fit them.
 */
import type * as JestGlobals from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import net from 'node:net'
import {
  exchange,
  get,
  pushBody,
  rawExchange,
  readResponses,
  sleep,
  waitFor,
  type WireResponse,
} from './index.js'
import { rawWebSocket, type RawWebSocket } from './ws.js'

// ---- the contract's types, as the suite uses them ----

/** What happened to a message or piece given to a transport (`SendStatus`). */
export type ContractSendStatus = 'sent' | 'buffered' | 'dropped'

/** Kinds of WebSocket message a peer can send (`InboundKind`). */
export type ContractInboundKind = 'text' | 'binary' | 'ping' | 'pong'

/** Per-connection WebSocket settings as the suite gives them to `upgrade` (`WebSocketSettings`). */
export interface ContractWebSocketSettings {
  maxMessageLen: number
  idleTimeout: number
  maxBackpressure: number
  backpressurePolicy: 'close' | 'drop'
  /** The suite never negotiates permessage-deflate. */
  deflate: null
}

/** A WebSocket connection (`TransportWebSocket`). */
export interface ContractWebSocket {
  readonly id: number
  readonly closed: boolean
  readonly bufferedAmount: number
  send(kind: 'text' | 'binary', data: Uint8Array): ContractSendStatus
  close(code?: number, reason?: string): void
  terminate(): void
  pause(): void
  resume(): void
}

/** Where a WebSocket's events go (`WebSocketEvents`). */
export interface ContractWebSocketEvents {
  onOpen(ws: ContractWebSocket): void
  onMessage(ws: ContractWebSocket, kind: ContractInboundKind, data: Buffer): void
  onError(ws: ContractWebSocket, code: string, message: string, closeCode: number): void
  onClose(ws: ContractWebSocket, code: number, reason: string): void
  onDrain?(ws: ContractWebSocket): void
}

/** Where a streamed request body goes (`BodySink`). */
export interface ContractBodySink {
  write(chunk: Buffer): void
  end(): void
  abort(): void
}

/** Flow control of a streamed request body (`BodyControl`). */
export interface ContractBodyControl {
  pause(): void
  resume(): void
}

/** A request whose head is complete and whose body follows (`BodyHead`). */
export interface ContractBodyHead {
  readonly method: string
  readonly target: string
  readonly versionMinor: 0 | 1
  readonly headers: readonly string[]
  readonly remoteAddress: string
  readonly contentLength: number
}

/** A complete request (`TransportRequest`). */
export interface ContractRequest {
  readonly method: string
  readonly target: string
  readonly versionMinor: 0 | 1
  readonly headers: readonly string[]
  readonly body: Buffer
  readonly remoteAddress: string
  readonly keepAlive: boolean
  readonly upgrade: boolean
  readonly sink?: ContractBodySink
}

/** What a streamed response tells its owner (`StreamEvents`). */
export interface ContractStreamEvents {
  onDrain?(): void
  onClose(complete: boolean): void
}

/** The body of a streamed response (`TransportStream`). */
export interface ContractStream {
  write(chunk: Uint8Array | string): ContractSendStatus
  end(): void
  abort(): void
  hold(): void
  readonly bufferedAmount: number
  readonly closed: boolean
}

/** Where the answer to one request goes (`ResponseWriter`). */
export interface ContractResponseWriter {
  end(status: number, headers: readonly string[], body?: Uint8Array | string, close?: boolean): void
  upgrade(
    head: string,
    id: number,
    settings: ContractWebSocketSettings,
    events: ContractWebSocketEvents,
  ): ContractWebSocket | null
  stream(
    status: number,
    headers: readonly string[],
    events: ContractStreamEvents,
    close?: boolean,
    length?: number,
  ): ContractStream
  readonly closed: boolean
  readonly ended: boolean
}

/**
 * What `makeTransport` is given: the limits, timeouts and callbacks of `TransportOptions` (all
 * but `onRequest` optional, defaults left to the transport), plus `websocket` — the settings a
 * transport that fixes them per transport (uWebSockets.js) needs; the suite gives the same values
 * to every `upgrade`.
 */
export interface ContractOptions {
  maxHeadersLen?: number
  maxBodyLen?: number
  headersTimeout?: number
  requestTimeout?: number
  keepAliveTimeout?: number
  sendTimeout?: number
  maxPipelinedRequests?: number
  writeHighWaterMark?: number
  maxStreamedBodyLen?: number
  onRequest(request: ContractRequest, response: ContractResponseWriter): void
  onBodyStart?(
    head: ContractBodyHead,
    response: ContractResponseWriter,
    control: ContractBodyControl,
  ): ContractBodySink | null
  onClientError?(error: Error & { code?: string; status?: number }, remoteAddress: string): void
  websocket?: {
    maxMessageLen?: number
    idleTimeout?: number
    maxBackpressure?: number
    backpressurePolicy?: 'close' | 'drop'
  }
}

/** A transport under test (`Transport`). */
export interface ContractTransport {
  listen(port: number, host?: string): Promise<number>
  close(timeout?: number): Promise<void>
  readonly connections: number
  readonly port: number
  subscribe(ws: ContractWebSocket, topic: string): boolean
  unsubscribe(ws: ContractWebSocket, topic: string): boolean
  publish(
    topic: string,
    kind: 'text' | 'binary',
    data: Uint8Array,
    except?: ContractWebSocket,
  ): number
}

// ---- deviations ----

/**
 * What each deviation a transport may declare means: the rows of `@mummy/io-loop`'s README table
 * "Where it differs from the node:net transport" (and of its contract table's third column) that
 * a test of this suite meets, and what the tests that meet one assert instead.
 *
 * README rows no test here meets differently: `maxPipelinedRequests`, `writeHighWaterMark` and
 * `sendTimeout` (only the node:net transport's own tests use them); known-length streams through
 * `tryEnd` and the deferred closing answer (the same bytes reach the client either way: both are
 * asserted here for every transport).
 */
export const TRANSPORT_DEVIATIONS = Object.freeze({
  pipelining:
    'a request pipelined behind a pending answer closes the connection (no answers, the pending one aborted)',
  http10: 'HTTP/1.0 requests get no answer (the connection stays until an idle timeout)',
  'malformed-heads-unanswered':
    'malformed request lines and header sections get no answer (the connection stays until an idle timeout)',
  'underscore-field-names': 'a field name with `_` gets no answer',
  'non-origin-targets': 'CONNECT and absolute-form targets get no answer',
  'close-before-first-request':
    'close() closes a connection that has not sent its first request (no grace to send it)',
  'lenient-chunked':
    'chunked-body leniencies (empty or space-padded size, no CRLF after data) are accepted',
  timeouts:
    'headersTimeout, requestTimeout, keepAliveTimeout and a WebSocket idleTimeout under 8 s are not applied (a fixed 10 s idle timeout instead)',
  'ws-pause':
    'pause() on a WebSocket does not hold messages back (it counts input; 1008 past 8 MiB)',
  'ws-protocol-errors':
    'a WebSocket peer that breaks the protocol (or exceeds maxMessageLen) is dropped: no close frame, no error event, close code 1006',
  'extra-response-headers':
    'every response carries `uWebSockets: 20` too (and the 101 also a Date)',
  'stream-head-with-first-piece':
    'a streamed response head leaves with the first piece of the body, not at once',
  'stream-close-left-to-peer':
    'a streamed response with close = true announces Connection: close but leaves closing to the peer',
  'five-byte-connection-is-close':
    'a `Connection` request header of exactly 5 bytes that is not `close` (e.g. `abcde`) is taken as `close`',
  'huge-content-length':
    'a Content-Length of 1,000,000,000 or more drops the connection without an answer',
  connections: '`connections` counts requests in flight and open WebSockets, not idle connections',
  'lowercase-header-names': 'request header names are handed over lower-cased, not as received',
  'unsubscribe-drops-published':
    'a message published to a subscriber that unsubscribes in the same IO turn never reaches it (though `publish` counted it)',
  'backpressure-close-drops':
    'the `close` backpressure policy drops the connection without a close frame (onClose 1006), not close 1008',
  'cl-with-te-unanswered':
    'a head with both Content-Length and Transfer-Encoding is closed without an answer',
} as const)

/** The name of a deviation (see {@link TRANSPORT_DEVIATIONS}). */
export type TransportDeviation = keyof typeof TRANSPORT_DEVIATIONS

/** Options of {@link runTransportContract}. */
export interface TransportContractOptions {
  /** This transport's deviations ({@link TRANSPORT_DEVIATIONS}): the tests that meet one assert it instead. */
  deviations?: Iterable<TransportDeviation>
}

// ---- wire helpers ----

const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/
/** Stands for a `Date` header line with a valid IMF-fixdate in expected responses. */
const DATE = 'Date: <IMF-fixdate>'
/** The header uWebSockets.js adds to every response (deviation `extra-response-headers`). */
const UWS_HEADER = 'uWebSockets: 20'
const TEXT_PLAIN = 'Content-Type: text/plain; charset=utf-8'
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** An expected response: status line, header lines, body (a Buffer is compared byte for byte). */
function response(
  statusLine: string,
  headers: readonly string[],
  body: string | Buffer = '',
): string {
  const text = typeof body === 'string' ? body : body.toString('latin1')
  return [statusLine, ...headers, ''].join('\r\n') + '\r\n' + text
}

/** An answer a transport writes itself: the reason phrase as text, and `Connection: close`. */
function refusal(status: number, reason: string, close = true): string {
  return response(
    `HTTP/1.1 ${status} ${reason}`,
    [
      TEXT_PLAIN,
      DATE,
      `Content-Length: ${reason.length + 1}`,
      ...(close ? ['Connection: close'] : []),
    ],
    `${reason}\n`,
  )
}

/**
 * One response's bytes in the form the suite compares: the status line, then the header lines
 * grouped by name (names sorted, the lines of one name in the order sent: the order of different
 * fields carries no meaning, and the transports write theirs in different places), then the body
 * exactly as framed. A valid `Date` line becomes {@link DATE}; `extra` is the line a deviation
 * adds (required exactly once, then left out).
 */
function canonical(bytes: Buffer | string | undefined, extra: string | null): string {
  if (bytes === undefined) return '(no response)'
  const text = typeof bytes === 'string' ? bytes : bytes.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end === -1) return `(incomplete head) ${text}`
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const kept: [string, number, string][] = []
  let extras = 0
  lines.forEach((line, i) => {
    if (extra !== null && line === extra) extras++
    else {
      const value = line.startsWith('Date: ') && IMF_FIXDATE.test(line.slice(6)) ? DATE : line
      kept.push([line.slice(0, line.indexOf(':')).toLowerCase(), i, value])
    }
  })
  kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]))
  const head = [statusLine, ...kept.map((k) => k[2])]
  if (extra !== null && extras !== 1) head.push(`(expected one '${extra}' line, saw ${extras})`)
  return head.join('\r\n') + '\r\n\r\n' + text.slice(end + 4)
}

function headerOf(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2)
    if (headers[i]!.toLowerCase() === name) return headers[i + 1]
  return undefined
}

/** The `101` head for the request's `Sec-WebSocket-Key`. */
function switchingProtocols(request: ContractRequest): string {
  const key = headerOf(request.headers, 'sec-websocket-key') ?? ''
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64')
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`
}

function closePayload(code: number, reason = ''): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason))
  payload.writeUInt16BE(code, 0)
  payload.write(reason, 2)
  return payload
}

/** `[opcode, payload]` of every frame received (close frames as `[8, code, reason]`). */
function framesOf(ws: RawWebSocket): (string | number)[][] {
  return ws.frames.map((f) =>
    f.opcode === 8
      ? [8, f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005, f.payload.toString('utf8', 2)]
      : [f.opcode, f.payload.toString('latin1')],
  )
}

const WS_SETTINGS: ContractWebSocketSettings = Object.freeze({
  maxMessageLen: 1024,
  idleTimeout: 0,
  maxBackpressure: 1024 * 1024,
  backpressurePolicy: 'close',
  deflate: null,
})

const UPGRADE_REQUEST = (path: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

/** A keep-alive client that asks one request at a time and reads each answer's exact bytes. */
interface Client {
  readonly socket: net.Socket
  /** Writes `bytes` and resolves with the next complete response (`head`: it answers HEAD). */
  ask(bytes: string | Buffer, head?: boolean): Promise<WireResponse>
  /** Resolves with the next complete response. */
  next(head?: boolean): Promise<WireResponse>
  /** Bytes received and not yet returned as a response. */
  pending(): string
  /** Resolves when the server closed the connection. */
  readonly closed: Promise<void>
  isClosed(): boolean
}

// ---- the suite ----

type Jest = Pick<typeof JestGlobals, 'afterEach' | 'describe' | 'expect' | 'it'>

/**
 * Jest's globals, where Jest puts them (`injectGlobals`, its default), taken when a suite is
 * defined: importing `@jest/globals` here would make the whole kit fail to load outside Jest.
 */
function jestGlobals(): Jest {
  const g = globalThis as unknown as Partial<Jest>
  if (
    g.afterEach === undefined ||
    g.describe === undefined ||
    g.expect === undefined ||
    g.it === undefined
  )
    throw new Error('runTransportContract defines Jest tests: call it from a test file')
  return { afterEach: g.afterEach, describe: g.describe, expect: g.expect, it: g.it }
}

/**
 * Defines (with `describe`/`it`) the contract suite for one transport: every behaviour the
 * `Transport` interface promises, over real sockets. `makeTransport` gets the options of each
 * test and returns a transport that has not listened yet; the suite listens on 127.0.0.1 port 0
 * and closes it after the test. `options.deviations` names the documented deviations of this
 * transport ({@link TRANSPORT_DEVIATIONS}).
 *
 * @example
 * ```ts
 * runTransportContract('node', (o) => new NodeTransport(o))
 * runTransportContract('uws', (o) => new UwsTransport(o), { deviations: ['pipelining', 'http10'] })
 * ```
 */
export function runTransportContract(
  name: string,
  makeTransport: (options: ContractOptions) => ContractTransport,
  options: TransportContractOptions = {},
): void {
  const { afterEach, describe, expect, it } = jestGlobals()
  const deviations = new Set<TransportDeviation>(options.deviations ?? [])
  for (const d of deviations)
    if (!Object.hasOwn(TRANSPORT_DEVIATIONS, d)) throw new Error(`unknown deviation '${d}'`)
  const has = (d: TransportDeviation): boolean => deviations.has(d)
  /** A title that says when the test asserts a documented deviation instead. */
  const title = (text: string, ...ds: TransportDeviation[]): string => {
    const met = ds.filter(has)
    if (met.length === 0) return text
    return `${text} [documented deviation: ${met.join(', ')}]`
  }
  const extra = has('extra-response-headers') ? UWS_HEADER : null
  /** Asserts one response's exact bytes (see {@link canonical}). */
  const expectWire = (actual: Buffer | string | undefined, expected: string): void =>
    expect(canonical(actual, extra)).toBe(canonical(expected, null))

  const transports: ContractTransport[] = []
  const sockets: net.Socket[] = []

  const echoTarget = (req: ContractRequest, res: ContractResponseWriter): void =>
    res.end(200, ['Content-Type', 'text/plain'], req.target)

  async function start(
    o: Partial<ContractOptions> = {},
  ): Promise<{ transport: ContractTransport; port: number }> {
    const transport = makeTransport({ onRequest: echoTarget, ...o })
    transports.push(transport)
    return { transport, port: await transport.listen(0, '127.0.0.1') }
  }

  function connect(port: number, allowHalfOpen = false): net.Socket {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen })
    socket.on('error', () => {})
    sockets.push(socket)
    return socket
  }

  async function ws(port: number, path = '/'): Promise<RawWebSocket> {
    const socket = await rawWebSocket(port, path)
    sockets.push(socket.socket)
    return socket
  }

  function client(port: number): Client {
    const socket = connect(port)
    let buf = Buffer.alloc(0)
    let closed = false
    const waiting: {
      head: boolean
      resolve: (r: WireResponse) => void
      fail: (e: Error) => void
    }[] = []
    const settle = (): void => {
      while (waiting.length > 0) {
        const w = waiting[0]!
        let first: WireResponse | undefined
        try {
          first = readResponses(buf, [w.head]).responses[0]
        } catch (e) {
          waiting.shift()
          w.fail(e instanceof Error ? e : new Error(String(e)))
          continue
        }
        if (first === undefined) {
          if (!closed) return
          waiting.shift()
          w.fail(new Error(`closed before a response; got ${JSON.stringify(buf.toString())}`))
          continue
        }
        waiting.shift()
        buf = buf.subarray(first.raw.length)
        w.resolve(first)
      }
    }
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      settle()
    })
    const closedPromise = new Promise<void>((resolve) =>
      socket.once('close', () => {
        closed = true
        settle()
        resolve()
      }),
    )
    const next = (head = false): Promise<WireResponse> =>
      new Promise<WireResponse>((resolve, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`no response in 5 s; got ${JSON.stringify(buf.toString())}`)),
          5000,
        )
        waiting.push({
          head,
          resolve: (r) => {
            clearTimeout(timer)
            resolve(r)
          },
          fail: (e) => {
            clearTimeout(timer)
            fail(e)
          },
        })
        settle()
      })
    return {
      socket,
      next,
      ask: (bytes, head = false) => {
        socket.write(bytes)
        return next(head)
      },
      pending: () => buf.toString('latin1'),
      closed: closedPromise,
      isClosed: () => closed,
    }
  }

  /** Resolves with what arrived when the server closed (or `timeout` passed). */
  function collect(socket: net.Socket, timeout = 5000): Promise<{ data: string; closed: boolean }> {
    return new Promise((resolve) => {
      let data = ''
      socket.on('data', (d: Buffer) => (data += d.toString('latin1')))
      const timer = setTimeout(() => resolve({ data, closed: false }), timeout)
      socket.once('close', () => {
        clearTimeout(timer)
        resolve({ data, closed: true })
      })
    })
  }

  /** Expects the connection to be refused: the transport no longer listens. */
  const expectRefused = (port: number): Promise<void> =>
    expect(
      new Promise((resolve, reject) =>
        net.connect(port, '127.0.0.1').on('connect', resolve).on('error', reject),
      ),
    ).rejects.toThrow(/ECONNREFUSED/)

  describe(`Transport contract (${name})`, () => {
    afterEach(async () => {
      for (const socket of sockets.splice(0)) socket.destroy()
      await Promise.all(transports.splice(0).map((t) => t.close(500)))
    })

    describe('responses', () => {
      it('end(): status line, the headers as given, Date, Content-Length, the body; the connection is kept', async () => {
        const { port } = await start({
          onRequest(req, res) {
            const headers = ['Content-Type', 'text/plain', 'X-Multi', 'a', 'X-Multi', 'b']
            if (req.target === '/utf8') res.end(200, [], 'héllo wörld')
            else if (req.target === '/bytes') res.end(200, [], new Uint8Array([0, 1, 2, 255]))
            else setTimeout(() => res.end(200, headers, req.target), 5)
          },
        })
        const c = client(port)
        expectWire(
          (await c.ask(get('/hello?x=1'))).raw,
          response(
            'HTTP/1.1 200 OK',
            ['Content-Type: text/plain', 'X-Multi: a', 'X-Multi: b', DATE, 'Content-Length: 10'],
            '/hello?x=1',
          ),
        )
        expectWire(
          (await c.ask(get('/utf8'))).raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 13'], Buffer.from('héllo wörld')),
        )
        expectWire(
          (await c.ask(get('/bytes'))).raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 4'], Buffer.from([0, 1, 2, 255])),
        )
        expect(c.isClosed()).toBe(false)
      })

      it('HEAD gets the Content-Length a GET would and no body; 204 and 304 get no Content-Length', async () => {
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/204') res.end(204, ['X-A', '1'], '')
            else if (req.target === '/304') res.end(304, [], '')
            else res.end(200, [], 'twelve bytes')
          },
        })
        // One write: the framing of each answer is what lets the next one be read.
        const { responses, rest } = await exchange(
          port,
          'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n' + get('/204') + get('/304') + get('/'),
          { responses: 4, head: [true] },
        )
        expect(responses).toHaveLength(4)
        expectWire(responses[0]?.raw, response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 12']))
        expectWire(responses[1]?.raw, response('HTTP/1.1 204 No Content', ['X-A: 1', DATE]))
        expectWire(responses[2]?.raw, response('HTTP/1.1 304 Not Modified', [DATE]))
        expectWire(
          responses[3]?.raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 12'], 'twelve bytes'),
        )
        expect(rest.length).toBe(0)
      })

      it('end(…, close): Connection: close, then the connection is closed', async () => {
        const { port } = await start({
          onRequest: (_req, res) => res.end(200, ['Content-Type', 'text/plain'], 'bye', true),
        })
        const { responses, closed, rest } = await exchange(port, get('/'))
        expectWire(
          responses[0]?.raw,
          response(
            'HTTP/1.1 200 OK',
            ['Content-Type: text/plain', DATE, 'Content-Length: 3', 'Connection: close'],
            'bye',
          ),
        )
        expect(rest.length).toBe(0)
        expect(closed).toBe(true)
      })

      it('a request that asks to close (Connection: close): keepAlive false, answered with Connection: close, then closed', async () => {
        const seen: boolean[] = []
        const { port } = await start({
          onRequest(req, res) {
            seen.push(req.keepAlive)
            echoTarget(req, res)
          },
        })
        const { responses, closed, rest } = await exchange(
          port,
          'GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
        )
        expectWire(
          responses[0]?.raw,
          response(
            'HTTP/1.1 200 OK',
            ['Content-Type: text/plain', DATE, 'Content-Length: 4', 'Connection: close'],
            '/bye',
          ),
        )
        expect(rest.length).toBe(0)
        expect(closed).toBe(true)
        expect(seen).toEqual([false])
      })

      it(
        title(
          'a Connection list naming close closes; other Connection values keep the connection',
          'five-byte-connection-is-close',
        ),
        async () => {
          const seen: [string, boolean][] = []
          const { port } = await start({
            onRequest(req, res) {
              seen.push([headerOf(req.headers, 'connection') ?? '', req.keepAlive])
              res.end(200, [], 'ok')
            },
          })
          const ask = (value: string) =>
            exchange(port, `GET / HTTP/1.1\r\nHost: x\r\nConnection: ${value}\r\n\r\n`, {
              timeout: 1000,
            })
          const OK = response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 2'], 'ok')
          const CLOSED = response(
            'HTTP/1.1 200 OK',
            [DATE, 'Content-Length: 2', 'Connection: close'],
            'ok',
          )
          const list = await ask('keep-alive, close')
          expectWire(list.responses[0]?.raw, CLOSED)
          expect(list.closed).toBe(true)
          const other = await exchange(port, get('/', 'Connection: keep-alive\r\n'), {
            responses: 1,
          })
          expectWire(other.responses[0]?.raw, OK)
          expect(other.closed).toBe(false)
          const five = await (has('five-byte-connection-is-close')
            ? ask('abcde')
            : exchange(port, get('/', 'Connection: abcde\r\n'), { responses: 1 }))
          expectWire(five.responses[0]?.raw, has('five-byte-connection-is-close') ? CLOSED : OK)
          expect(five.closed).toBe(has('five-byte-connection-is-close'))
          expect(seen).toEqual([
            ['keep-alive, close', false],
            ['keep-alive', true],
            ['abcde', !has('five-byte-connection-is-close')],
          ])
        },
      )

      it(
        title(
          'hands over method, target, version, headers as received, an owned body (fixed and chunked), address, keepAlive, upgrade',
          'lowercase-header-names',
        ),
        async () => {
          const seen: ContractRequest[] = []
          const { port } = await start({
            onRequest(req, res) {
              seen.push(req)
              res.end(200, [], req.body)
            },
          })
          const body = 'x'.repeat(100_000)
          const a = await exchange(
            port,
            `POST /p?q=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
            { responses: 1 },
          )
          expect(a.responses[0]?.body.toString()).toBe(body)
          const b = await exchange(
            port,
            'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
            { responses: 1 },
          )
          expect(b.responses[0]?.body.toString()).toBe('hello world')
          expect(seen[0]).toMatchObject({
            method: 'POST',
            target: '/p?q=1',
            versionMinor: 1,
            remoteAddress: '127.0.0.1',
            keepAlive: true,
            upgrade: false,
          })
          expect(seen[0]?.sink).toBeUndefined()
          expect(seen[0]?.headers).toEqual(
            has('lowercase-header-names')
              ? ['host', 'h', 'x-a', '1', 'content-length', '100000']
              : ['Host', 'h', 'X-A', '1', 'Content-Length', '100000'],
          )
          // Bodies own their whole ArrayBuffer (never a view into a pooled slab): transferable.
          expect(seen[0]?.body.byteOffset).toBe(0)
          expect(seen[0]?.body.buffer.byteLength).toBe(100_000)
          expect(seen[1]?.body.byteOffset).toBe(0)
          expect(seen[1]?.body.buffer.byteLength).toBe(11)
        },
      )

      it('a handler that throws: 500 with the reason phrase; onClientError hears of it', async () => {
        const errors: string[] = []
        const { port } = await start({
          onRequest() {
            throw new Error('boom')
          },
          onClientError: (e) => errors.push(e.message),
        })
        const c = client(port)
        expectWire((await c.ask(get('/'))).raw, refusal(500, 'Internal Server Error', false))
        expect(errors).toEqual(['boom'])
      })
    })

    describe('keep-alive and pipelining', () => {
      it('answers 100 requests written in one write(), in order, on one kept connection', async () => {
        const { port } = await start()
        let bytes = ''
        for (let i = 0; i < 100; i++) bytes += get(`/r${i}`)
        const { responses, closed } = await exchange(port, bytes, { responses: 100 })
        expect(responses.map((r) => r.body.toString())).toEqual(
          Array.from({ length: 100 }, (_, i) => `/r${i}`),
        )
        // (HTTP/1.1 keeps the connection without saying so.)
        expectWire(
          responses[0]?.raw,
          response(
            'HTTP/1.1 200 OK',
            ['Content-Type: text/plain', DATE, 'Content-Length: 3'],
            '/r0',
          ),
        )
        expect(closed).toBe(false)
      })

      it(
        title('answers in request order when handlers finish in reverse order', 'pipelining'),
        async () => {
          let answered = 0
          const { port } = await start({
            onRequest(req, res) {
              const n = Number(req.target.slice(2))
              setTimeout(
                () => {
                  if (res.closed) return
                  res.end(200, [], req.target)
                  answered++
                },
                (10 - n) * 15,
              )
            },
          })
          let bytes = ''
          for (let i = 0; i < 10; i++) bytes += get(`/r${i}`)
          if (has('pipelining')) {
            const { responses, closed } = await exchange(port, bytes, { timeout: 1000 })
            expect(responses).toEqual([])
            expect(closed).toBe(true)
            await sleep(200)
            expect(answered).toBe(0)
            return
          }
          const { responses } = await exchange(port, bytes, { responses: 10 })
          expect(responses.map((r) => r.body.toString())).toEqual(
            Array.from({ length: 10 }, (_, i) => `/r${i}`),
          )
          expect(answered).toBe(10)
        },
      )

      it(
        title('HTTP/1.0: answered and closed, or kept with Connection: keep-alive', 'http10'),
        async () => {
          const versions: number[] = []
          const { port } = await start({
            onRequest(req, res) {
              versions.push(req.versionMinor)
              echoTarget(req, res)
            },
          })
          const plain = 'GET /old HTTP/1.0\r\n\r\n'
          const kept = 'GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'
          if (has('http10')) {
            const results = await Promise.all(
              [plain, kept].map((bytes) => exchange(port, bytes, { timeout: 300 })),
            )
            for (const r of results) {
              expect(r.responses).toEqual([])
              expect(r.rest.length).toBe(0)
              expect(r.closed).toBe(false)
            }
            expect(versions).toEqual([])
            return
          }
          const a = await exchange(port, plain)
          expectWire(
            a.responses[0]?.raw,
            response(
              'HTTP/1.1 200 OK',
              ['Content-Type: text/plain', DATE, 'Content-Length: 4', 'Connection: close'],
              '/old',
            ),
          )
          expect(a.closed).toBe(true)
          const b = await exchange(port, kept, { responses: 1 })
          expectWire(
            b.responses[0]?.raw,
            response(
              'HTTP/1.1 200 OK',
              ['Content-Type: text/plain', DATE, 'Content-Length: 3', 'Connection: keep-alive'],
              '/ka',
            ),
          )
          expect(b.closed).toBe(false)
          expect(versions).toEqual([0, 0])
        },
      )
    })

    describe('limits and refusals', () => {
      /** A transport whose handler counts what reaches it; client errors are recorded. */
      async function refusing(o: Partial<ContractOptions> = {}) {
        const state = {
          reached: 0,
          errors: [] as [string | undefined, number | undefined][],
          addresses: new Set<string>(),
        }
        const started = await start({
          onRequest(_req, res) {
            state.reached++
            res.end(200, [], 'ok')
          },
          // (An exception thrown here would be swallowed by the transport: record, then assert.)
          onClientError(e, remoteAddress) {
            state.errors.push([e.code, e.status])
            state.addresses.add(remoteAddress)
          },
          ...o,
        })
        return { ...started, state }
      }

      it('413 for a declared body over maxBodyLen, before any of it is sent; then close', async () => {
        const { port, state } = await refusing({ maxBodyLen: 1000 })
        const { responses, closed, rest } = await exchange(
          port,
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n',
        )
        expect(responses).toHaveLength(1)
        expectWire(responses[0]?.raw, refusal(413, 'Content Too Large'))
        expect(rest.length).toBe(0)
        expect(closed).toBe(true)
        expect(state.reached).toBe(0)
        expect(state.errors).toEqual([['ERR_MUMMY_BODY_TOO_LARGE', 413]])
        expect([...state.addresses]).toEqual(['127.0.0.1'])
      })

      it('413 for a chunked body that grows past maxBodyLen; then close', async () => {
        const { port, state } = await refusing({ maxBodyLen: 1000 })
        const { responses, closed } = await exchange(
          port,
          `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'y'.repeat(1024)}\r\n0\r\n\r\n`,
        )
        expect(responses).toHaveLength(1)
        expectWire(responses[0]?.raw, refusal(413, 'Content Too Large'))
        expect(closed).toBe(true)
        expect(state.reached).toBe(0)
      })

      it('431 for a head over maxHeadersLen, 414 for a request-target over it; then close', async () => {
        const { port, state } = await refusing({ maxHeadersLen: 1024 })
        const big = await exchange(
          port,
          `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2000)}\r\n\r\n`,
        )
        expect(big.responses).toHaveLength(1)
        expectWire(big.responses[0]?.raw, refusal(431, 'Request Header Fields Too Large'))
        expect(big.closed).toBe(true)
        const uri = await exchange(port, `GET /${'a'.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`)
        expect(uri.responses).toHaveLength(1)
        expectWire(uri.responses[0]?.raw, refusal(414, 'URI Too Long'))
        expect(uri.closed).toBe(true)
        expect(state.reached).toBe(0)
        expect(state.errors.map((e) => e[1])).toEqual([431, 414])
      })

      it(
        title(
          'refuses heads by @mummy/parser rules (request smuggling shapes): 400/501 and close',
          'cl-with-te-unanswered',
        ),
        async () => {
          const { port, state } = await refusing()
          const CL_TE = new Set([2, 3])
          const cases: [string, number, string][] = [
            ['Content-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, 'Bad Request'],
            ['Content-Length: 1\r\nContent-Length: 1\r\n\r\na', 400, 'Bad Request'],
            [
              'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
              400,
              'Bad Request',
            ],
            [
              'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
              400,
              'Bad Request',
            ],
            ['Transfer-Encoding: gzip\r\n\r\n', 501, 'Not Implemented'],
            [
              'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
              400,
              'Bad Request',
            ],
            ['Host: second\r\n\r\n', 400, 'Bad Request'],
          ]
          const results = await Promise.all(
            cases.map(([rest]) => exchange(port, `POST / HTTP/1.1\r\nHost: x\r\n${rest}`)),
          )
          results.forEach(({ responses, closed }, i) => {
            const [, status, reason] = cases[i]!
            expect(closed).toBe(true)
            if (CL_TE.has(i) && has('cl-with-te-unanswered')) {
              expect(responses).toEqual([])
              return
            }
            expect(responses).toHaveLength(1)
            expectWire(responses[0]?.raw, refusal(status, reason))
          })
          expect(state.reached).toBe(0)
          expect(state.errors.map((e) => e[1]).sort()).toEqual(
            has('cl-with-te-unanswered')
              ? [400, 400, 400, 400, 501]
              : [400, 400, 400, 400, 400, 400, 501],
          )
          expect([...state.addresses]).toEqual(['127.0.0.1'])
        },
      )

      it(
        title(
          'malformed request lines and header sections: 400/431/505 and close',
          'malformed-heads-unanswered',
        ),
        async () => {
          const { port, state } = await refusing()
          const H = 'Host: x\r\n'
          const cases: [string, number, string][] = [
            [`GET / HTTP/1.1\n${H}\n`, 400, 'Bad Request'],
            [`GET / HTTP/1.1\r\n${H}X-A: 1\r\n\tcontinued\r\n\r\n`, 400, 'Bad Request'],
            [`GET / HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`, 400, 'Bad Request'],
            [`GET / http/1.1\r\n${H}\r\n`, 400, 'Bad Request'],
            ['GET / HTTP/1.1\r\n\r\n', 400, 'Bad Request'],
            [`GET / HTTP/1.2\r\n${H}\r\n`, 505, 'HTTP Version Not Supported'],
            [
              `GET / HTTP/1.1\r\n${H}${'X-N: 1\r\n'.repeat(150)}\r\n`,
              431,
              'Request Header Fields Too Large',
            ],
          ]
          const unanswered = has('malformed-heads-unanswered')
          const results = await Promise.all(
            cases.map(([bytes]) => exchange(port, bytes, unanswered ? { timeout: 300 } : {})),
          )
          results.forEach(({ responses, closed, rest }, i) => {
            const [, status, reason] = cases[i]!
            if (unanswered) {
              expect([responses, rest.length, closed]).toEqual([[], 0, false])
              return
            }
            expect(responses).toHaveLength(1)
            expectWire(responses[0]?.raw, refusal(status, reason))
            expect(closed).toBe(true)
          })
          expect(state.reached).toBe(0)
        },
      )

      it(
        title(
          'earlier pipelined requests are answered before the error answer',
          'malformed-heads-unanswered',
        ),
        async () => {
          const { port } = await start()
          const unanswered = has('malformed-heads-unanswered')
          const { responses, closed, rest } = await exchange(
            port,
            get('/ok') + 'GET /bad HTTP/9.9\r\n\r\n',
            unanswered ? { timeout: 300 } : {},
          )
          expectWire(
            responses[0]?.raw,
            response(
              'HTTP/1.1 200 OK',
              ['Content-Type: text/plain', DATE, 'Content-Length: 3'],
              '/ok',
            ),
          )
          if (unanswered) {
            expect([responses.length, rest.length, closed]).toEqual([1, 0, false])
            return
          }
          expect(responses).toHaveLength(2)
          expectWire(responses[1]?.raw, refusal(505, 'HTTP Version Not Supported'))
          expect(closed).toBe(true)
        },
      )

      it(title('a field name with `_` is accepted', 'underscore-field-names'), async () => {
        const seen: ContractRequest[] = []
        const { port } = await start({
          onRequest(req, res) {
            seen.push(req)
            res.end(200, [], 'ok')
          },
        })
        const bytes = 'GET / HTTP/1.1\r\nHost: x\r\nX_A: 1\r\n\r\n'
        if (has('underscore-field-names')) {
          const { responses, closed } = await exchange(port, bytes, { timeout: 300 })
          expect([responses, closed, seen.length]).toEqual([[], false, 0])
          return
        }
        const { responses } = await exchange(port, bytes, { responses: 1 })
        expectWire(
          responses[0]?.raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 2'], 'ok'),
        )
        expect(headerOf(seen[0]?.headers ?? [], 'x_a')).toBe('1')
      })

      it(
        title(
          'CONNECT gets 501 and close; an absolute-form target is served (its authority as Host)',
          'non-origin-targets',
        ),
        async () => {
          const seen: ContractRequest[] = []
          const { port } = await start({
            onRequest(req, res) {
              seen.push(req)
              res.end(200, [], 'ok')
            },
          })
          const connectBytes = 'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n'
          const absolute = 'GET http://h:1/p?q HTTP/1.1\r\nHost: x\r\n\r\n'
          if (has('non-origin-targets')) {
            const results = await Promise.all(
              [connectBytes, absolute].map((b) => exchange(port, b, { timeout: 300 })),
            )
            for (const r of results)
              expect([r.responses, r.rest.length, r.closed]).toEqual([[], 0, false])
            expect(seen).toEqual([])
            return
          }
          const a = await exchange(port, connectBytes)
          expect(a.responses).toHaveLength(1)
          expectWire(a.responses[0]?.raw, refusal(501, 'Not Implemented'))
          expect(a.closed).toBe(true)
          const b = await exchange(port, absolute, { responses: 1 })
          expect(b.responses[0]?.body.toString()).toBe('ok')
          expect(seen.map((r) => [r.target, headerOf(r.headers, 'host')])).toEqual([
            ['http://h:1/p?q', 'h:1'],
          ])
        },
      )

      it(
        title(
          'chunked-body leniencies (empty or space-padded size, no CRLF after data): 400 and close',
          'lenient-chunked',
        ),
        async () => {
          const { port, state } = await refusing()
          const head = 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
          const bodies = [
            '\r\nabc\r\n0\r\n\r\n',
            ' 3\r\nabc\r\n0\r\n\r\n',
            '3\r\nabcX\r\n0\r\n\r\n',
          ]
          const results = await Promise.all(
            bodies.map((b) =>
              exchange(port, head + b, has('lenient-chunked') ? { responses: 1 } : {}),
            ),
          )
          for (const { responses, closed } of results) {
            expect(responses).toHaveLength(1)
            if (has('lenient-chunked')) {
              expectWire(
                responses[0]?.raw,
                response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 2'], 'ok'),
              )
              continue
            }
            expectWire(responses[0]?.raw, refusal(400, 'Bad Request'))
            expect(closed).toBe(true)
          }
          expect(state.reached).toBe(has('lenient-chunked') ? 3 : 0)
        },
      )

      it(
        title('a Content-Length of 1,000,000,000 is over maxBodyLen: 413', 'huge-content-length'),
        async () => {
          const { port, state } = await refusing()
          const { responses, closed } = await exchange(
            port,
            'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n',
          )
          if (has('huge-content-length')) expect(responses).toEqual([])
          else {
            expect(responses).toHaveLength(1)
            expectWire(responses[0]?.raw, refusal(413, 'Content Too Large'))
          }
          expect(closed).toBe(true)
          expect(state.reached).toBe(0)
        },
      )
    })

    describe('closing answers', () => {
      it('a refusal given while the body still arrives reaches the peer whole, without a reset', async () => {
        const { transport, port } = await start({
          onRequest: (_req, res) => res.end(200, [], 'ok'),
          maxBodyLen: 1000,
        })
        for (let i = 0; i < 10; i++) {
          const chunked = i % 2 === 0
          // (uWebSockets.js drops a Content-Length of 1e9 or more by itself: stay under it.)
          const framing = chunked ? 'Transfer-Encoding: chunked' : 'Content-Length: 67108864'
          const pushed = await pushBody(port, `POST / HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n`, {
            chunked,
            pieces: 16,
          })
          expect(pushed.error).toBeNull()
          const { responses, used } = readResponses(Buffer.from(pushed.answer, 'latin1'))
          expect(responses).toHaveLength(1)
          expectWire(responses[0]?.raw, refusal(413, 'Content Too Large'))
          expect(used).toBe(pushed.answer.length)
        }
        await waitFor(() => transport.connections === 0, 5000, 'every connection closed')
      })

      it(
        title(
          'a peer that keeps its side open after a closing answer (a refused upload) is dropped',
          'connections',
        ),
        async () => {
          const { transport, port } = await start()
          // allowHalfOpen: this client does not close when the server does.
          const socket = connect(port, true)
          let answer = ''
          let error: string | null = null
          socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
          socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
          socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n')
          socket.write(Buffer.alloc(256 * 1024))
          await waitFor(() => answer.includes('\r\n\r\nContent Too Large\n'), 5000, 'the 413')
          expectWire(answer, refusal(413, 'Content Too Large'))
          // Still read (and dropped) for a grace period — or, where `connections` counts only
          // requests in flight, no longer counted.
          expect(transport.connections).toBe(has('connections') ? 0 : 1)
          // Dropped, not kept open for good: writing on fails at last.
          const until = Date.now() + 8000
          while (error === null && Date.now() < until) {
            socket.write(Buffer.alloc(1024))
            await sleep(100)
          }
          expect(error).toMatch(/^(EPIPE|ECONNRESET)$/)
          await waitFor(() => transport.connections === 0, 2000, 'the peer to be dropped')
        },
        15_000,
      )
    })

    describe('timeouts', () => {
      /** What a transport that does not apply the timeouts shows: no answer, still open. */
      const expectUntimed = (
        r: { responses: WireResponse[]; closed: boolean },
        answers = 0,
      ): void => {
        expect(r.responses).toHaveLength(answers)
        expect(r.closed).toBe(false)
      }

      it(
        title('408 and close when the head does not arrive within headersTimeout', 'timeouts'),
        async () => {
          const { port } = await start({ headersTimeout: 300 })
          const started = Date.now()
          const r = await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n', {
            timeout: has('timeouts') ? 1000 : 3000,
          })
          if (has('timeouts')) return expectUntimed(r)
          expect(r.responses).toHaveLength(1)
          expectWire(r.responses[0]?.raw, refusal(408, 'Request Timeout'))
          expect(r.closed).toBe(true)
          expect(Date.now() - started).toBeGreaterThanOrEqual(250)
        },
      )

      it(
        title('408 and close when the body stalls longer than headersTimeout', 'timeouts'),
        async () => {
          const { port } = await start({ headersTimeout: 300, requestTimeout: 10_000 })
          const r = await exchange(
            port,
            'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc',
            {
              timeout: has('timeouts') ? 1000 : 3000,
            },
          )
          if (has('timeouts')) return expectUntimed(r)
          expect(r.responses).toHaveLength(1)
          expectWire(r.responses[0]?.raw, refusal(408, 'Request Timeout'))
          expect(r.closed).toBe(true)
        },
      )

      it(
        title('408 and close when a trickling request outlasts requestTimeout', 'timeouts'),
        async () => {
          const { port } = await start({ headersTimeout: 400, requestTimeout: 700 })
          const started = Date.now()
          const pieces = ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n']
          for (let i = 0; i < 15; i++) pieces.push('a')
          const r = await exchange(port, '', {
            pieces,
            pieceDelay: 100,
            timeout: has('timeouts') ? 1200 : 3000,
          })
          if (has('timeouts')) return expectUntimed(r)
          expect(r.responses).toHaveLength(1)
          expectWire(r.responses[0]?.raw, refusal(408, 'Request Timeout'))
          expect(r.closed).toBe(true)
          // Each gap was shorter than headersTimeout: the whole request's limit did it.
          expect(Date.now() - started).toBeGreaterThanOrEqual(650)
        },
      )

      it(
        title('an idle keep-alive connection is closed after keepAliveTimeout', 'timeouts'),
        async () => {
          const { port, transport } = await start({ keepAliveTimeout: 300 })
          const started = Date.now()
          const r = await exchange(port, get('/'), { timeout: has('timeouts') ? 1000 : 3000 })
          if (has('timeouts')) return expectUntimed(r, 1)
          expect(r.responses).toHaveLength(1)
          expect(r.closed).toBe(true)
          expect(Date.now() - started).toBeGreaterThanOrEqual(250)
          await waitFor(() => transport.connections === 0, 2000, 'connection gone')
        },
      )

      it('a request whose handler is still working is not timed out', async () => {
        const { port } = await start({
          onRequest: (_req, res) => void setTimeout(() => res.end(200, [], 'late'), 900),
          headersTimeout: 200,
          keepAliveTimeout: 200,
        })
        const { responses } = await exchange(port, get('/'), { responses: 1, timeout: 3000 })
        expectWire(
          responses[0]?.raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 4'], 'late'),
        )
      })
    })

    describe('streamed responses', () => {
      it('chunked: the pieces as written, the last chunk; end() idempotent; later writes dropped; onClose(true) once', async () => {
        const closes: boolean[] = []
        const statuses: ContractSendStatus[] = []
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/next') return echoTarget(req, res)
            const stream = res.stream(200, ['Content-Type', 'text/plain'], {
              onClose: (complete) => closes.push(complete),
            })
            statuses.push(stream.write('hello '))
            setTimeout(() => {
              statuses.push(stream.write(Buffer.from('world')))
              stream.end()
              stream.end()
              statuses.push(stream.write('late'))
            }, 20)
          },
        })
        const c = client(port)
        expectWire(
          (await c.ask(get('/'))).raw,
          response(
            'HTTP/1.1 200 OK',
            ['Content-Type: text/plain', DATE, 'Transfer-Encoding: chunked'],
            '6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n',
          ),
        )
        expect(statuses.slice(0, 2).every((s) => s !== 'dropped')).toBe(true)
        expect(statuses[2]).toBe('dropped')
        // The connection is kept for the next request.
        expect((await c.ask(get('/next'))).body.toString()).toBe('/next')
        await sleep(20)
        expect(closes).toEqual([true])
      })

      it('HEAD gets the head a GET would (chunked), no body; the stream is over at once, onClose(true) not from inside stream()', async () => {
        const closes: boolean[] = []
        const seen: [ContractSendStatus, boolean, number][] = []
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/next') return echoTarget(req, res)
            const stream = res.stream(200, ['Content-Type', 'text/plain'], {
              onClose: (complete) => closes.push(complete),
            })
            seen.push([stream.write('x'), stream.closed, closes.length])
            stream.end()
          },
        })
        const c = client(port)
        expectWire(
          (await c.ask('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n', true)).raw,
          response('HTTP/1.1 200 OK', [
            'Content-Type: text/plain',
            DATE,
            'Transfer-Encoding: chunked',
          ]),
        )
        expect((await c.ask(get('/next'))).body.toString()).toBe('/next')
        expect(seen).toEqual([['dropped', true, 0]])
        expect(closes).toEqual([true])
      })

      it('204 and 304 get the head alone, no Content-Length; the stream is over at once', async () => {
        const closes: boolean[] = []
        const writes: ContractSendStatus[] = []
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/next') return echoTarget(req, res)
            const status = Number(req.target.slice(1))
            const stream = res.stream(status, ['X-A', '1'], {
              onClose: (complete) => closes.push(complete),
            })
            writes.push(stream.write('x'))
            stream.end()
          },
        })
        const c = client(port)
        expectWire(
          (await c.ask(get('/204'))).raw,
          response('HTTP/1.1 204 No Content', ['X-A: 1', DATE]),
        )
        expectWire(
          (await c.ask(get('/304'))).raw,
          response('HTTP/1.1 304 Not Modified', ['X-A: 1', DATE]),
        )
        expect((await c.ask(get('/next'))).body.toString()).toBe('/next')
        expect(writes).toEqual(['dropped', 'dropped'])
        expect(closes).toEqual([true, true])
      })

      it(
        title(
          'pipelined: pieces given before the stream reaches the front wait (buffered), then follow in order; later answers wait for its end',
          'pipelining',
        ),
        async () => {
          const statuses: string[] = []
          const closes: boolean[] = []
          let slow: ContractResponseWriter | null = null
          const { port } = await start({
            onRequest(req, res) {
              if (req.target === '/slow') {
                slow = res
                return
              }
              if (req.target === '/stream') {
                const stream = res.stream(200, ['Content-Type', 'text/plain'], {
                  onClose: (complete) => closes.push(complete),
                })
                statuses.push(stream.write('a'), stream.write(Buffer.from('bc')))
                statuses.push(`bufferedAmount ${stream.bufferedAmount}`)
                stream.end()
                stream.end()
                statuses.push(stream.write('late'))
                // Only now does the earlier response go out.
                setTimeout(() => slow?.end(200, [], 'slow'), 50)
                return
              }
              echoTarget(req, res)
            },
          })
          const bytes = get('/slow') + get('/stream') + get('/after')
          if (has('pipelining')) {
            const { responses, closed } = await exchange(port, bytes, { timeout: 1000 })
            expect([responses, closed]).toEqual([[], true])
            return
          }
          const { responses } = await exchange(port, bytes, { responses: 3 })
          expect(responses.map((r) => r.body.toString())).toEqual(['slow', 'abc', '/after'])
          expectWire(
            responses[1]?.raw,
            response(
              'HTTP/1.1 200 OK',
              ['Content-Type: text/plain', DATE, 'Transfer-Encoding: chunked'],
              '1\r\na\r\n2\r\nbc\r\n0\r\n\r\n',
            ),
          )
          expect(statuses).toEqual(['buffered', 'buffered', 'bufferedAmount 3', 'dropped'])
          await waitFor(() => closes.length === 1)
          expect(closes).toEqual([true])
        },
      )

      it('backpressure: write says buffered, bufferedAmount grows, onDrain when taken; abort() drops the connection, onClose(false) once', async () => {
        const events: string[] = []
        let stream: ContractStream | null = null
        const { port } = await start({
          onRequest(_req, res) {
            stream = res.stream(200, [], {
              onDrain: () => events.push('drain'),
              onClose: (complete) => events.push(`close ${complete}`),
            })
          },
        })
        const socket = connect(port)
        socket.pause()
        socket.write(get('/'))
        await waitFor(() => stream !== null)
        const s = stream as unknown as ContractStream
        let status: ContractSendStatus = 'sent'
        for (let i = 0; i < 64 && status === 'sent'; i++) status = s.write(Buffer.alloc(256 * 1024))
        expect(status).toBe('buffered')
        expect(s.bufferedAmount).toBeGreaterThan(0)
        socket.resume()
        await waitFor(() => events.includes('drain'), 5000, 'drain')
        const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
        s.abort()
        await closed
        await waitFor(() => events.some((e) => e.startsWith('close')))
        s.abort()
        expect(s.write('x')).toBe('dropped')
        expect(s.closed).toBe(true)
        await sleep(20)
        expect(events.filter((e) => e.startsWith('close'))).toEqual(['close false'])
      })

      it('abort() right after a piece: the connection drops, onClose(false) once, later writes dropped', async () => {
        const closes: boolean[] = []
        let stream: ContractStream | null = null
        const { port } = await start({
          onRequest(_req, res) {
            stream = res.stream(200, [], { onClose: (complete) => closes.push(complete) })
            stream.write('partial')
          },
        })
        const socket = connect(port)
        const closed = collect(socket)
        socket.write(get('/'))
        await waitFor(() => stream !== null)
        const s = stream as unknown as ContractStream
        s.abort()
        expect((await closed).closed).toBe(true)
        await sleep(20)
        expect(closes).toEqual([false])
        expect(s.write('x')).toBe('dropped')
      })

      it(
        title('the head is sent at once, before any piece', 'stream-head-with-first-piece'),
        async () => {
          const { port } = await start({
            onRequest(_req, res) {
              const stream = res.stream(200, [], { onClose: () => {} })
              setTimeout(() => {
                stream.write('x')
                stream.end()
              }, 300)
            },
          })
          const c = client(port)
          c.socket.write(get('/'))
          await sleep(100)
          const early = c.pending()
          if (has('stream-head-with-first-piece')) expect(early).not.toContain('\r\n\r\n')
          else expectWire(early, response('HTTP/1.1 200 OK', [DATE, 'Transfer-Encoding: chunked']))
          expectWire(
            (await c.next()).raw,
            response(
              'HTTP/1.1 200 OK',
              [DATE, 'Transfer-Encoding: chunked'],
              '1\r\nx\r\n0\r\n\r\n',
            ),
          )
        },
      )

      it(
        title(
          'stream(…, close): Connection: close in the head, the last chunk, then the connection is closed',
          'stream-close-left-to-peer',
        ),
        async () => {
          const closes: boolean[] = []
          const { port } = await start({
            onRequest(_req, res) {
              const stream = res.stream(200, [], { onClose: (c) => closes.push(c) }, true)
              stream.write('abc')
              setTimeout(() => stream.end(), 10)
            },
          })
          const leftToPeer = has('stream-close-left-to-peer')
          const { responses, closed, rest } = await exchange(port, get('/'), {
            timeout: leftToPeer ? 400 : 3000,
          })
          expectWire(
            responses[0]?.raw,
            response(
              'HTTP/1.1 200 OK',
              [DATE, 'Transfer-Encoding: chunked', 'Connection: close'],
              '3\r\nabc\r\n0\r\n\r\n',
            ),
          )
          expect(rest.length).toBe(0)
          expect(closed).toBe(!leftToPeer)
          expect(closes).toEqual([true])
        },
      )

      it(title('HTTP/1.0: the body ends by closing the connection', 'http10'), async () => {
        const { port } = await start({
          onRequest(_req, res) {
            const stream = res.stream(200, [], { onClose: () => {} })
            stream.write('ten bytes!')
            setTimeout(() => stream.end(), 10)
          },
        })
        const r = await rawExchange(port, 'GET / HTTP/1.0\r\n\r\n', {
          timeout: has('http10') ? 300 : 3000,
        })
        if (has('http10')) {
          expect([r.data.length, r.closed]).toEqual([0, false])
          return
        }
        expectWire(r.data, response('HTTP/1.1 200 OK', [DATE, 'Connection: close'], 'ten bytes!'))
        expect(r.closed).toBe(true)
      })

      it('hold(): pieces written in one callback are held (buffered), then arrive whole and in order; onDrain follows', async () => {
        const statuses: ContractSendStatus[] = []
        let buffered = -1
        let drains = 0
        const closes: boolean[] = []
        const { port } = await start({
          onRequest(_req, res) {
            const stream = res.stream(200, [], {
              onDrain: () => drains++,
              onClose: (c) => closes.push(c),
            })
            setTimeout(() => {
              stream.hold()
              statuses.push(stream.write('a'), stream.write('b'), stream.write('c'))
              buffered = stream.bufferedAmount
              setTimeout(() => stream.end(), 30)
            }, 10)
          },
        })
        const { responses } = await exchange(port, get('/'), { responses: 1 })
        expect(responses[0]?.body.toString()).toBe('abc')
        expect(statuses).toEqual(['buffered', 'buffered', 'buffered'])
        expect(buffered).toBeGreaterThanOrEqual(3)
        expect(drains).toBeGreaterThanOrEqual(1)
        await sleep(20)
        expect(closes).toEqual([true])
      })

      it('a stream that ends while the transport closes is still well-formed, with Connection: close, then closed', async () => {
        let started = false
        const { port, transport } = await start({
          onRequest(_req, res) {
            started = true
            setTimeout(() => {
              const stream = res.stream(200, [], { onClose: () => {} })
              stream.write('hello ')
              setTimeout(() => {
                stream.write('world')
                stream.end()
              }, 20)
            }, 50)
          },
        })
        const answer = exchange(port, get('/'), { timeout: 5000 })
        await waitFor(() => started)
        await transport.close()
        const { responses, closed, rest } = await answer
        expectWire(
          responses[0]?.raw,
          response(
            'HTTP/1.1 200 OK',
            [DATE, 'Transfer-Encoding: chunked', 'Connection: close'],
            '6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n',
          ),
        )
        expect(rest.length).toBe(0)
        expect(closed).toBe(true)
      })

      it('a peer that closes its side during a stream ends it: onClose(false)', async () => {
        const closes: boolean[] = []
        const { port } = await start({
          onRequest(_req, res) {
            const stream = res.stream(200, [], { onClose: (c) => closes.push(c) })
            stream.write('x')
          },
        })
        const socket = connect(port, true)
        const result = collect(socket)
        socket.write(get('/'))
        await sleep(100)
        socket.end()
        expect((await result).closed).toBe(true)
        await waitFor(() => closes.length > 0)
        await sleep(20)
        expect(closes).toEqual([false])
      })
    })

    describe('streamed responses of a known length', () => {
      /** Writes `body` in `piece`-sized writes, waiting for drain when told `buffered`. */
      async function pipe(
        stream: ContractStream,
        body: Buffer,
        piece: number,
        drained: () => Promise<void>,
      ): Promise<void> {
        for (let at = 0; at < body.length; at += piece) {
          const status = stream.write(body.subarray(at, at + piece))
          if (status === 'dropped') return
          if (status === 'buffered' && stream.bufferedAmount > 1024 * 1024) await drained()
        }
        stream.end()
      }

      it('Content-Length, no chunking, the exact bytes; the connection is kept for the next request', async () => {
        const closes: boolean[] = []
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/next') return res.end(200, [], 'next')
            const stream = res.stream(
              200,
              ['Content-Type', 'text/plain'],
              { onClose: (c) => closes.push(c) },
              false,
              11,
            )
            stream.write('hello ')
            setTimeout(() => {
              stream.write('world')
              stream.end()
            }, 10)
          },
        })
        // (One after the other: a transport may close a connection that pipelines behind a
        // pending answer — deviation `pipelining`.)
        const c = client(port)
        expectWire(
          (await c.ask(get('/'))).raw,
          response(
            'HTTP/1.1 200 OK',
            ['Content-Type: text/plain', DATE, 'Content-Length: 11'],
            'hello world',
          ),
        )
        expectWire(
          (await c.ask(get('/next'))).raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 4'], 'next'),
        )
        await sleep(20)
        expect(closes).toEqual([true])
      })

      it('a slow reader: 24 MiB in 64 KiB writes arrive whole; bufferedAmount and onDrain pace the writer', async () => {
        const body = randomBytes(24 * 1024 * 1024)
        let maxBuffered = 0
        const { port } = await start({
          onRequest(_req, res) {
            let wake: (() => void) | null = null
            const stream = res.stream(
              200,
              [],
              { onDrain: () => wake?.(), onClose: () => wake?.() },
              false,
              body.length,
            )
            const drained = (): Promise<void> =>
              new Promise<void>((resolve) => {
                maxBuffered = Math.max(maxBuffered, stream.bufferedAmount)
                wake = resolve
              })
            void pipe(stream, body, 64 * 1024, drained)
          },
        })
        const socket = connect(port)
        const parts: Buffer[] = []
        socket.on('data', (d: Buffer) => {
          parts.push(d)
          // Read slowly: pause a little now and then.
          if (parts.length % 16 === 0) {
            socket.pause()
            setTimeout(() => socket.resume(), 5)
          }
        })
        socket.write(get('/'))
        await waitFor(
          () => readResponses(Buffer.concat(parts)).responses.length === 1,
          30_000,
          'the whole body',
        )
        const { responses } = readResponses(Buffer.concat(parts))
        expect(responses[0]!.headers['content-length']).toBe(String(body.length))
        expect(responses[0]!.headers['transfer-encoding']).toBeUndefined()
        expect(sha(responses[0]!.body)).toBe(sha(body))
        // The writer was held back rather than queueing the whole body.
        expect(maxBuffered).toBeLessThan(8 * 1024 * 1024)
      }, 40_000)

      it('HEAD gets the Content-Length a GET would, and no body; the connection is kept', async () => {
        const writes: ContractSendStatus[] = []
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/next') return res.end(200, [], 'next')
            const stream = res.stream(200, [], { onClose: () => {} }, false, 1234)
            writes.push(stream.write('x'))
            stream.end()
          },
        })
        const { responses, closed } = await exchange(
          port,
          'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n' + get('/next'),
          { responses: 2, head: [true, false], timeout: 3000 },
        )
        expectWire(responses[0]?.raw, response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 1234']))
        expect(responses[1]?.body.toString()).toBe('next')
        expect(writes).toEqual(['dropped'])
        expect(closed).toBe(false)
      })

      it('bytes past the length are dropped (write says so); the response stays well-framed', async () => {
        const statuses: ContractSendStatus[] = []
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/next') return res.end(200, [], 'next')
            const stream = res.stream(200, [], { onClose: () => {} }, false, 5)
            statuses.push(stream.write('abc'), stream.write('defgh'), stream.write('more'))
            stream.end()
          },
        })
        const { responses } = await exchange(port, get('/') + get('/next'), {
          responses: 2,
          timeout: 3000,
        })
        expectWire(
          responses[0]?.raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 5'], 'abcde'),
        )
        expect(responses[1]?.body.toString()).toBe('next')
        expect(statuses[0]).not.toBe('dropped')
        expect(statuses.slice(1)).toEqual(['dropped', 'dropped'])
      })

      it('a stream that ends short of its length closes the connection (the client sees it truncated)', async () => {
        const closes: boolean[] = []
        const { port } = await start({
          onRequest(_req, res) {
            const stream = res.stream(200, [], { onClose: (c) => closes.push(c) }, false, 100)
            stream.write('only ten b')
            setTimeout(() => stream.end(), 10)
          },
        })
        const socket = connect(port)
        const result = collect(socket)
        socket.write(get('/'))
        const { data, closed } = await result
        expect(closed).toBe(true)
        expectWire(data, response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 100'], 'only ten b'))
        await sleep(20)
        expect(closes).toHaveLength(1)
      })

      it('length 0: an empty body, and the connection kept', async () => {
        const { port } = await start({
          onRequest(req, res) {
            if (req.target === '/next') return res.end(200, [], 'next')
            res.stream(200, [], { onClose: () => {} }, false, 0).end()
          },
        })
        const { responses, closed } = await exchange(port, get('/') + get('/next'), {
          responses: 2,
          timeout: 3000,
        })
        expectWire(responses[0]?.raw, response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 0']))
        expect(responses[1]?.body.toString()).toBe('next')
        expect(closed).toBe(false)
      })
    })

    describe('request bodies to a sink (onBodyStart)', () => {
      /** A transport whose sinks log what they get; `/collect` gets none. */
      async function sinking(o: Partial<ContractOptions> = {}) {
        const log: string[] = []
        const heads: ContractBodyHead[] = []
        const sinks: ContractBodySink[] = []
        const requests: ContractRequest[] = []
        const started = await start({
          onBodyStart(head, res, control) {
            heads.push(head)
            log.push('start')
            if (head.target === '/collect') return null
            if (head.target === '/early') res.end(403, ['Content-Type', 'text/plain'], 'nope')
            let writes = 0
            const sink: ContractBodySink = {
              write(chunk) {
                log.push(`write ${chunk.toString('latin1')}`)
                if (head.target === '/pause' && writes++ === 0) {
                  control.pause()
                  setTimeout(() => {
                    log.push('resume')
                    control.resume()
                  }, 300)
                }
              },
              end: () => log.push('end'),
              abort: () => log.push('abort'),
            }
            sinks.push(sink)
            return sink
          },
          onRequest(req, res) {
            requests.push(req)
            log.push(`request ${req.body.length}`)
            res.end(200, [], 'ok')
          },
          ...o,
        })
        /** The log with consecutive writes joined (a transport may cut the body differently). */
        const joined = (): string[] =>
          log.reduce<string[]>((out, entry) => {
            const last = out[out.length - 1]
            if (entry.startsWith('write ') && last?.startsWith('write '))
              out[out.length - 1] = last + entry.slice(6)
            else out.push(entry)
            return out
          }, [])
        return { ...started, log, joined, heads, sinks, requests }
      }
      const OK = response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 2'], 'ok')

      it('the head (declared length, -1 for chunked), then the body de-chunked, end(), then onRequest with request.sink and no body', async () => {
        const s = await sinking()
        const fixed = await exchange(s.port, '', {
          pieces: ['POST /cl HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello', 'world'],
          pieceDelay: 30,
          responses: 1,
        })
        expectWire(fixed.responses[0]?.raw, OK)
        const chunked = await exchange(
          s.port,
          'POST /ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n',
          { responses: 1 },
        )
        expectWire(chunked.responses[0]?.raw, OK)
        expect(s.joined()).toEqual([
          'start',
          'write helloworld',
          'end',
          'request 0',
          'start',
          'write abcde',
          'end',
          'request 0',
        ])
        expect(
          s.heads.map((h) => [
            h.method,
            h.target,
            h.versionMinor,
            h.remoteAddress,
            h.contentLength,
          ]),
        ).toEqual([
          ['POST', '/cl', 1, '127.0.0.1', 10],
          ['POST', '/ch', 1, '127.0.0.1', -1],
        ])
        expect(headerOf(s.heads[0]?.headers ?? [], 'content-length')).toBe('10')
        expect(s.requests.map((r) => r.sink)).toEqual(s.sinks)
      })

      it('onBodyStart returning null: the body is collected into request.body as usual', async () => {
        const s = await sinking()
        const { responses } = await exchange(
          s.port,
          'POST /collect HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz',
          { responses: 1 },
        )
        expectWire(responses[0]?.raw, OK)
        expect(s.log).toEqual(['start', 'request 3'])
        expect(s.requests[0]?.body.toString()).toBe('xyz')
        expect(s.requests[0]?.sink).toBeUndefined()
      })

      it('the limit is maxStreamedBodyLen, not maxBodyLen: 413 and close past it (declared or streamed); a sink that took part is aborted', async () => {
        const s = await sinking({ maxBodyLen: 10, maxStreamedBodyLen: 100 })
        const accepted = await exchange(
          s.port,
          `POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n${'a'.repeat(50)}`,
          { responses: 1 },
        )
        expectWire(accepted.responses[0]?.raw, OK)
        const collected = await exchange(
          s.port,
          `POST /collect HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n${'a'.repeat(50)}`,
        )
        expectWire(collected.responses[0]?.raw, refusal(413, 'Content Too Large'))
        expect(collected.closed).toBe(true)
        const declared = await exchange(
          s.port,
          'POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n',
        )
        expectWire(declared.responses[0]?.raw, refusal(413, 'Content Too Large'))
        expect(declared.closed).toBe(true)
        s.log.length = 0
        const streamed = await exchange(s.port, '', {
          pieces: [
            `POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n32\r\n${'b'.repeat(50)}\r\n`,
            `3c\r\n${'c'.repeat(60)}\r\n0\r\n\r\n`,
          ],
          pieceDelay: 30,
        })
        expectWire(streamed.responses[0]?.raw, refusal(413, 'Content Too Large'))
        expect(streamed.closed).toBe(true)
        expect(s.joined()).toEqual(['start', `write ${'b'.repeat(50)}`, 'abort'])
      })

      it('pause() stops reading the body until resume()', async () => {
        const s = await sinking()
        const { responses } = await exchange(s.port, '', {
          pieces: ['POST /pause HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nab', 'cd', 'ef'],
          pieceDelay: 50,
          responses: 1,
        })
        expectWire(responses[0]?.raw, OK)
        expect(s.joined()).toEqual([
          'start',
          'write ab',
          'resume',
          'write cdef',
          'end',
          'request 0',
        ])
      })

      it('an early answer from onBodyStart: written as given; the body is ignored, onRequest never called', async () => {
        const s = await sinking()
        const { responses } = await exchange(
          s.port,
          'POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz',
          { responses: 1 },
        )
        expectWire(
          responses[0]?.raw,
          response(
            'HTTP/1.1 403 Forbidden',
            ['Content-Type: text/plain', DATE, 'Content-Length: 4'],
            'nope',
          ),
        )
        await sleep(50)
        expect(s.log).toEqual(['start'])
      })

      it('a client that leaves in the middle of the body: abort(), and onRequest is never called', async () => {
        const s = await sinking()
        const socket = connect(s.port)
        socket.write('POST /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc')
        await waitFor(() => s.log.length >= 2)
        socket.destroy()
        await waitFor(() => s.log.includes('abort'), 2000, 'abort')
        await sleep(20)
        expect(s.log).toEqual(['start', 'write abc', 'abort'])
      })
    })

    describe('WebSockets', () => {
      interface WsState {
        transport: ContractTransport
        port: number
        /** Server-side connections by id. */
        sockets: Map<number, ContractWebSocket>
        log: (string | number)[][]
        /** Ids of the connections `onDrain` was called for, once per call. */
        drained: number[]
      }

      /**
       * A transport that accepts every upgrade (id from the path, `/7` → 7), logs the events and
       * echoes text and binary messages (unless `onMessage` is given).
       */
      async function webSockets(
        o: {
          onMessage?: (ws: ContractWebSocket, kind: ContractInboundKind, data: Buffer) => void
          settings?: Partial<ContractWebSocketSettings>
          afterUpgrade?: (ws: ContractWebSocket | null, log: (string | number)[][]) => void
        } = {},
      ): Promise<WsState> {
        const settings = { ...WS_SETTINGS, ...o.settings }
        const sockets = new Map<number, ContractWebSocket>()
        const log: (string | number)[][] = []
        const drained: number[] = []
        const events: ContractWebSocketEvents = {
          onDrain: (ws) => void drained.push(ws.id),
          onOpen(ws) {
            sockets.set(ws.id, ws)
            log.push(['open', ws.id])
          },
          onMessage(ws, kind, data) {
            log.push(['message', ws.id, kind, data.toString('latin1')])
            if (o.onMessage !== undefined) o.onMessage(ws, kind, data)
            else if (kind === 'text' || kind === 'binary') ws.send(kind, data)
          },
          onError: (ws, code, _message, closeCode) => log.push(['error', ws.id, code, closeCode]),
          onClose: (ws, code) => log.push(['close', ws.id, code]),
        }
        const started = await start({
          websocket: {
            maxMessageLen: settings.maxMessageLen,
            idleTimeout: settings.idleTimeout,
            maxBackpressure: settings.maxBackpressure,
            backpressurePolicy: settings.backpressurePolicy,
          },
          onRequest(req, res) {
            if (req.target === '/refuse') return res.end(403, ['Content-Type', 'text/plain'], 'no')
            if (!req.upgrade) return echoTarget(req, res)
            const ws = res.upgrade(
              switchingProtocols(req),
              Number(req.target.slice(1)),
              settings,
              events,
            )
            o.afterUpgrade?.(ws, log)
          },
        })
        return { ...started, sockets, log, drained }
      }

      it(
        title(
          'upgrade: the 101 as given, then frames; text and binary echoed',
          'extra-response-headers',
        ),
        async () => {
          const s = await webSockets()
          const client = await ws(s.port, '/1')
          // (rawWebSocket checked the accept value against its key.)
          const accept = /\r\nSec-WebSocket-Accept: (\S+)\r\n/.exec(client.head)?.[1] ?? ''
          const given = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`
          if (has('extra-response-headers')) {
            // uWebSockets.js writes its own 101: the same lines, plus a Date and its header.
            expectWire(client.head, given.replace('\r\n\r\n', `\r\n${DATE}\r\n\r\n`))
          } else expect(client.head).toBe(given)
          client.send(1, Buffer.from('hello'))
          client.send(2, Buffer.from([0, 1, 255]))
          await waitFor(() => client.frames.length === 2)
          expect(framesOf(client)).toEqual([
            [1, 'hello'],
            [2, '\u0000\u0001\u00ff'],
          ])
          expect(client.frames.every((f) => f.fin && !f.rsv1)).toBe(true)
          expect(s.log).toEqual([
            ['open', 1],
            ['message', 1, 'text', 'hello'],
            ['message', 1, 'binary', '\u0000\u0001\u00ff'],
          ])
          expect(s.transport.connections).toBe(1)
        },
      )

      it('upgrade refused with end(): the answer, Connection: close, then closed', async () => {
        const s = await webSockets()
        const { responses, closed } = await exchange(s.port, UPGRADE_REQUEST('/refuse'))
        expectWire(
          responses[0]?.raw,
          response(
            'HTTP/1.1 403 Forbidden',
            ['Content-Type: text/plain', DATE, 'Content-Length: 2', 'Connection: close'],
            'no',
          ),
        )
        expect(closed).toBe(true)
        expect(s.log).toEqual([])
      })

      it('upgrade() on a request that did not ask to upgrade returns null; the request can still be answered', async () => {
        const results: (ContractWebSocket | null)[] = []
        const { port } = await start({
          onRequest(req, res) {
            results.push(
              res.upgrade(switchingProtocols(req), 1, WS_SETTINGS, {
                onOpen: () => {},
                onMessage: () => {},
                onError: () => {},
                onClose: () => {},
              }),
            )
            res.end(200, [], 'plain')
          },
        })
        const { responses } = await exchange(port, get('/'), { responses: 1 })
        expectWire(
          responses[0]?.raw,
          response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 5'], 'plain'),
        )
        expect(results).toEqual([null])
      })

      it('a send right after upgrade() is the first frame after the 101', async () => {
        const s = await webSockets({
          afterUpgrade: (socket, log) =>
            log.push(['early', socket?.send('text', Buffer.from('early')) ?? 'null']),
        })
        const client = await ws(s.port, '/1')
        await waitFor(() => client.frames.length === 1)
        expect(framesOf(client)).toEqual([[1, 'early']])
        expect(s.log.find((e) => e[0] === 'early')?.[1]).not.toBe('dropped')
      })

      it(
        title(
          'sends given while the 101 waits behind an earlier answer are kept, in order, after it',
          'pipelining',
        ),
        async () => {
          let slow: ContractResponseWriter | null = null
          const statuses: string[] = []
          const { port } = await start({
            websocket: { maxMessageLen: 1024, idleTimeout: 0 },
            onRequest(req, res) {
              if (req.target === '/slow') {
                slow = res
                return
              }
              const socket = res.upgrade(switchingProtocols(req), 1, WS_SETTINGS, {
                onOpen: () => {},
                onMessage: () => {},
                onError: () => {},
                onClose: () => {},
              })
              statuses.push(socket?.send('text', Buffer.from('one')) ?? 'null')
              statuses.push(socket?.send('binary', Buffer.from('two')) ?? 'null')
              setTimeout(() => slow?.end(200, [], 'slow'), 50)
            },
          })
          const bytes = get('/slow') + UPGRADE_REQUEST('/ws')
          if (has('pipelining')) {
            const { responses, closed } = await exchange(port, bytes, { timeout: 1000 })
            expect([responses, closed]).toEqual([[], true])
            return
          }
          const r = await rawExchange(port, bytes, { timeout: 500 })
          const text = r.data.toString('latin1')
          const [first] = readResponses(r.data).responses
          expect(first?.body.toString()).toBe('slow')
          const rest = text.slice(first?.raw.length ?? 0)
          expect(rest.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true)
          expect(rest.slice(rest.indexOf('\r\n\r\n') + 4)).toBe('\x81\x03one\x82\x03two')
          expect(statuses).toEqual(['buffered', 'buffered'])
        },
      )

      it('the close handshake from the peer: our close frame with its code, TCP closed, onClose(code, reason) once', async () => {
        const closes: [number, string][] = []
        const started = await start({
          websocket: { maxMessageLen: 1024, idleTimeout: 0 },
          onRequest(req, res) {
            res.upgrade(switchingProtocols(req), 1, WS_SETTINGS, {
              onOpen: () => {},
              onMessage: () => {},
              onError: () => {},
              onClose: (_ws, code, reason) => closes.push([code, reason]),
            })
          },
        })
        const client = await ws(started.port, '/1')
        client.send(8, closePayload(1000, 'bye'))
        await client.closed
        expect(framesOf(client).map((f) => f.slice(0, 2))).toEqual([[8, 1000]])
        await waitFor(() => closes.length === 1)
        await sleep(20)
        expect(closes).toEqual([[1000, 'bye']])
      })

      it('close(code, reason): the peer gets that close frame; once it answers the connection ends, onClose once', async () => {
        const s = await webSockets({
          onMessage: (socket) => socket.close(4000, 'done'),
        })
        const client = await ws(s.port, '/1')
        client.send(1, Buffer.from('close me'))
        await waitFor(() => client.frames.length === 1)
        expect(framesOf(client)).toEqual([[8, 4000, 'done']])
        client.send(8, closePayload(4000))
        await client.closed
        await waitFor(() => s.log.some((e) => e[0] === 'close'))
        await sleep(20)
        expect(s.log.filter((e) => e[0] === 'close')).toEqual([['close', 1, 4000]])
        const socket = s.sockets.get(1)
        expect(socket?.closed).toBe(true)
        expect(socket?.send('text', Buffer.from('x'))).toBe('dropped')
      })

      it('terminate(): dropped without a close frame; onClose(1006) once; later sends dropped', async () => {
        const s = await webSockets({ onMessage: (socket) => socket.terminate() })
        const client = await ws(s.port, '/1')
        client.send(1, Buffer.from('go'))
        await client.closed
        expect(client.frames).toEqual([])
        await waitFor(() => s.log.some((e) => e[0] === 'close'))
        await sleep(20)
        expect(s.log.filter((e) => e[0] === 'close')).toEqual([['close', 1, 1006]])
        expect(s.sockets.get(1)?.send('text', Buffer.from('x'))).toBe('dropped')
      })

      it('a peer that drops TCP: onClose(1006) once; the connection is no longer counted', async () => {
        const s = await webSockets()
        const client = await ws(s.port, '/1')
        await waitFor(() => s.sockets.has(1))
        client.socket.destroy()
        await waitFor(() => s.log.some((e) => e[0] === 'close'))
        await sleep(20)
        expect(s.log).toEqual([
          ['open', 1],
          ['close', 1, 1006],
        ])
        expect(s.sockets.get(1)?.closed).toBe(true)
        await waitFor(() => s.transport.connections === 0)
      })

      it(
        title(
          'topics: subscribe (false when already), publish to every subscriber but `except`, unsubscribe (false when not)',
        ),
        async () => {
          const s = await webSockets({ onMessage: () => {} })
          const [a, b, c] = await Promise.all([
            ws(s.port, '/1'),
            ws(s.port, '/2'),
            ws(s.port, '/3'),
          ])
          await waitFor(() => s.sockets.size === 3)
          const [wa, wb, wc] = [1, 2, 3].map((id) => s.sockets.get(id)!)
          const t = s.transport
          expect(t.publish('room', 'text', Buffer.from('nobody'))).toBe(0)
          expect([t.subscribe(wa!, 'room'), t.subscribe(wb!, 'room')]).toEqual([true, true])
          expect(t.subscribe(wa!, 'room')).toBe(false)
          expect(t.publish('room', 'text', Buffer.from('from a'), wa)).toBe(1)
          expect(t.publish('room', 'binary', Buffer.from('to all'), wc)).toBe(2)
          // (An unsubscribe in the same IO turn as a publish: see the next test.)
          await waitFor(() => b!.frames.length === 2)
          expect([t.unsubscribe(wb!, 'room'), t.unsubscribe(wb!, 'room')]).toEqual([true, false])
          expect(t.unsubscribe(wc!, 'room')).toBe(false)
          expect(t.publish('room', 'text', Buffer.from('after'))).toBe(1)
          await waitFor(() => a!.frames.length === 2 && b!.frames.length === 2)
          await sleep(50)
          expect(framesOf(a!)).toEqual([
            [2, 'to all'],
            [1, 'after'],
          ])
          expect(framesOf(b!)).toEqual([
            [1, 'from a'],
            [2, 'to all'],
          ])
          expect(framesOf(c!)).toEqual([])
        },
      )

      it(
        title(
          'a message published before an unsubscribe in the same IO turn still reaches the subscriber',
          'unsubscribe-drops-published',
        ),
        async () => {
          const s = await webSockets({ onMessage: () => {} })
          const client = await ws(s.port, '/1')
          await waitFor(() => s.sockets.has(1))
          const socket = s.sockets.get(1)!
          const t = s.transport
          expect(t.subscribe(socket, 'room')).toBe(true)
          expect(t.publish('room', 'text', Buffer.from('one'))).toBe(1)
          expect(t.unsubscribe(socket, 'room')).toBe(true)
          // A later message, to know when everything before it has arrived.
          socket.send('text', Buffer.from('marker'))
          await waitFor(() => client.frames.some((f) => f.payload.toString() === 'marker'))
          expect(framesOf(client)).toEqual(
            has('unsubscribe-drops-published')
              ? [[1, 'marker']]
              : [
                  [1, 'one'],
                  [1, 'marker'],
                ],
          )
        },
      )

      /** Sends 64 KiB messages to a peer that does not read until one is refused or it closes. */
      async function flood(policy: 'close' | 'drop') {
        const s = await webSockets({
          settings: {
            maxMessageLen: 1024 * 1024,
            maxBackpressure: 256 * 1024,
            backpressurePolicy: policy,
          },
        })
        const client = await ws(s.port, '/1')
        client.socket.pause()
        await waitFor(() => s.sockets.has(1))
        const socket = s.sockets.get(1)!
        const statuses: ContractSendStatus[] = []
        let bufferedAtRefusal = -1
        // (Until a few are refused: the kernel's buffers take some MiB first.)
        let refused = 0
        for (let i = 0; i < 400 && refused < 3 && !socket.closed; i++) {
          const status = socket.send('binary', Buffer.alloc(64 * 1024, i % 256))
          if (status === 'dropped') refused++
          if (status === 'dropped' && bufferedAtRefusal < 0)
            bufferedAtRefusal = socket.bufferedAmount
          statuses.push(status)
        }
        return { s, client, socket, statuses, bufferedAtRefusal }
      }

      it('backpressure, `drop` policy: sends are sent, then buffered, then refused past maxBackpressure; onDrain once taken', async () => {
        const { s, client, socket, statuses, bufferedAtRefusal } = await flood('drop')
        const kept = statuses.filter((x) => x !== 'dropped').length
        // In that order: sent, buffered, dropped.
        const rank = { sent: 0, buffered: 1, dropped: 2 }
        expect(statuses.every((x, i) => i === 0 || rank[statuses[i - 1]!] <= rank[x])).toBe(true)
        expect(statuses).toContain('buffered')
        expect(statuses).toContain('dropped')
        // Refused only near the limit: what waits plus the message would pass it.
        expect(bufferedAtRefusal + 64 * 1024).toBeGreaterThan(256 * 1024)
        client.socket.resume()
        await waitFor(() => client.frames.length === kept, 5000, 'the kept messages')
        await waitFor(() => socket.bufferedAmount === 0, 2000, 'drained')
        await waitFor(() => s.drained.length > 0, 2000, 'onDrain')
        expect(new Set(s.drained)).toEqual(new Set([1]))
        expect(
          client.frames.every(
            (f, i) => f.opcode === 2 && f.payload.length === 64 * 1024 && f.payload[0] === i % 256,
          ),
        ).toBe(true)
        expect(socket.closed).toBe(false)
        await sleep(50)
        expect(client.frames).toHaveLength(kept)
        expect(s.log.filter((e) => e[0] === 'close')).toEqual([])
      })

      it(
        title(
          'backpressure, `close` policy: past maxBackpressure the connection is closed with 1008',
          'backpressure-close-drops',
        ),
        async () => {
          const { s, client, statuses } = await flood('close')
          expect(statuses).toContain('buffered')
          client.socket.resume()
          if (has('backpressure-close-drops')) {
            await client.closed
            expect(client.frames.some((f) => f.opcode === 8)).toBe(false)
            await waitFor(() => s.log.some((e) => e[0] === 'close'))
            expect(s.log.filter((e) => e[0] === 'close')).toEqual([['close', 1, 1006]])
            return
          }
          await waitFor(() => client.closeCode() !== null, 5000, 'the close frame')
          expect(client.closeCode()).toBe(1008)
          // Every message before the close frame is whole: the ones that were not refused.
          const data = client.frames.filter((f) => f.opcode === 2)
          expect(data).toHaveLength(statuses.filter((x) => x !== 'dropped').length)
          client.send(8, closePayload(1008))
          await client.closed
          await waitFor(() => s.log.some((e) => e[0] === 'close'))
          expect(s.log.filter((e) => e[0] === 'close')).toEqual([['close', 1, 1008]])
        },
      )

      // A peer that breaks the protocol, and one that sends too much: the close code, an error
      // event with its stable code, then onClose with that code.
      for (const [what, frame, code, errorCode] of [
        [
          'a peer that breaks the protocol',
          { rsv2: true, data: Buffer.from('x') },
          1002,
          'ERR_MUMMY_WS_RESERVED_BITS',
        ],
        [
          'a message over maxMessageLen',
          { data: Buffer.alloc(2000, 0x61) },
          1009,
          'ERR_MUMMY_WS_MESSAGE_TOO_LARGE',
        ],
      ] as const) {
        it(
          title(`${what}: close ${code}, onError, onClose(${code})`, 'ws-protocol-errors'),
          async () => {
            const s = await webSockets()
            const client = await ws(s.port, '/1')
            client.send(1, frame.data, 'rsv2' in frame ? { rsv2: true } : {})
            await client.closed
            await waitFor(() => s.log.some((e) => e[0] === 'close'))
            await sleep(20)
            if (has('ws-protocol-errors')) {
              expect(client.frames).toEqual([])
              expect(s.log).toEqual([
                ['open', 1],
                ['close', 1, 1006],
              ])
              return
            }
            expect(framesOf(client)).toEqual([[8, code, '']])
            expect(s.log).toEqual([
              ['open', 1],
              ['error', 1, errorCode, code],
              ['close', 1, code],
            ])
          },
        )
      }

      it(title('pause() holds inbound messages back until resume()', 'ws-pause'), async () => {
        const s = await webSockets({
          onMessage(socket, _kind, data) {
            if (data.toString() !== 'pause') return
            socket.pause()
            setTimeout(() => {
              s.log.push(['resume'])
              socket.resume()
            }, 200)
          },
        })
        const client = await ws(s.port, '/1')
        client.send(1, Buffer.from('pause'))
        await waitFor(() => s.log.length === 2)
        client.send(1, Buffer.from('while paused'))
        await waitFor(() => s.log.length === 4, 2000)
        if (has('ws-pause')) {
          expect(s.log.slice(1)).toEqual([
            ['message', 1, 'text', 'pause'],
            ['message', 1, 'text', 'while paused'],
            ['resume'],
          ])
          // Bounded instead: past 8 MiB of unread input (plus one message), close 1008.
          s.sockets.get(1)!.pause()
          const piece = client.frame(2, Buffer.alloc(1000))
          for (let i = 0; i < 8600 && !client.isClosed(); i++) client.socket.write(piece)
          await client.closed
          expect(client.closeCode()).toBe(1008)
          return
        }
        expect(s.log.slice(1)).toEqual([
          ['message', 1, 'text', 'pause'],
          ['resume'],
          ['message', 1, 'text', 'while paused'],
        ])
      })

      it(title('idleTimeout: a ping at half of it, close 1001 at it', 'timeouts'), async () => {
        // 1.6 s where it is exact: a busy machine may run the half-way tick late, and a tick
        // past the whole timeout rightly closes without pinging first.
        const s = await webSockets({ settings: { idleTimeout: has('timeouts') ? 600 : 1600 } })
        const client = await ws(s.port, '/1')
        if (has('timeouts')) {
          // Whole seconds, at least 8 (a ping may come at any 4 s tick): not closed at 600 ms.
          await sleep(1200)
          expect(client.frames.filter((f) => f.opcode !== 9)).toEqual([])
          expect(client.isClosed()).toBe(false)
          expect(s.log.filter((e) => e[0] === 'close')).toEqual([])
          return
        }
        await client.closed
        expect(framesOf(client)).toEqual([
          [9, ''],
          [8, 1001, 'idle timeout'],
        ])
        await waitFor(() => s.log.some((e) => e[0] === 'close'))
        expect(s.log.filter((e) => e[0] === 'close')).toEqual([['close', 1, 1001]])
      })
    })

    describe('close()', () => {
      it(
        title(
          'answers in-flight requests with Connection: close, ends idle connections, refuses new ones, then resolves',
          'connections',
        ),
        async () => {
          const { port, transport } = await start({
            onRequest: (req, res) =>
              void setTimeout(() => res.end(200, [], 'done'), req.target === '/slow' ? 300 : 0),
          })
          const idle = client(port)
          await idle.ask(get('/'))
          const inflight = exchange(port, get('/slow'), { timeout: 3000 })
          await sleep(100)
          expect(transport.connections).toBe(has('connections') ? 1 : 2)
          const closing = transport.close()
          const answered = await inflight
          expectWire(
            answered.responses[0]?.raw,
            response('HTTP/1.1 200 OK', [DATE, 'Content-Length: 4', 'Connection: close'], 'done'),
          )
          expect(answered.closed).toBe(true)
          await closing
          await idle.closed
          expect(transport.connections).toBe(0)
          await expectRefused(port)
        },
      )

      it('ends idle keep-alive connections at once', async () => {
        const { port, transport } = await start()
        const idle = client(port)
        await idle.ask(get('/'))
        const started = Date.now()
        await transport.close()
        await idle.closed
        expect(Date.now() - started).toBeLessThan(2000)
      })

      it('a request still unanswered at the deadline gets 503 with Connection: close', async () => {
        let reached = 0
        const { port, transport } = await start({ onRequest: () => void reached++ })
        const pending = exchange(port, get('/never'), { timeout: 3000 })
        await waitFor(() => reached === 1)
        const started = Date.now()
        await transport.close(300)
        const { responses, closed } = await pending
        expect(responses).toHaveLength(1)
        expectWire(responses[0]?.raw, refusal(503, 'Service Unavailable'))
        expect(closed).toBe(true)
        expect(Date.now() - started).toBeGreaterThanOrEqual(250)
      })

      it('a request whose body is still arriving gets 503 with Connection: close at once', async () => {
        let reached = 0
        const { port, transport } = await start({ onRequest: () => void reached++ })
        const socket = connect(port)
        const result = collect(socket)
        socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc')
        await sleep(100)
        const started = Date.now()
        const closing = transport.close(5000)
        const { data, closed } = await result
        expect(Date.now() - started).toBeLessThan(2500)
        expectWire(data, refusal(503, 'Service Unavailable'))
        expect(closed).toBe(true)
        await closing
        expect(reached).toBe(0)
      })

      it('a streamed response still under way at the deadline is cut: the client sees it truncated, onClose(false)', async () => {
        const closes: boolean[] = []
        const { port, transport } = await start({
          onRequest(_req, res) {
            res.stream(200, [], { onClose: (c) => closes.push(c) }).write('partial')
          },
        })
        const socket = connect(port)
        const result = collect(socket)
        socket.write(get('/'))
        await sleep(100)
        await transport.close(300)
        const { data, closed } = await result
        expect(closed).toBe(true)
        expect(readResponses(Buffer.from(data, 'latin1')).responses).toEqual([])
        const head = data.slice(0, data.indexOf('\r\n\r\n') + 4)
        expectWire(head, response('HTTP/1.1 200 OK', [DATE, 'Transfer-Encoding: chunked']))
        expect(data.slice(head.length)).toMatch(/^7\r\npartial(\r\n)?$/)
        await sleep(20)
        expect(closes).toEqual([false])
      })

      it('an open WebSocket gets close 1001 and is closed by the deadline; onClose once', async () => {
        const closes: number[] = []
        const { port, transport } = await start({
          websocket: { maxMessageLen: 1024, idleTimeout: 0 },
          onRequest(req, res) {
            res.upgrade(switchingProtocols(req), 1, WS_SETTINGS, {
              onOpen: () => {},
              onMessage: () => {},
              onError: () => {},
              onClose: (_ws, code) => closes.push(code),
            })
          },
        })
        const client = await ws(port, '/1')
        await transport.close(300)
        await client.closed
        expect(framesOf(client)).toEqual([[8, 1001, 'server shutting down']])
        await sleep(20)
        expect(closes).toEqual([1001])
      })

      it(
        title(
          'a connection that has not sent its first request yet gets a moment to send it, answered with Connection: close',
          'close-before-first-request',
        ),
        async () => {
          const { port, transport } = await start()
          const socket = connect(port)
          const result = collect(socket)
          await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
          await sleep(50)
          const closing = transport.close(2000)
          await sleep(100)
          if (!socket.destroyed) socket.write(get('/first'))
          const { data, closed } = await result
          await closing
          expect(closed).toBe(true)
          if (has('close-before-first-request')) {
            expect(data).toBe('')
            return
          }
          expectWire(
            data,
            response(
              'HTTP/1.1 200 OK',
              ['Content-Type: text/plain', DATE, 'Content-Length: 6', 'Connection: close'],
              '/first',
            ),
          )
        },
      )
    })
  })
}
