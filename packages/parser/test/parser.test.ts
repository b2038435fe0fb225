import { describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import {
  DEFAULT_PARSER_LIMITS,
  HttpParseError,
  RequestParser,
  type ParserCallbacks,
  type RequestHead,
} from '../dist/index.js'
import { bytes, bytewise, run } from './harness.js'

const noop: ParserCallbacks = { onHead() {}, onBody() {}, onComplete() {} }

function one(raw: string | Buffer) {
  const result = run([typeof raw === 'string' ? bytes(raw) : raw])
  expect(result.error).toBeNull()
  expect(result.requests).toHaveLength(1)
  return result.requests[0]!
}

function head(partial: Partial<RequestHead>): RequestHead {
  return {
    method: 'GET',
    target: '/',
    versionMinor: 1,
    headers: [],
    contentLength: -1,
    chunked: false,
    keepAlive: true,
    upgrade: false,
    expectContinue: false,
    ...partial,
  }
}

describe('well-formed requests', () => {
  it('parses a GET', () => {
    const r = one('GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n')
    expect(r.head).toEqual(
      head({ target: '/a?b=1', headers: ['Host', 'example.com', 'Accept', '*/*'] }),
    )
    expect(r.body).toBe('')
    expect(r.trailers).toEqual([])
  })

  it('keeps field names as received, trims OWS around values, keeps repeated fields apart', () => {
    const r = one(
      'GET / HTTP/1.1\r\nhOsT:x\r\nX-A: \t a  b \t\r\nX-Empty:\r\nX-Blank:   \r\nx-a: 2\r\n\r\n',
    )
    expect(r.head.headers).toEqual([
      'hOsT',
      'x',
      'X-A',
      'a  b',
      'X-Empty',
      '',
      'X-Blank',
      '',
      'x-a',
      '2',
    ])
  })

  it('decodes obs-text in values as latin1, one char per byte', () => {
    const r = one(bytes('GET / HTTP/1.1\r\nHost: h\r\nX-T: caf\xe9 \xff\r\n\r\n'))
    expect(r.head.headers[3]).toBe('caf\u00e9 \u00ff')
  })

  it('treats __proto__ and constructor as ordinary field names', () => {
    const r = one('GET / HTTP/1.1\r\nHost: h\r\n__proto__: x\r\nconstructor: y\r\n\r\n')
    expect(r.head.headers).toEqual(['Host', 'h', '__proto__', 'x', 'constructor', 'y'])
    expect(Object.getPrototypeOf(r.head)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).x).toBeUndefined()
  })

  it('parses a POST with Content-Length', () => {
    const r = one('POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world')
    expect(r.head).toEqual(
      head({
        method: 'POST',
        target: '/submit',
        headers: ['Host', 'h', 'Content-Length', '11'],
        contentLength: 11,
      }),
    )
    expect(r.body).toBe('hello world')
  })

  it('accepts Content-Length: 0 and leading zeros', () => {
    expect(one('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n').head.contentLength).toBe(
      0,
    )
    expect(one('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 003\r\n\r\nabc').body).toBe('abc')
  })

  it('parses a chunked body with extensions and trailers', () => {
    const r = one(
      'POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name\r\nhello\r\n' +
        '1 ; a = b ;c="quoted \\" \\\\ ;=" ; d\t=\t"" \r\n \r\n' +
        'A;x=y\r\n0123456789\r\n' +
        '0;last=1\r\nX-Checksum: abc \r\nX-Other:\r\n\r\n',
    )
    expect(r.head.chunked).toBe(true)
    expect(r.head.contentLength).toBe(-1)
    expect(r.body).toBe('hello 0123456789')
    expect(r.trailers).toEqual(['X-Checksum', 'abc', 'X-Other', ''])
  })

  it('accepts upper-case hex and leading zeros in chunk sizes', () => {
    const r = one(
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n00B\r\nhello world\r\n000\r\n\r\n',
    )
    expect(r.body).toBe('hello world')
  })

  it('accepts Transfer-Encoding case-insensitively, as a list and over several lines', () => {
    for (const te of [
      'Transfer-Encoding: Chunked',
      'transfer-encoding: CHUNKED',
      'Transfer-Encoding: , chunked ,',
      'Transfer-Encoding:\r\nTransfer-Encoding: chunked',
    ]) {
      const r = one(`POST / HTTP/1.1\r\nHost: h\r\n${te}\r\n\r\n3\r\nabc\r\n0\r\n\r\n`)
      expect(r.head.chunked).toBe(true)
      expect(r.body).toBe('abc')
    }
  })

  it('HTTP/1.0: no Host needed, keep-alive only on request', () => {
    expect(one('GET / HTTP/1.0\r\n\r\n').head).toEqual(head({ versionMinor: 0, keepAlive: false }))
    expect(one('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').head.keepAlive).toBe(true)
    expect(one('GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n').head.keepAlive).toBe(
      false,
    )
    expect(
      one('GET / HTTP/1.0\r\nConnection: foo\r\nConnection: keep-alive\r\n\r\n').head.keepAlive,
    ).toBe(true)
  })

  it('HTTP/1.1: keep-alive unless Connection has close', () => {
    expect(one('GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n').head.keepAlive).toBe(
      true,
    )
    expect(one('GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n').head.keepAlive).toBe(false)
    expect(
      one('GET / HTTP/1.1\r\nHost: h\r\nConnection: foo ,\tCLOSE\r\n\r\n').head.keepAlive,
    ).toBe(false)
    expect(one('GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n').head.keepAlive).toBe(true)
  })

  it('accepts absolute-form, OPTIONS * and CONNECT authority-form', () => {
    expect(
      one('GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n').head.target,
    ).toBe('http://example.com/a?b')
    expect(one('GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n').head.target).toBe('HTTPS://h')
    expect(one('OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n').head).toEqual(
      head({ method: 'OPTIONS', target: '*', headers: ['Host', 'h'] }),
    )
    const connect = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'
    const r = run([bytes(connect + '\x16\x03\x01')], { limits: { allowConnect: true } })
    expect(r.requests.map((q) => q.head.target)).toEqual(['example.com:443'])
    expect(r.upgradedAt).toBe(connect.length)
  })

  it('refuses CONNECT with 501 unless allowed, and a CONNECT with content always', () => {
    const connect = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n'
    const refused = run([bytes(connect + '\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n')])
    expect(refused.error).toEqual({ code: 'ERR_MUMMY_CONNECT_UNSUPPORTED', status: 501 })
    expect(refused.requests).toEqual([])
    for (const framing of [
      'Content-Length: 5\r\n',
      'Content-Length: 0\r\n',
      'Transfer-Encoding: chunked\r\n',
    ])
      expect(
        run([bytes(connect + framing + '\r\nhello')], { limits: { allowConnect: true } }).error,
      ).toEqual({ code: 'ERR_MUMMY_CONNECT_WITH_BODY', status: 400 })
  })

  it('validates Host as uri-host [":" port] (RFC 9112 §3.2)', () => {
    const host = (value: string): string | null =>
      run([bytes(`GET / HTTP/1.1\r\nHost: ${value}\r\n\r\n`)]).error?.code ?? null
    for (const good of [
      'example.com',
      'example.com:8080',
      'EXAMPLE.com:',
      '127.0.0.1',
      '127.0.0.1:80',
      '',
      '[::1]',
      '[::1]:443',
      '[2001:db8::7]',
      '[::ffff:192.0.2.1]:8',
      '[1:2:3:4:5:6:7:8]',
      '[v7.fe80::1]',
      'a-b_c~d.e',
      'xn--bcher-kva.example',
      "a!$&'()*+,;=b",
      'caf%C3%A9',
    ])
      expect([good, host(good)]).toEqual([good, null])
    for (const bad of [
      'a@b',
      'a/b',
      'a b',
      'a, b',
      'a:b:c',
      'a:8x',
      'a%zz',
      'a%4',
      '[::1',
      '::1',
      '[::1]x',
      '[1:2:3:4:5:6:7:8:9]',
      '[1::2::3]',
      '[:1:2]',
      '[1:2:]',
      '[::1%25eth0]',
      '[12345::]',
      '[::256.1.1.1]',
      '[v.x]',
      'a?b',
      'a#b',
      'a\\b',
      'h\x80',
      '"h"',
      'a<b',
      '[]',
    ])
      expect([bad, host(bad)]).toEqual([bad, 'ERR_MUMMY_INVALID_HOST'])
  })

  it("uses an absolute-form target's authority as the host, and refuses userinfo", () => {
    const r = run([bytes('GET http://example.com:81/a HTTP/1.1\r\nHost: ignored@junk\r\n\r\n')])
    expect(r.error).toBeNull()
    expect(r.requests[0]?.head.headers).toEqual(['Host', 'example.com:81'])
    for (const target of [
      'http://user@h/',
      'http://u:p@h/',
      'http://:80/',
      'http://h%zz/',
      'http://a:b:c/',
    ])
      expect([
        target,
        run([bytes(`GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`)]).error?.code,
      ]).toEqual([target, 'ERR_MUMMY_INVALID_HOST'])
  })

  it('accepts any tchar method, case-sensitively', () => {
    expect(one('M-SEARCH /x HTTP/1.1\r\nHost: h\r\n\r\n').head.method).toBe('M-SEARCH')
    // lower-case "options" is a different (extension) method: "*" is not allowed for it
    expect(run([bytes('options * HTTP/1.1\r\nHost: h\r\n\r\n')]).error?.code).toBe(
      'ERR_MUMMY_INVALID_TARGET',
    )
  })

  it('reports Expect: 100-continue', () => {
    expect(
      one('POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx').head
        .expectContinue,
    ).toBe(true)
    expect(one('POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n').head.expectContinue).toBe(
      false,
    )
    // ignored in HTTP/1.0 (RFC 9110 §10.1.1)
    expect(
      one('POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx').head
        .expectContinue,
    ).toBe(false)
  })

  it('ignores up to four empty lines before a request-line', () => {
    expect(one('\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n').head.target).toBe('/')
    expect(run([bytes('\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n')]).error?.code).toBe(
      'ERR_MUMMY_INVALID_METHOD',
    )
    const pipelined = run([
      bytes('GET /1 HTTP/1.1\r\nHost: h\r\n\r\n\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n'),
    ])
    expect(pipelined.requests.map((r) => r.head.target)).toEqual(['/1', '/2'])
  })
})

