import { describe, expect, it } from '@jest/globals'
import {
  HTTP_PARSE_ERROR_STATUS,
  type HttpParseErrorCode,
  type ParserLimits,
} from '../dist/index.js'
import { bytes, bytewise, run, splitAt } from './harness.js'

interface Hostile {
  name: string
  /** Raw request bytes (latin1: `\xNN` is one byte). */
  raw: string
  code: HttpParseErrorCode
  status: number
  /** The error comes after onHead (in the body); otherwise onHead must never have been called. */
  afterHead?: boolean
  limits?: Partial<ParserLimits>
}

const H = 'Host: h\r\n'
const get = (fields: string) => `GET / HTTP/1.1\r\n${H}${fields}\r\n`
const post = (fields: string, body = '') => `POST / HTTP/1.1\r\n${H}${fields}\r\n${body}`
const chunked = (body: string) => post('Transfer-Encoding: chunked\r\n', body)
const line = (requestLine: string) => `${requestLine}\r\n${H}\r\n`

// One request per line reads best as a table.
// prettier-ignore
const cases: Hostile[] = [
  // ---- request smuggling shapes ----------------------------------------------------------------
  { name: 'CL then TE', raw: post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), code: 'ERR_MUMMY_CL_AND_TE', status: 400 },
  { name: 'TE then CL', raw: post('Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n'), code: 'ERR_MUMMY_CL_AND_TE', status: 400 },
  { name: 'TE chunked with CL 0', raw: post('Transfer-Encoding: chunked\r\nContent-Length: 0\r\n'), code: 'ERR_MUMMY_CL_AND_TE', status: 400 },
  { name: 'TE: xchunked', raw: post('Transfer-Encoding: xchunked\r\n'), code: 'ERR_MUMMY_UNSUPPORTED_TRANSFER_ENCODING', status: 501 },
  { name: 'TE: chunked, gzip', raw: post('Transfer-Encoding: chunked, gzip\r\n'), code: 'ERR_MUMMY_CHUNKED_NOT_LAST', status: 400 },
  { name: 'TE: gzip, chunked', raw: post('Transfer-Encoding: gzip, chunked\r\n'), code: 'ERR_MUMMY_UNSUPPORTED_TRANSFER_ENCODING', status: 501 },
  { name: 'TE: chunked, chunked', raw: post('Transfer-Encoding: chunked, chunked\r\n'), code: 'ERR_MUMMY_CHUNKED_NOT_LAST', status: 400 },
  { name: 'TE chunked on two lines', raw: post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n'), code: 'ERR_MUMMY_CHUNKED_NOT_LAST', status: 400 },
  { name: 'TE: identity', raw: post('Transfer-Encoding: identity\r\n'), code: 'ERR_MUMMY_UNSUPPORTED_TRANSFER_ENCODING', status: 501 },
  { name: 'TE: empty', raw: post('Transfer-Encoding: \r\n'), code: 'ERR_MUMMY_INVALID_TRANSFER_ENCODING', status: 400 },
  { name: 'TE: "chunked" quoted', raw: post('Transfer-Encoding: "chunked"\r\n'), code: 'ERR_MUMMY_INVALID_TRANSFER_ENCODING', status: 400 },
  { name: 'TE: chunked;q=1', raw: post('Transfer-Encoding: chunked;q=1\r\n'), code: 'ERR_MUMMY_INVALID_TRANSFER_ENCODING', status: 400 },
  { name: 'TE: chunked x (two words)', raw: post('Transfer-Encoding: chunked x\r\n'), code: 'ERR_MUMMY_INVALID_TRANSFER_ENCODING', status: 400 },
  { name: 'leading space before the first field name', raw: 'POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: h\r\n\r\n', code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'leading space before a later field name', raw: post(' Transfer-Encoding: chunked\r\n'), code: 'ERR_MUMMY_OBS_FOLD', status: 400 },
  { name: 'space before colon', raw: post('Transfer-Encoding : chunked\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'tab before colon', raw: post('Content-Length\t: 0\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'duplicate CL, equal values', raw: post('Content-Length: 3\r\nContent-Length: 3\r\n', 'abc'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: 1, 1', raw: post('Content-Length: 1, 1\r\n', 'a'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: +5', raw: post('Content-Length: +5\r\n', 'abcde'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: -1', raw: post('Content-Length: -1\r\n'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: 0x10', raw: post('Content-Length: 0x10\r\n'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: 1 2', raw: post('Content-Length: 1 2\r\n'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: empty', raw: post('Content-Length:\r\n'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: huge', raw: post('Content-Length: 99999999999999999999999\r\n'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: 2^53', raw: post('Content-Length: 9007199254740992\r\n'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'CL: 2^53 - 1 is valid but over maxBodyLen', raw: post('Content-Length: 9007199254740991\r\n'), code: 'ERR_MUMMY_BODY_TOO_LARGE', status: 413 },
  { name: 'CL: superscript two (latin1 0xB2)', raw: post('Content-Length: \xb2\r\n'), code: 'ERR_MUMMY_INVALID_CONTENT_LENGTH', status: 400 },
  { name: 'Kelvin sign (UTF-8) in chunked', raw: post('Transfer-Encoding: chun\xe2\x84\xaaed\r\n'), code: 'ERR_MUMMY_INVALID_TRANSFER_ENCODING', status: 400 },
  { name: 'NBSP after chunked', raw: post('Transfer-Encoding: chunked\xa0\r\n'), code: 'ERR_MUMMY_INVALID_TRANSFER_ENCODING', status: 400 },
  { name: 'latin1 look-alike in chunked', raw: post('Transfer-Encoding: ch\xfcnked\r\n'), code: 'ERR_MUMMY_INVALID_TRANSFER_ENCODING', status: 400 },
  { name: 'vertical tab before chunked', raw: post('Transfer-Encoding: \x0bchunked\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_VALUE', status: 400 },
  { name: 'non-ASCII byte in a field name', raw: post('Transfer-Encodin\xe2\x84\xaa: chunked\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'TE in HTTP/1.0', raw: 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', code: 'ERR_MUMMY_TE_IN_HTTP10', status: 400 },

  // ---- chunked framing --------------------------------------------------------------------------
  { name: 'chunk size g', raw: chunked('g\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_SIZE', status: 400, afterHead: true },
  { name: 'chunk size empty', raw: chunked('\r\nabc\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_SIZE', status: 400, afterHead: true },
  { name: 'chunk size -1', raw: chunked('-1\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_SIZE', status: 400, afterHead: true },
  { name: 'chunk size 0x5', raw: chunked('0x5\r\nhello\r\n0\r\n\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_SIZE', status: 400, afterHead: true },
  { name: 'chunk size with leading space', raw: chunked(' 5\r\nhello\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_SIZE', status: 400, afterHead: true },
  { name: 'chunk size with trailing space', raw: chunked('5 \r\nhello\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_SIZE', status: 400, afterHead: true },
  { name: 'chunk size 17 hex digits', raw: chunked('10000000000000000\r\n'), code: 'ERR_MUMMY_CHUNK_SIZE_OVERFLOW', status: 400, afterHead: true },
  { name: 'chunk size 17 digits with leading zeros', raw: chunked('00000000000000001\r\nx\r\n'), code: 'ERR_MUMMY_CHUNK_SIZE_OVERFLOW', status: 400, afterHead: true },
  { name: 'chunk size 2^53', raw: chunked('20000000000000\r\n'), code: 'ERR_MUMMY_CHUNK_SIZE_OVERFLOW', status: 400, afterHead: true },
  { name: 'chunk-size line ends with bare LF', raw: chunked('5\nhello\r\n'), code: 'ERR_MUMMY_INVALID_EOL', status: 400, afterHead: true },
  { name: 'chunk data longer than its size', raw: chunked('3\r\nabcd\r\n0\r\n\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK', status: 400, afterHead: true },
  { name: 'chunk data followed by bare LF', raw: chunked('3\r\nabc\n0\r\n\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK', status: 400, afterHead: true },
  { name: 'chunk data followed by CR only', raw: chunked('3\r\nabc\r0\r\n\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK', status: 400, afterHead: true },
  { name: 'chunk ext with empty name', raw: chunked('5;\r\nhello\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_EXT', status: 400, afterHead: true },
  { name: 'chunk ext with empty value', raw: chunked('5;a=\r\nhello\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_EXT', status: 400, afterHead: true },
  { name: 'chunk ext with unterminated quote', raw: chunked('5;a="x\r\nhello\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_EXT', status: 400, afterHead: true },
  { name: 'chunk ext with two words', raw: chunked('5;a b\r\nhello\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_EXT', status: 400, afterHead: true },
  { name: 'chunk ext with NUL', raw: chunked('5;a=\x00\r\nhello\r\n'), code: 'ERR_MUMMY_INVALID_CHUNK_EXT', status: 400, afterHead: true },
  { name: 'oversized chunk ext', raw: chunked(`5;a=${'b'.repeat(2000)}\r\nhello\r\n0\r\n\r\n`), code: 'ERR_MUMMY_CHUNK_EXT_TOO_LONG', status: 400, afterHead: true },
  { name: 'obs-fold in trailers', raw: chunked('0\r\nX-T: a\r\n b\r\n\r\n'), code: 'ERR_MUMMY_OBS_FOLD', status: 400, afterHead: true },
  { name: 'bare LF in trailers', raw: chunked('0\r\nX-T: a\n\r\n'), code: 'ERR_MUMMY_INVALID_EOL', status: 400, afterHead: true },
  { name: 'oversized trailers', raw: chunked(`0\r\nX-T: ${'t'.repeat(9000)}\r\n\r\n`), code: 'ERR_MUMMY_TRAILERS_TOO_LARGE', status: 431, afterHead: true },
  { name: 'oversized body by chunks', raw: chunked('80000\r\n'), code: 'ERR_MUMMY_BODY_TOO_LARGE', status: 413, afterHead: true, limits: { maxBodyLen: 0x7ffff } },
  { name: 'oversized body by cumulative chunks', raw: chunked(`3\r\nabc\r\n3\r\ndef\r\n`), code: 'ERR_MUMMY_BODY_TOO_LARGE', status: 413, afterHead: true, limits: { maxBodyLen: 5 } },

  // ---- field syntax -----------------------------------------------------------------------------
  { name: 'bare CR in a field value', raw: get('X: a\rb\r\n'), code: 'ERR_MUMMY_INVALID_EOL', status: 400 },
  { name: 'bare LF line endings', raw: 'GET / HTTP/1.1\nHost: h\n\n', code: 'ERR_MUMMY_INVALID_EOL', status: 400 },
  { name: 'bare LF after a field line', raw: get('X: a\n'), code: 'ERR_MUMMY_INVALID_EOL', status: 400 },
  { name: 'bare LF ending the head', raw: `GET / HTTP/1.1\r\n${H}\n`, code: 'ERR_MUMMY_INVALID_EOL', status: 400 },
  { name: 'obs-fold with SP', raw: get('X: a\r\n b\r\n'), code: 'ERR_MUMMY_OBS_FOLD', status: 400 },
  { name: 'obs-fold with HTAB', raw: get('X: a\r\n\tb\r\n'), code: 'ERR_MUMMY_OBS_FOLD', status: 400 },
  { name: 'NUL in a value', raw: get('X: a\x00b\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_VALUE', status: 400 },
  { name: 'DEL in a value', raw: get('X: a\x7fb\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_VALUE', status: 400 },
  { name: 'ESC in a value', raw: get('X: \x1b[31m\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_VALUE', status: 400 },
  { name: 'NUL in a name', raw: get('X\x00Y: a\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'empty field name', raw: get(': a\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'field line without colon', raw: get('NoColon\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'separator in a field name', raw: get('X(Y): a\r\n'), code: 'ERR_MUMMY_INVALID_HEADER_NAME', status: 400 },
  { name: 'too many headers', raw: get(Array.from({ length: 100 }, (_, k) => `X-${k}: v\r\n`).join('')), code: 'ERR_MUMMY_TOO_MANY_HEADERS', status: 431 },
  { name: 'oversized headers', raw: get(`X: ${'x'.repeat(8200)}\r\n`), code: 'ERR_MUMMY_HEADERS_TOO_LARGE', status: 431 },
  { name: 'missing Host on HTTP/1.1', raw: 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', code: 'ERR_MUMMY_MISSING_HOST', status: 400 },
  { name: 'two Host fields', raw: get('host: evil\r\n'), code: 'ERR_MUMMY_DUPLICATE_HOST', status: 400 },
  { name: 'oversized body by Content-Length', raw: post('Content-Length: 1048577\r\n'), code: 'ERR_MUMMY_BODY_TOO_LARGE', status: 413 },
  { name: 'oversized body with Expect: 100-continue', raw: post('Expect: 100-continue\r\nContent-Length: 2000\r\n'), code: 'ERR_MUMMY_BODY_TOO_LARGE', status: 413, limits: { maxBodyLen: 1000 } },

  // ---- request-line -----------------------------------------------------------------------------
  { name: 'space in target', raw: line('GET /a b HTTP/1.1'), code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'tab in target', raw: line('GET /a\tb HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'non-ASCII in target', raw: line('GET /caf\xe9 HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'DEL in target', raw: line('GET /a\x7f HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'two spaces after the method', raw: line('GET  / HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'two spaces before the version', raw: line('GET /  HTTP/1.1'), code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'relative target', raw: line('GET index.html HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'asterisk-form for GET', raw: line('GET * HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'origin-form for CONNECT', raw: line('CONNECT / HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'absolute-form with empty authority', raw: line('GET http:///x HTTP/1.1'), code: 'ERR_MUMMY_INVALID_TARGET', status: 400 },
  { name: 'invalid method character', raw: line('GE(T / HTTP/1.1'), code: 'ERR_MUMMY_INVALID_METHOD', status: 400 },
  { name: 'non-ASCII method', raw: line('G\xc9T / HTTP/1.1'), code: 'ERR_MUMMY_INVALID_METHOD', status: 400 },
  { name: 'method longer than 32 bytes', raw: line(`${'A'.repeat(33)} / HTTP/1.1`), code: 'ERR_MUMMY_INVALID_METHOD', status: 400 },
  { name: 'leading space', raw: line(' GET / HTTP/1.1'), code: 'ERR_MUMMY_INVALID_METHOD', status: 400 },
  { name: 'bare LF before the request-line', raw: `\n${line('GET / HTTP/1.1')}`, code: 'ERR_MUMMY_INVALID_EOL', status: 400 },
  { name: 'lowercase http/1.1', raw: line('GET / http/1.1'), code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'trailing space after the version', raw: line('GET / HTTP/1.1 '), code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'HTTP/2.0', raw: line('GET / HTTP/2.0'), code: 'ERR_MUMMY_UNSUPPORTED_VERSION', status: 505 },
  { name: 'HTTP/1.2', raw: line('GET / HTTP/1.2'), code: 'ERR_MUMMY_UNSUPPORTED_VERSION', status: 505 },
  { name: 'HTTP/0.9 version', raw: line('GET / HTTP/0.9'), code: 'ERR_MUMMY_UNSUPPORTED_VERSION', status: 505 },
  { name: 'HTTP/1', raw: line('GET / HTTP/1'), code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'HTTP/1.10', raw: line('GET / HTTP/1.10'), code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'HTTP/11.1', raw: line('GET / HTTP/11.1'), code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'HTTP/0.9-style request (no version)', raw: 'GET /\r\n', code: 'ERR_MUMMY_INVALID_VERSION', status: 400 },
  { name: 'request-line ends with bare LF', raw: 'GET / HTTP/1.1\nHost: h\r\n\r\n', code: 'ERR_MUMMY_INVALID_EOL', status: 400 },
  { name: 'CR without LF after the request-line', raw: 'GET / HTTP/1.1\rHost: h\r\n\r\n', code: 'ERR_MUMMY_INVALID_EOL', status: 400 },
  { name: 'oversized target', raw: line(`GET /${'a'.repeat(8192)} HTTP/1.1`), code: 'ERR_MUMMY_URI_TOO_LONG', status: 414 },
  { name: 'too many empty lines first', raw: `\r\n\r\n\r\n\r\n\r\n${line('GET / HTTP/1.1')}`, code: 'ERR_MUMMY_INVALID_METHOD', status: 400 },
]

describe('malformed and hostile requests', () => {
  it('has a large table', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50)
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length)
  })

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, () => {
      const input = bytes(c.raw)
      const options = c.limits === undefined ? {} : { limits: c.limits }
      const whole = run([input], options)
      expect(whole.error).toEqual({ code: c.code, status: c.status })
      expect(HTTP_PARSE_ERROR_STATUS[c.code]).toBe(c.status)
      expect(whole.requests).toEqual([])
      if (c.afterHead === true) expect(whole.pendingHead).not.toBeNull()
      else expect(whole.pendingHead).toBeNull()
      // same outcome whatever the split
      expect(run(bytewise(input), options)).toEqual(whole)
      const step = input.length > 400 ? 7 : 1
      for (let at = 0; at <= input.length; at += step) {
        const split = run(splitAt(input, at), options)
        if (split.error?.code !== c.code)
          expect({ at, error: split.error }).toEqual({ at, error: whole.error })
      }
    })
  }
})

describe('hostile but valid', () => {
  it('__proto__, constructor and prototype are ordinary headers', () => {
    const r = run([bytes(get('__proto__: x\r\nconstructor: y\r\nprototype: z\r\n'))])
    expect(r.error).toBeNull()
    expect(r.requests[0]?.head.headers).toEqual([
      'Host',
      'h',
      '__proto__',
      'x',
      'constructor',
      'y',
      'prototype',
      'z',
    ])
  })

  it('a Kelvin sign in a Connection value is not "keep-alive"', () => {
    const r = run([bytes('GET / HTTP/1.0\r\nConnection: \xe2\x84\xaaeep-alive\r\n\r\n')])
    expect(r.error).toBeNull()
    expect(r.requests[0]?.head.keepAlive).toBe(false)
  })

  it('a Kelvin sign in Expect is not 100-continue', () => {
    const r = run([bytes(post('Expect: 100-continu\xe2\x84\xaa\r\nContent-Length: 1\r\n', 'x'))])
    expect(r.requests[0]?.head.expectContinue).toBe(false)
  })

  it('a chunked look-alike field name is just a header', () => {
    const r = run([bytes(post('Transfer_Encoding: chunked\r\nContent-Length: 1\r\n', 'x'))])
    expect(r.error).toBeNull()
    expect(r.requests[0]?.head.chunked).toBe(false)
    expect(r.requests[0]?.body).toBe('x')
  })
})
