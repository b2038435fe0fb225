import { describe, expect, it } from '@jest/globals'
import type { ParserLimits } from '../dist/index.js'
import { bytes, bytewise, run, splitAt, type RunResult } from './harness.js'

interface Case {
  name: string
  raw: string
  limits?: Partial<ParserLimits>
  /** What the whole-buffer run must report (checked before comparing the splits to it). */
  expect: (result: RunResult) => void
}

const H = 'Host: example.com\r\n'
const chunkedPost =
  `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n` +
  '4;ext=1\r\nWiki\r\n' +
  '5 ; a = "q\\"x" ; b\r\npedia\r\n' +
  'E\r\n in\r\n\r\nchunks.\r\n' +
  '0;end\r\nX-Trailer: one\r\nX-Other:  two \r\n\r\n'

const pipeline =
  `GET /first HTTP/1.1\r\n${H}Accept: text/html\r\n\r\n` +
  `POST /form HTTP/1.1\r\n${H}Content-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!` +
  chunkedPost +
  '\r\n' +
  'GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' +
  `OPTIONS * HTTP/1.1\r\n${H}\r\n` +
  `DELETE http://example.com/x?y=1 HTTP/1.1\r\n${H}Connection: close\r\n\r\n`

const upgradeHead =
  `GET / HTTP/1.1\r\n${H}\r\n` +
  `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`

const valid: Case[] = [
  {
    name: 'simple GET',
    raw: `GET /index.html?q=1 HTTP/1.1\r\n${H}User-Agent: test\r\n\r\n`,
    expect: (r) => expect(r.requests.map((q) => q.head.target)).toEqual(['/index.html?q=1']),
  },
  {
    name: 'POST with Content-Length',
    raw: `POST /p HTTP/1.1\r\n${H}Content-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz`,
    expect: (r) => expect(r.requests[0]?.body).toBe('abcdefghijklmnopqrstuvwxyz'),
  },
  {
    name: 'chunked with extensions and trailers',
    raw: chunkedPost,
    expect: (r) => {
      expect(r.requests[0]?.body).toBe('Wikipedia in\r\n\r\nchunks.')
      expect(r.requests[0]?.trailers).toEqual(['X-Trailer', 'one', 'X-Other', 'two'])
    },
  },
  {
    name: 'pipeline of six requests including a chunked one',
    raw: pipeline,
    expect: (r) => {
      expect(r.requests.map((q) => `${q.head.method} ${q.head.target}`)).toEqual([
        'GET /first',
        'POST /form',
        'POST /upload',
        'GET /old',
        'OPTIONS *',
        'DELETE http://example.com/x?y=1',
      ])
      expect(r.requests.map((q) => q.head.keepAlive)).toEqual([true, true, true, true, true, false])
      expect(r.requests[1]?.body).toBe('Hello, World!')
    },
  },
  {
    name: 'long and non-ASCII field values',
    raw:
      `GET /${'p/'.repeat(150)} HTTP/1.1\r\n${H}X-Long: ${'v'.repeat(300)} \t \r\n` +
      `X-Latin1: caf\xe9 \xa0\xff\r\nCookie: a=b; c=d\r\n\r\n`,
    expect: (r) => {
      expect(r.requests[0]?.head.headers[3]).toBe('v'.repeat(300))
      expect(r.requests[0]?.head.headers[5]).toBe('caf\u00e9 \u00a0\u00ff')
    },
  },
  {
    name: 'Expect: 100-continue',
    raw: `PUT /f HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello`,
    expect: (r) => expect(r.requests[0]?.head.expectContinue).toBe(true),
  },
  {
    name: 'upgrade after a GET, followed by frame bytes',
    raw: upgradeHead + '\x81\x85\x00\x00\x00\x00hello GET / HTTP/1.1\r\n',
    expect: (r) => {
      expect(r.requests.map((q) => q.head.upgrade)).toEqual([false, true])
      expect(r.upgradedAt).toBe(upgradeHead.length)
    },
  },
  {
    name: 'partial trailing request',
    raw: `GET /a HTTP/1.1\r\n${H}\r\nPOST /b HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\n01234`,
    expect: (r) => {
      expect(r.requests).toHaveLength(1)
      expect(r.pendingHead?.target).toBe('/b')
      expect(r.finishError).toBe('ERR_MUMMY_INCOMPLETE_REQUEST')
    },
  },
]