describe('upgrade and CONNECT', () => {
  const ws =
    'GET /chat HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n' +
    'Sec-WebSocket-Version: 13\r\n\r\n'

  it('stops after an upgrade request and returns where the new protocol starts', () => {
    const events: string[] = []
    const parser = new RequestParser({
      onHead: (h) => events.push(`head ${String(h.upgrade)}`),
      onBody: () => events.push('body'),
      onComplete: () => {
        events.push(`complete ${String(parser.upgraded)}`)
      },
    })
    const input = bytes(ws + '\x81\x05hello GET / HTTP/1.1\r\n')
    expect(parser.execute(input)).toBe(ws.length)
    expect(parser.upgraded).toBe(true)
    expect(parser.idle).toBe(false)
    expect(events).toEqual(['head true', 'complete true'])
    expect(parser.execute(bytes('more'))).toBe(0)
    expect(parser.finish()).toBeNull()
    parser.reset()
    expect(parser.upgraded).toBe(false)
    expect(parser.execute(bytes('GET / HTTP/1.1\r\nHost: h\r\n\r\n'))).toBe(27)
  })

  it('reads the body of an upgrade request before stopping', () => {
    const raw = ws.replace('\r\n\r\n', '\r\nContent-Length: 3\r\n\r\n') + 'abcRAW'
    const r = run([bytes(raw)])
    expect(r.requests[0]?.body).toBe('abc')
    expect(r.upgradedAt).toBe(raw.length - 3)
  })

  it('needs both Connection: upgrade and an Upgrade field', () => {
    const r = run([
      bytes(
        'GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n',
      ),
    ])
    expect(r.requests.map((q) => q.head.upgrade)).toEqual([false, false])
    expect(r.upgradedAt).toBe(-1)
    expect(one('GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n').head.upgrade).toBe(false)
    // ignored in HTTP/1.0 (RFC 9110 §7.8)
    const old = run([
      bytes(
        'GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET / HTTP/1.0\r\n\r\n',
      ),
    ])
    expect(old.requests.map((q) => q.head.upgrade)).toEqual([false, false])
    expect(old.upgradedAt).toBe(-1)
  })
})

