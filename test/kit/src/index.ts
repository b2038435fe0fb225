/**
 * Helpers for tests that talk to a real server over real sockets: send exact bytes, collect
 * what comes back, and read HTTP/1.1 responses out of it.
 */
import net from 'node:net'

/** What a raw exchange produced. */
export interface RawResult {
  /** Every byte the server sent. */
  data: Buffer
  /** `true` when the server closed the connection (FIN or reset) before we gave up. */
  closed: boolean
  /** `true` when the connection was reset rather than closed cleanly. */
  reset: boolean
}

/** Options of {@link rawExchange}. */
export interface RawOptions {
  /** Give up waiting (and close) after this many ms without the server closing. Default 2000. */
  timeout?: number
  /** Resolve as soon as this many complete responses have arrived. */
  responses?: number
  /** Write the pieces with this many ms between them. */
  pieces?: (string | Buffer)[]
  /** Delay between pieces, ms. Default 0 (next tick). */
  pieceDelay?: number
  /** Half-close our side after writing. */
  end?: boolean
  /** Whether each response answers a HEAD request (no body), in order. */
  head?: boolean[]
}

/**
 * Connects to `port`, writes `bytes` (or `options.pieces` one by one), and collects the
 * server's bytes until it closes, `options.responses` responses arrived, or `timeout` ms pass.
 */
export function rawExchange(
  port: number,
  bytes: string | Buffer,
  options: RawOptions = {},
): Promise<RawResult> {
  const timeout = options.timeout ?? 2000
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let settled = false
    let reset = false
    const socket = net.connect(port, '127.0.0.1')
    const finish = (closed: boolean): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ data: Buffer.concat(chunks), closed, reset })
    }
    const timer = setTimeout(() => finish(false), timeout)
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (options.responses !== undefined) {
        const parsed = readResponses(Buffer.concat(chunks), options.head)
        if (parsed.responses.length >= options.responses) finish(false)
      }
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        reset = true
        finish(true)
      } else if (!settled) {
        settled = true
        clearTimeout(timer)
        reject(err)
      }
    })
    socket.on('close', () => finish(true))
    socket.on('connect', async () => {
      const pieces = options.pieces ?? [bytes]
      for (const piece of pieces) {
        if (socket.destroyed) return
        socket.write(piece)
        if (pieces.length > 1) await sleep(options.pieceDelay ?? 0)
      }
      if (options.end) socket.end()
    })
  })
}

/** One HTTP response read off the wire. */
export interface WireResponse {
  status: number
  reason: string
  /** Lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>
  /** Header lines as received, `[name, value]`. */
  rawHeaders: [string, string][]
  body: Buffer
  /** The response's bytes as received: head and framed body (chunk sizes included). */
  raw: Buffer
}

/**
 * Reads complete HTTP/1.1 responses (Content-Length or chunked framing) from `data`.
 * `head[i]` marks the i-th response as answering HEAD (no body). Returns the responses and the
 * number of bytes they used.
 */
