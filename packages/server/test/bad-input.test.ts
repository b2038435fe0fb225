// Hostile and malformed requests against a real server with real workers: each gets its
// specified status (and the connection closes), or a clean close; meanwhile a well-formed
// request on another connection keeps being served.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { exchange } from '@mummy/test-kit'
import net from 'node:net'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)
const H = 'Host: x\r\n'

interface Case {
  name: string
  bytes: string | Buffer
  status: number
}

const cases: Case[] = [
  // smuggling shapes
  {
    name: 'CL then TE',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'TE then CL',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'duplicate equal Content-Length',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`,
    status: 400,
  },
  {
    name: 'duplicate different Content-Length',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
    status: 400,
  },
  {
    name: 'Content-Length list',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`,
    status: 400,
  },
  {
    name: 'Content-Length with sign',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`,
    status: 400,
  },
  {
    name: 'negative Content-Length',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`,
    status: 400,
  },
  {
    name: 'hex Content-Length',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: 0x10\r\n\r\n`,
    status: 400,
  },
  {
    name: 'empty Content-Length',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`,
    status: 400,
  },
  {
    name: 'overflowing Content-Length',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n`,
    status: 400,
  },
  {
    name: 'TE xchunked',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`,
    status: 501,
  },
  {
    name: 'TE gzip only',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`,
    status: 501,
  },
  {
    name: 'TE chunked, gzip (chunked not last)',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`,
    status: 400,
  },
  {
    name: 'TE chunked twice',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'TE with Kelvin sign',
    bytes: Buffer.from(
      `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chun\u212Aed\r\n\r\n0\r\n\r\n`,
      'utf8',
    ),
    status: 400,
  },
  {
    name: 'space before colon',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'leading space on a header line (obs-fold)',
    bytes: `GET / HTTP/1.1\r\n${H}X-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n`,
    status: 400,
  },
  {
    name: 'obs-fold with tab',
    bytes: `GET / HTTP/1.1\r\n${H}X-A: 1\r\n\tcontinued\r\n\r\n`,
    status: 400,
  },
  {
    name: 'TE in HTTP/1.0',
    bytes: `POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    status: 400,
  },
  // chunked bodies
  {
    name: 'chunk size not hex',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\ng\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunk size empty',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunk size negative',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunk size 0x prefix',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunk size overflow',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunk size leading space',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunk data without CRLF',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunk extension too long',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;${'e'.repeat(5000)}\r\nabc\r\n0\r\n\r\n`,
    status: 400,
  },
  {
    name: 'chunks over maxBodyLen',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${(2048).toString(16)}\r\n${'a'.repeat(2048)}\r\n0\r\n\r\n`,
    status: 413,
  },
  {
    name: 'trailers too large',
    bytes: `POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${'t'.repeat(10_000)}\r\n\r\n`,
    status: 431,
  },
  // line endings and bytes
  {
    name: 'bare CR in a header value',
    bytes: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`,
    status: 400,
  },
  { name: 'bare LF line endings', bytes: `GET / HTTP/1.1\n${H}\n`, status: 400 },
  { name: 'bare LF after a header', bytes: `GET / HTTP/1.1\r\n${H}X-A: 1\n\r\n`, status: 400 },
  {
    name: 'NUL in a header value',
    bytes: `GET / HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`,
    status: 400,
  },
  {
    name: 'DEL in a header value',
    bytes: `GET / HTTP/1.1\r\n${H}X-A: a\u007fb\r\n\r\n`,
    status: 400,
  },
  {
    name: 'control char in a header name',
    bytes: `GET / HTTP/1.1\r\n${H}X\u0001A: 1\r\n\r\n`,
    status: 400,
  },
  { name: 'empty header name', bytes: `GET / HTTP/1.1\r\n${H}: value\r\n\r\n`, status: 400 },
  {
    name: 'header line without colon',
    bytes: `GET / HTTP/1.1\r\n${H}NoColonHere\r\n\r\n`,
    status: 400,
  },
  // request line
  { name: 'space in the target', bytes: `GET /a b HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'two spaces after the method', bytes: `GET  / HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'invalid method characters', bytes: `G(T / HTTP/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'lowercase http version', bytes: `GET / http/1.1\r\n${H}\r\n`, status: 400 },
  { name: 'trailing space after the version', bytes: `GET / HTTP/1.1 \r\n${H}\r\n`, status: 400 },
  { name: 'HTTP/2.0', bytes: `GET / HTTP/2.0\r\n${H}\r\n`, status: 505 },
  { name: 'HTTP/1.2', bytes: `GET / HTTP/1.2\r\n${H}\r\n`, status: 505 },
  { name: 'HTTP/1 (no minor)', bytes: `GET / HTTP/1\r\n${H}\r\n`, status: 400 },
  { name: 'HTTP/0.9 request line', bytes: `GET /\r\n\r\n`, status: 400 },
  { name: 'target not origin-form', bytes: `GET index.html HTTP/1.1\r\n${H}\r\n`, status: 400 },
  {
    name: 'non-ASCII byte in the target',
    bytes: Buffer.from(`GET /caf\u00e9 HTTP/1.1\r\n${H}\r\n`, 'latin1'),
    status: 400,
  },
  // Host
  { name: 'missing Host on HTTP/1.1', bytes: `GET / HTTP/1.1\r\n\r\n`, status: 400 },
  { name: 'two Host headers', bytes: `GET / HTTP/1.1\r\n${H}${H}\r\n`, status: 400 },
  // sizes
  { name: 'oversized URI', bytes: `GET /${'u'.repeat(9000)} HTTP/1.1\r\n${H}\r\n`, status: 414 },
  {
    name: 'oversized header section',
    bytes: `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(9000)}\r\n\r\n`,
    status: 431,
  },
  {
    name: 'too many headers',
    bytes: `GET / HTTP/1.1\r\n${H}${'X-N: 1\r\n'.repeat(150)}\r\n`,
    status: 431,
  },
  {
    name: 'declared body over maxBodyLen',
    bytes: `POST /echo HTTP/1.1\r\n${H}Content-Length: 5000\r\n\r\n`,
    status: 413,
  },
]

/**
 * Measured behaviour of the uWebSockets.js transport (uWebSockets.js 20.30) where it differs
 * from the specified answer; the io-loop README lists the same. It never hands these heads to
 * the server: it waits for more bytes until its own idle timeout closes the connection.
 */
const UWS_UNANSWERED = new Set([
  'space before colon',
  'leading space on a header line (obs-fold)',
  'obs-fold with tab',
  'TE in HTTP/1.0',
  'chunk size not hex',
  'bare CR in a header value',
  'bare LF line endings',
  'bare LF after a header',
  'NUL in a header value',
  'control char in a header name',
  'header line without colon',
  'space in the target',
  'two spaces after the method',
  'lowercase http version',
  'trailing space after the version',
  'HTTP/2.0',
  'HTTP/1.2',
  'HTTP/1 (no minor)',
  'HTTP/0.9 request line',
  'target not origin-form',
  'missing Host on HTTP/1.1',
  'too many headers',
])
/**
 * Answered, but with another refusal than the node transport's: none since heads are judged
 * by @mummy/parser's HeadCheck (a Kelvin sign in `chunKed`, decoded as UTF-8 by
 * uWebSockets.js, is a malformed coding there too: 400, not 501).
 */
const UWS_STATUS: Record<string, number> = {}
/** uWebSockets.js accepts these (its chunked decoder is lenient; it drops an empty field name). */
const UWS_LENIENT = new Set([
  'chunk size empty',
  'chunk size leading space',
  'chunk data without CRLF',
  'empty header name',
])

describe.each(TRANSPORTS)('bad input (%s transport)', (transport) => {
  let server: Server
  let port: number
  let keeper: net.Socket
  let keeperAnswers = 0
  beforeAll(async () => {
    server = createServer({
      transport,
      app: APP,
      workers: 2,
      maxBodyLen: 1024,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
    port = server.port
    // A well-behaved client on its own keep-alive connection, asking all along.
    keeper = net.connect(port, '127.0.0.1')
    keeper.on('data', (d: Buffer) => {
      keeperAnswers += (d.toString('latin1').match(/HTTP\/1\.1 200 OK/g) ?? []).length
    })
  })
  afterAll(async () => {
    keeper.destroy()
    await server.close()
  })

  it(`has at least 40 cases (${cases.length})`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(40)
  })

  for (const c of cases) {
    it(`${c.name} → ${c.status} and close`, async () => {
      const before = keeperAnswers
      keeper.write('GET /fast HTTP/1.1\r\nHost: x\r\n\r\n')
      const uws = transport === 'uws'
      const unanswered = uws && UWS_UNANSWERED.has(c.name)
      const { responses, closed } = await exchange(port, c.bytes, {
        timeout: unanswered ? 300 : 3000,
      })
      if (unanswered) expect(responses).toEqual([])
      else if (uws && UWS_LENIENT.has(c.name)) expect(responses.map((r) => r.status)).toEqual([200])
      else if (uws && responses.length === 0) {
        // uWebSockets.js refused it itself: a close without an answer.
        expect(closed).toBe(true)
      } else {
        expect(responses.map((r) => r.status)).toEqual([
          (uws ? UWS_STATUS[c.name] : undefined) ?? c.status,
        ])
        expect(responses[0]?.headers['connection']).toBe('close')
        expect(closed).toBe(true)
      }
      // The well-formed client on another connection was served meanwhile.
      const until = Date.now() + 2000
      while (keeperAnswers === before && Date.now() < until)
        await new Promise((r) => setTimeout(r, 5))
      expect(keeperAnswers).toBeGreaterThan(before)
    })
  }

  it('a `__proto__` header is just a header', async () => {
    // uWebSockets.js does not accept `_` in a field name (it waits for its idle timeout), so
    // there the prototype-named header is `constructor` alone.
    const proto = transport === 'node' ? '__proto__: polluted\r\n' : ''
    const { responses } = await exchange(
      port,
      `GET /inspect/x HTTP/1.1\r\n${H}${proto}constructor: c\r\n\r\n`,
      { responses: 1 },
    )
    expect(responses[0]?.status).toBe(200)
    const info = JSON.parse(responses[0]!.body.toString()) as { headers: Record<string, string> }
    if (proto !== '') expect(info.headers['__proto__']).toBe('polluted')
    expect(info.headers['constructor']).toBe('c')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('garbage bytes get a 400 and a close', async () => {
    const { responses, closed } = await exchange(
      port,
      Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
      { timeout: transport === 'node' ? 3000 : 300 },
    )
    if (transport === 'node') {
      expect(responses[0]?.status).toBe(400)
      expect(closed).toBe(true)
    } else {
      // uWebSockets.js waits for a request line that never comes (its idle timeout ends it).
      expect(responses).toEqual([])
    }
  })

  it('a client that sends half a request and hangs up costs nothing', async () => {
    const { responses, closed } = await exchange(port, `GET / HTTP/1.1\r\n${H}X-Partial: 1`, {
      end: true,
      timeout: 2000,
    })
    expect(responses).toHaveLength(0)
    expect(closed).toBe(true)
  })
})