describe('pipelining and pause', () => {
  const reqs = Array.from({ length: 100 }, (_, k) =>
    k % 3 === 1
      ? `POST /r${k} HTTP/1.1\r\nHost: h\r\nContent-Length: ${String(k).length}\r\n\r\n${k}`
      : k % 3 === 2
        ? `PUT /r${k} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${String(k).length}\r\n${k}\r\n0\r\n\r\n`
        : `GET /r${k} HTTP/1.1\r\nHost: h\r\n\r\n`,
  )
  const all = bytes(reqs.join(''))

  it('parses 100 pipelined requests from one buffer, in order', () => {
    const r = run([all])
    expect(r.error).toBeNull()
    expect(r.requests.map((q) => q.head.target)).toEqual(reqs.map((_, k) => `/r${k}`))
    expect(r.requests.map((q) => q.body)).toEqual(
      reqs.map((_, k) => (k % 3 === 0 ? '' : String(k))),
    )
  })

  it('pauses when onComplete returns true and resumes with the rest', () => {
    let completed = 0
    const targets: string[] = []
    const parser = new RequestParser({
      onHead: (h) => targets.push(h.target),
      onBody() {},
      onComplete: () => ++completed === 10,
    })
    const n = parser.execute(all)
    const expected = reqs.slice(0, 10).join('').length
    expect(n).toBe(expected)
    expect(completed).toBe(10)
    expect(targets).toHaveLength(10)
    expect(parser.idle).toBe(true)
    expect(parser.execute(all.subarray(n))).toBe(all.length - n)
    expect(completed).toBe(100)
    expect(targets).toEqual(reqs.map((_, k) => `/r${k}`))
  })

  it('pausing on every request yields the same requests', () => {
    const paused = run([all], { pause: true })
    expect(paused).toEqual(run([all]))
  })
})