export function readResponses(
  data: Buffer,
  head: boolean[] = [],
): { responses: WireResponse[]; used: number } {
  const responses: WireResponse[] = []
  let offset = 0
  for (;;) {
    const start = offset
    const end = data.indexOf('\r\n\r\n', offset, 'latin1')
    if (end === -1) break
    const lines = data.toString('latin1', offset, end).split('\r\n')
    const statusLine = lines.shift() ?? ''
    const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine)
    if (match === null) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`)
    const status = Number(match[1])
    const rawHeaders: [string, string][] = []
    const headers: Record<string, string> = Object.create(null) as Record<string, string>
    for (const line of lines) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon)
      const value = line.slice(colon + 1).trim()
      rawHeaders.push([name, value])
      const key = name.toLowerCase()
      headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`
    }
    let bodyStart = end + 4
    let body: Buffer
    const isHead = head[responses.length] === true
    if (status < 200 && status !== 101) {
      offset = bodyStart
      responses.push({
        status,
        reason: match[2] ?? '',
        headers,
        rawHeaders,
        body: Buffer.alloc(0),
        raw: data.subarray(start, offset),
      })
      continue
    }
    if (isHead || status === 204 || status === 304) {
      body = Buffer.alloc(0)
    } else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      const parts: Buffer[] = []
      let p = bodyStart
      let complete = false
      for (;;) {
        const lineEnd = data.indexOf('\r\n', p, 'latin1')
        if (lineEnd === -1) break
        const sizeLine = data.toString('latin1', p, lineEnd)
        if (!/^[0-9a-fA-F]+(;.*)?$/.test(sizeLine))
          throw new Error(`bad chunk size line: ${JSON.stringify(sizeLine)}`)
        const size = parseInt(sizeLine, 16)
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', lineEnd, 'latin1')
          if (trailerEnd === -1) break
          p = trailerEnd + 4
          complete = true
          break
        }
        if (data.length < lineEnd + 2 + size + 2) break
        if (data.toString('latin1', lineEnd + 2 + size, lineEnd + 4 + size) !== '\r\n')
          throw new Error(`chunk data not followed by CRLF at ${lineEnd + 2 + size}`)
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
        p = lineEnd + 2 + size + 2
      }
      if (!complete) break
      body = Buffer.concat(parts)
      bodyStart = p
      offset = p
      responses.push({
        status,
        reason: match[2] ?? '',
        headers,
        rawHeaders,
        body,
        raw: data.subarray(start, offset),
      })
      continue
    } else {
      const length = headers['content-length'] === undefined ? 0 : Number(headers['content-length'])
      if (data.length < bodyStart + length) break
      body = data.subarray(bodyStart, bodyStart + length)
      bodyStart += length
    }
    offset = bodyStart
    responses.push({
      status,
      reason: match[2] ?? '',
      headers,
      rawHeaders,
      body,
      raw: data.subarray(start, offset),
    })
  }
  return { responses, used: offset }
}

/** Sends `bytes` and returns the parsed responses plus whether the server closed. */
export async function exchange(
  port: number,
  bytes: string | Buffer,
  options: RawOptions = {},
): Promise<{ responses: WireResponse[]; closed: boolean; rest: Buffer; reset: boolean }> {
  const result = await rawExchange(port, bytes, options)
  const { responses, used } = readResponses(result.data, options.head)
  return { responses, closed: result.closed, rest: result.data.subarray(used), reset: result.reset }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `predicate` every 10 ms until it is true or `timeout` ms pass (then rejects). */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeout = 5000,
  what = 'condition',
): Promise<void> {
  const until = Date.now() + timeout
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** What {@link pushBody} saw. */
export interface PushResult {
  /** Every byte the server sent, as latin1. */
  answer: string
  /** Body bytes written before the server answered or closed. */
  written: number
  /** The socket error, if there was one (a reset shows as ECONNRESET or EPIPE). */
  error: string | null
}

/**
 * Plays a client that keeps sending a body the server will refuse: writes `head` (which must
 * announce the body) and then `body` pieces, up to `pieces` of them, as fast as the socket
 * takes them and while reading what comes back; stops writing at the first byte of answer.
 * Resolves once the server closed or `timeout` ms passed. `chunked` frames every piece.
 */
export async function pushBody(
  port: number,
  head: string,
  options: { piece?: Buffer; pieces?: number; chunked?: boolean; timeout?: number } = {},
): Promise<PushResult> {
  const piece = options.piece ?? Buffer.alloc(1024 * 1024, 0x41)
  const frame = options.chunked
    ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')])
    : piece
  const socket = net.connect(port, '127.0.0.1')
  let answer = ''
  let error: string | null = null
  let closed = false
  socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
  socket.on('close', () => (closed = true))
  socket.write(head)
  let written = 0
  for (let i = 0; i < (options.pieces ?? 16) && answer === '' && !closed; i++) {
    written += piece.length
    if (!socket.write(frame))
      await new Promise((resolve) => {
        socket.once('drain', resolve)
        socket.once('close', resolve)
        // (A server that stopped reading never drains.)
        setTimeout(resolve, 100)
      })
  }
  const until = Date.now() + (options.timeout ?? 5000)
  while (!closed && Date.now() < until) await sleep(10)
  socket.destroy()
  return { answer, written, error }
}

/** A GET request line with Host, for building raw requests. */
export function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`
}
export * from './ws.js'
export * from './transport-contract.js'
export * from './redis-server.js'