// prettier-ignore
const invalid: Array<Case & { code: string }> = [
  { name: 'CL and TE after a valid request', raw: `GET / HTTP/1.1\r\n${H}\r\nPOST / HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, code: 'ERR_MUMMY_CL_AND_TE' },
  { name: 'bad chunk size after good chunks', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0x5\r\nhello\r\n`, code: 'ERR_MUMMY_INVALID_CHUNK_SIZE' },
  { name: 'chunk data not followed by CRLF', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n`, code: 'ERR_MUMMY_INVALID_CHUNK' },
  { name: 'headers too large', raw: `GET / HTTP/1.1\r\n${H}X-Big: ${'x'.repeat(200)}\r\n\r\n`, limits: { maxHeadersLen: 128 }, code: 'ERR_MUMMY_HEADERS_TOO_LARGE' },
  { name: 'URI too long', raw: `GET /${'u'.repeat(200)} HTTP/1.1\r\n${H}\r\n`, limits: { maxUriLen: 100 }, code: 'ERR_MUMMY_URI_TOO_LONG' },
  { name: 'bare LF line ending', raw: `GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n`, code: 'ERR_MUMMY_INVALID_EOL' },
  { name: 'HTTP/2.0', raw: 'GET / HTTP/2.0\r\n\r\n', code: 'ERR_MUMMY_UNSUPPORTED_VERSION' },
  { name: 'trailers too large', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX: ${'t'.repeat(100)}\r\n\r\n`, limits: { maxTrailersLen: 64 }, code: 'ERR_MUMMY_TRAILERS_TOO_LARGE' },
  { name: 'chunked body too large', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n8\r\n01234567\r\n8\r\n01234567\r\n0\r\n\r\n`, limits: { maxBodyLen: 12 }, code: 'ERR_MUMMY_BODY_TOO_LARGE' },
  { name: 'obs-fold', raw: `GET / HTTP/1.1\r\n${H}X-A: 1\r\n  continued\r\n\r\n`, code: 'ERR_MUMMY_OBS_FOLD' },
  { name: 'chunked not last', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n`, code: 'ERR_MUMMY_CHUNKED_NOT_LAST' },
  { name: 'bad chunk extension', raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a="unterminated\r\nabc\r\n`, code: 'ERR_MUMMY_INVALID_CHUNK_EXT' },
].map((c) => ({ ...c, expect: (r: RunResult) => expect(r.error?.code).toBe(c.code) }))

function checkAllSplits(c: Case, pause: boolean): void {
  const input = bytes(c.raw)
  const options = { pause, ...(c.limits === undefined ? {} : { limits: c.limits }) }
  const whole = run([input], options)
  c.expect(whole)
  for (let at = 0; at <= input.length; at++) {
    const split = run(splitAt(input, at), options)
    if (JSON.stringify(split) !== JSON.stringify(whole)) {
      expect({ at, split }).toEqual({ at, split: whole })
    }
  }
  expect(run(bytewise(input), options)).toEqual(whole)
}

describe('input split at every byte gives the same events', () => {
  for (const c of valid) {
    it(`${c.name} (${c.raw.length} bytes)`, () => {
      checkAllSplits(c, false)
      const whole = run([bytes(c.raw)])
      expect(whole.error).toBeNull()
    })
    it(`${c.name}, pausing after every request`, () => checkAllSplits(c, true))
  }
})

describe('errors are the same whatever the split', () => {
  for (const c of invalid) {
    it(c.name, () => {
      checkAllSplits(c, false)
      checkAllSplits(c, true)
    })
  }
})