describe('state: idle, finish, reset', () => {
  it('is idle only between requests', () => {
    const parser = new RequestParser(noop)
    expect(parser.idle).toBe(true)
    parser.execute(bytes('\r\n'))
    expect(parser.idle).toBe(true)
    parser.execute(bytes('G'))
    expect(parser.idle).toBe(false)
    parser.execute(bytes('ET / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n'))
    expect(parser.idle).toBe(false)
    parser.execute(bytes('a'))
    expect(parser.idle).toBe(false)
    parser.execute(bytes('b'))
    expect(parser.idle).toBe(true)
  })

  it('finish() at EOF: null when idle, 400 mid-request, the earlier error after a failure', () => {
    const idle = new RequestParser(noop)
    expect(idle.finish()).toBeNull()
    for (const partial of [
      'G',
      'GET / HTTP/1.1\r\nHost: h\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab',
    ]) {
      const parser = new RequestParser(noop)
      expect(parser.execute(bytes(partial))).toBe(partial.length)
      const err = parser.finish()
      expect(err?.code).toBe('ERR_MUMMY_INCOMPLETE_REQUEST')
      expect(err?.status).toBe(400)
      expect(parser.error).toBe(err)
      expect(parser.execute(bytes('x'))).toBe(-1)
    }
    const failed = new RequestParser(noop)
    expect(failed.execute(bytes('GET / HTTP/9.9\r\n'))).toBe(-1)
    expect(failed.finish()).toBe(failed.error)
  })

  it('stays failed until reset()', () => {
    const parser = new RequestParser(noop)
    expect(parser.execute(bytes('GET / HTTP/1.1\r\nHost: h\r\nHost: h\r\n\r\n'))).toBe(-1)
    expect(parser.error).toBeInstanceOf(HttpParseError)
    expect(parser.error).toBeInstanceOf(MummyError)
    expect(parser.error?.code).toBe('ERR_MUMMY_DUPLICATE_HOST')
    expect(parser.idle).toBe(false)
    expect(parser.execute(bytes('GET / HTTP/1.1\r\nHost: h\r\n\r\n'))).toBe(-1)
    parser.reset()
    expect(parser.error).toBeNull()
    expect(parser.idle).toBe(true)
    expect(parser.execute(bytes('GET / HTTP/1.1\r\nHost: h\r\n\r\n'))).toBe(27)
  })

  it('reset() drops a partially parsed request', () => {
    const heads: string[] = []
    const parser = new RequestParser({ ...noop, onHead: (h) => heads.push(h.target) })
    parser.execute(bytes('GET /partial HTTP/1.1\r\nHo'))
    parser.reset()
    parser.execute(bytes('GET /next HTTP/1.1\r\nHost: h\r\n\r\n'))
    expect(heads).toEqual(['/next'])
  })

  it('hands body bytes out as views of the input (no copy)', () => {
    const input = bytes('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody')
    const views: Buffer[] = []
    new RequestParser({ ...noop, onBody: (b) => views.push(b) }).execute(input)
    expect(views).toHaveLength(1)
    expect(views[0]!.buffer).toBe(input.buffer)
    expect(views[0]!.byteOffset).toBe(input.byteOffset + input.length - 4)
  })
})

