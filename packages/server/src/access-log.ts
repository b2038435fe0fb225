/**
 * The access log: one line per answered request, written by the IO thread when the answer is
 * complete (a streamed body when it ends, a WebSocket when it is accepted), in the Common or
 * Combined Log Format or as JSON lines, or handed to a function. Lines leave in batches, once
 * per turn of the IO thread. Off by default; when off, nothing here runs.
 */
import type {
  ResponseWriter,
  StreamEvents,
  TransportRequest,
  TransportStream,
  TransportWebSocket,
  WebSocketEvents,
  WebSocketSettings,
} from '@mummy/io-loop'

/** One answered request, as the access log sees it. */
export interface AccessLogEntry {
  /** When the request was dispatched (ms since the epoch). */
  readonly time: number
  readonly remoteAddress: string
  readonly method: string
  /** The request-target as received. */
  readonly target: string
  readonly httpVersion: '1.0' | '1.1'
  readonly status: number
  /** Body bytes sent (`-1` when not known: an upgrade, a stream cut short). */
  readonly bytes: number
  /** From dispatch to the end of the answer, ms. */
  readonly durationMs: number
  readonly referer: string | undefined
  readonly userAgent: string | undefined
}

/** The `accessLog` option: a format written to standard output, or a function per entry. */
export type AccessLogOption =
  boolean | 'common' | 'combined' | 'json' | ((entry: AccessLogEntry) => void)

/** What writes entries: `null` when the log is off. */
export type AccessLogger = ((entry: AccessLogEntry) => void) | null

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number): string => (n < 10 ? `0${n}` : String(n))

/** `[05/Dec/2026:12:00:00 +0000]` (UTC). */
function clfDate(ms: number): string {
  const d = new Date(ms)
  return `[${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000]`
}

/** A quoted field: `"` and `\` escaped, control bytes as `\xHH`. */
function quoted(value: string | undefined): string {
  if (value === undefined) return '"-"'
  let out = '"'
  for (const c of value) {
    const code = c.charCodeAt(0)
    if (c === '"' || c === '\\') out += `\\${c}`
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else out += c
  }
  return `${out}"`
}

/** The Common Log Format line of `e` (no line feed). */
export function commonLine(e: AccessLogEntry): string {
  const request = quoted(`${e.method} ${e.target} HTTP/${e.httpVersion}`)
  return `${e.remoteAddress || '-'} - - ${clfDate(e.time)} ${request} ${e.status} ${e.bytes < 0 ? '-' : e.bytes}`
}

/** The Combined Log Format line of `e`: the common line, the referer and the user agent. */
export function combinedLine(e: AccessLogEntry): string {
  return `${commonLine(e)} ${quoted(e.referer)} ${quoted(e.userAgent)}`
}

/** Lines to standard output, one write per turn. */
function stdoutWriter(format: (e: AccessLogEntry) => string): (e: AccessLogEntry) => void {
  let pending = ''
  let scheduled = false
  const flush = (): void => {
    scheduled = false
    const out = pending
    pending = ''
    process.stdout.write(out)
  }
  return (e) => {
    pending += `${format(e)}\n`
    if (pending.length > 64 * 1024) flush()
    else if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  }
}

/** The logger for an `accessLog` option value. */
export function accessLogger(option: AccessLogOption | undefined): AccessLogger {
  if (option === undefined || option === false) return null
  if (typeof option === 'function') return option
  if (option === 'common') return stdoutWriter(commonLine)
  if (option === 'json') return stdoutWriter((e) => JSON.stringify(e))
  return stdoutWriter(combinedLine)
}

/** The value of header `name` (lower case) in a flat `[name, value, …]` list. */
function header(flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i]!.toLowerCase() === name) return flat[i + 1]
  return undefined
}

/**
 * `res`, reporting its answer to `log` once: at `end`, at the end (or abort) of a streamed
 * body, or at a WebSocket upgrade.
 */
export function loggedWriter(
  req: TransportRequest,
  res: ResponseWriter,
  log: (entry: AccessLogEntry) => void,
): ResponseWriter {
  const time = Date.now()
  const start = performance.now()
  let done = false
  const report = (status: number, bytes: number): void => {
    if (done) return
    done = true
    try {
      log({
        time,
        remoteAddress: req.remoteAddress,
        method: req.method,
        target: req.target,
        httpVersion: req.versionMinor === 0 ? '1.0' : '1.1',
        status,
        bytes,
        durationMs: Math.round((performance.now() - start) * 1000) / 1000,
        referer: header(req.headers, 'referer'),
        userAgent: header(req.headers, 'user-agent'),
      })
    } catch {
      // A logging function must never take the IO thread down.
    }
  }
  return {
    end(status, headers, body, close) {
      const bytes =
        req.method === 'HEAD' || body === undefined
          ? 0
          : typeof body === 'string'
            ? Buffer.byteLength(body)
            : body.byteLength
      res.end(status, headers, body, close)
      report(status, bytes)
    },
    upgrade(
      head: string,
      id: number,
      settings: WebSocketSettings,
      events: WebSocketEvents,
    ): TransportWebSocket | null {
      const ws = res.upgrade(head, id, settings, events)
      if (ws !== null) report(101, -1)
      return ws
    },
    stream(status, headers, events: StreamEvents, close, length): TransportStream {
      let bytes = 0
      // Reported when the stream is over: its byte count when it completed, -1 when cut short.
      const logged: StreamEvents = {
        onClose(complete) {
          report(status, complete ? bytes : -1)
          events.onClose(complete)
        },
      }
      if (events.onDrain !== undefined) logged.onDrain = () => events.onDrain!()
      const stream = res.stream(status, headers, logged, close, length)
      return {
        write(chunk: Uint8Array | string) {
          bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength
          return stream.write(chunk)
        },
        end: () => stream.end(),
        abort: () => stream.abort(),
        hold: () => stream.hold(),
        get bufferedAmount() {
          return stream.bufferedAmount
        },
        get closed() {
          return stream.closed
        },
      }
    },
    get closed() {
      return res.closed
    },
    get ended() {
      return res.ended
    },
  }
}