describe('limits', () => {
  const codeOf = (raw: string, limits: Parameters<typeof run>[1] = {}) =>
    run([bytes(raw)], limits).error?.code ?? null

  it('has the documented defaults', () => {
    expect(DEFAULT_PARSER_LIMITS).toEqual({
      maxHeadersLen: 8192,
      maxUriLen: 8192,
      maxHeaderCount: 100,
      maxBodyLen: 1048576,
      maxChunkExtLen: 1024,
      maxTrailersLen: 8192,
    })
    expect(Object.isFrozen(DEFAULT_PARSER_LIMITS)).toBe(true)
  })

  it('rejects invalid limits', () => {
    expect(() => new RequestParser(noop, { maxBodyLen: -1 })).toThrow(MummyError)
    expect(() => new RequestParser(noop, { maxUriLen: 1.5 })).toThrow(/maxUriLen/)
  })

  it('maxHeadersLen counts the request-line through the empty line, inclusive', () => {
    const raw = 'GET / HTTP/1.1\r\nHost: h\r\nX: 12345\r\n\r\n'
    expect(codeOf(raw, { limits: { maxHeadersLen: raw.length } })).toBeNull()
    expect(codeOf(raw, { limits: { maxHeadersLen: raw.length - 1 } })).toBe(
      'ERR_MUMMY_HEADERS_TOO_LARGE',
    )
    // empty lines before the request-line do not count
    expect(codeOf('\r\n\r\n' + raw, { limits: { maxHeadersLen: raw.length } })).toBeNull()
  })

  it('maxHeadersLen errors as soon as it is exceeded, without waiting for the end of the head', () => {
    const parser = new RequestParser(noop, { maxHeadersLen: 64 })
    expect(parser.execute(bytes('GET / HTTP/1.1\r\nHost: h\r\nX: ' + 'a'.repeat(100)))).toBe(-1)
    expect(parser.error?.status).toBe(431)
  })

  it('a request-line longer than maxHeadersLen is 414', () => {
    expect(
      codeOf(`GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: h\r\n\r\n`, {
        limits: { maxHeadersLen: 50 },
      }),
    ).toBe('ERR_MUMMY_URI_TOO_LONG')
  })

  it('maxUriLen bounds the request-target', () => {
    const target = '/' + 'a'.repeat(99)
    const raw = `GET ${target} HTTP/1.1\r\nHost: h\r\n\r\n`
    expect(codeOf(raw, { limits: { maxUriLen: 100 } })).toBeNull()
    expect(codeOf(raw, { limits: { maxUriLen: 99 } })).toBe('ERR_MUMMY_URI_TOO_LONG')
    // reported before the rest of the request-line arrives
    const parser = new RequestParser(noop, { maxUriLen: 10 })
    expect(parser.execute(bytes('GET /' + 'a'.repeat(10)))).toBe(-1)
    expect(parser.error?.status).toBe(414)
  })

  it('maxHeaderCount bounds header and trailer fields', () => {
    const fields = (n: number) => Array.from({ length: n }, (_, k) => `X-${k}: v\r\n`).join('')
    expect(
      codeOf(`GET / HTTP/1.1\r\nHost: h\r\n${fields(4)}\r\n`, { limits: { maxHeaderCount: 5 } }),
    ).toBeNull()
    expect(
      codeOf(`GET / HTTP/1.1\r\nHost: h\r\n${fields(5)}\r\n`, { limits: { maxHeaderCount: 5 } }),
    ).toBe('ERR_MUMMY_TOO_MANY_HEADERS')
    const chunked = (n: number) =>
      `POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${fields(n)}\r\n`
    expect(codeOf(chunked(3), { limits: { maxHeaderCount: 3 } })).toBeNull()
    expect(codeOf(chunked(4), { limits: { maxHeaderCount: 3 } })).toBe('ERR_MUMMY_TOO_MANY_HEADERS')
  })

  it('Content-Length over maxBodyLen is 413 instead of onHead, before any body byte', () => {
    const calls: string[] = []
    const parser = new RequestParser(
      {
        onHead: () => calls.push('head'),
        onBody: () => calls.push('body'),
        onComplete: () => void calls.push('complete'),
      },
      { maxBodyLen: 10 },
    )
    expect(
      parser.execute(
        bytes('POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n'),
      ),
    ).toBe(-1)
    expect(parser.error?.code).toBe('ERR_MUMMY_BODY_TOO_LARGE')
    expect(parser.error?.status).toBe(413)
    expect(calls).toEqual([])
    expect(
      codeOf('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789', {
        limits: { maxBodyLen: 10 },
      }),
    ).toBeNull()
  })

  it('chunked bodies are bounded cumulatively, when the crossing chunk-size is read', () => {
    const pre = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'
    const limits = { maxBodyLen: 10 }
    expect(codeOf(pre + '5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n', { limits })).toBeNull()
    const bodies: number[] = []
    const parser = new RequestParser({ ...noop, onBody: (b) => bodies.push(b.length) }, limits)
    expect(parser.execute(bytes(pre + '5\r\n01234\r\n6\r\n'))).toBe(-1)
    expect(parser.error?.code).toBe('ERR_MUMMY_BODY_TOO_LARGE')
    expect(bodies).toEqual([5])
  })

  it('maxChunkExtLen bounds the extensions of each chunk line', () => {
    const pre = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'
    const ext = ';a=' + 'b'.repeat(7) // 10 bytes
    expect(
      codeOf(`${pre}1${ext}\r\nx\r\n0${ext}\r\n\r\n`, { limits: { maxChunkExtLen: 10 } }),
    ).toBeNull()
    expect(codeOf(`${pre}1${ext}b\r\nx\r\n0\r\n\r\n`, { limits: { maxChunkExtLen: 10 } })).toBe(
      'ERR_MUMMY_CHUNK_EXT_TOO_LONG',
    )
  })

  it('maxTrailersLen bounds the trailer section, including its final CRLF', () => {
    const pre = 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n'
    const trailers = 'X-T: 123\r\n\r\n' // 12 bytes
    expect(codeOf(pre + trailers, { limits: { maxTrailersLen: 12 } })).toBeNull()
    expect(codeOf(pre + trailers, { limits: { maxTrailersLen: 11 } })).toBe(
      'ERR_MUMMY_TRAILERS_TOO_LARGE',
    )
  })
})

describe('bounded memory', () => {
  it('a never-ending header line fed one byte at a time fails at the limit; scratch stays bounded', () => {
    const parser = new RequestParser(noop)
    const prefix = bytes('GET / HTTP/1.1\r\nHost: h\r\nX-Long: ')
    for (const piece of bytewise(prefix)) expect(parser.execute(piece)).toBe(1)
    const a = bytes('a')
    let fed = prefix.length
    while (parser.execute(a) === 1) {
      fed++
      if (fed > 100_000) break
    }
    expect(fed).toBe(DEFAULT_PARSER_LIMITS.maxHeadersLen)
    expect(parser.error?.code).toBe('ERR_MUMMY_HEADERS_TOO_LARGE')
    expect(parser.scratchCapacity).toBeLessThanOrEqual(DEFAULT_PARSER_LIMITS.maxHeadersLen)
  })

  it('a never-ending request-target fed in small pieces fails with 414; scratch stays bounded', () => {
    const parser = new RequestParser(noop, { maxUriLen: 1000, maxHeadersLen: 4000 })
    expect(parser.execute(bytes('GET /'))).toBe(5)
    let result = 0
    for (let k = 0; k < 1000 && result !== -1; k++) result = parser.execute(bytes('abc'))
    expect(parser.error?.code).toBe('ERR_MUMMY_URI_TOO_LONG')
    expect(parser.scratchCapacity).toBeLessThanOrEqual(4000)
  })

  it('a never-ending trailer section fails at maxTrailersLen', () => {
    const parser = new RequestParser(noop, { maxTrailersLen: 500 })
    parser.execute(
      bytes('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: '),
    )
    let n = 3
    while (parser.execute(bytes('v')) === 1) n++
    expect(n).toBe(500)
    expect(parser.error?.code).toBe('ERR_MUMMY_TRAILERS_TOO_LARGE')
    expect(parser.scratchCapacity).toBeLessThanOrEqual(500)
  })

  it('endless chunk extensions fail at maxChunkExtLen without buffering', () => {
    const parser = new RequestParser(noop)
    parser.execute(bytes('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1;a='))
    let n = 3
    while (parser.execute(bytes('b')) === 1) n++
    expect(n).toBe(DEFAULT_PARSER_LIMITS.maxChunkExtLen)
    expect(parser.error?.code).toBe('ERR_MUMMY_CHUNK_EXT_TOO_LONG')
    expect(parser.scratchCapacity).toBe(0)
  })

  it('a large body streams through without buffering', () => {
    const size = 1024 * 1024
    const parser = new RequestParser(noop)
    parser.execute(bytes(`POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`))
    const block = Buffer.alloc(64 * 1024, 0x61)
    for (let k = 0; k < size / block.length; k++) expect(parser.execute(block)).toBe(block.length)
    expect(parser.idle).toBe(true)
    expect(parser.scratchCapacity).toBe(0)
  })
})
