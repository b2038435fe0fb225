// HeadCheck applies RequestParser's rules to a head another parser already split. The test is
// differential: many generated heads, written out as bytes for RequestParser and given split to
// HeadCheck; wherever the parser's verdict does not depend on bytes HeadCheck never sees, both
// must agree on the code.
import { describe, expect, it } from '@jest/globals'
import { HeadCheck, RequestParser, type ParserOptions } from '../dist/index.js'

const IGNORE = { onHead() {}, onBody() {}, onComplete() {} }

/** The parser's verdict on the head written out as bytes: an error code, or null. */
function parserVerdict(
  method: string,
  target: string,
  headers: readonly string[],
  options: ParserOptions,
): string | null {
  let head = `${method} ${target} HTTP/1.1\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`
  head += '\r\n'
  const parser = new RequestParser(IGNORE, options)
  return parser.execute(Buffer.from(head, 'latin1')) < 0 ? (parser.error?.code ?? '?') : null
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const METHODS = ['GET', 'POST', 'OPTIONS', 'CONNECT', 'PUT', 'G(T', 'X'.repeat(33), 'DELETE']
const TARGETS = [
  '/',
  '/a?b=c',
  '*',
  'http://example.com/x',
  'http://user@example.com/',
  'example.com:443',
  'http:///x',
  '/\x7f',
  '/é',
  'a'.repeat(300),
]
const FIELDS: Array<[string, string[]]> = [
  ['Host', ['example.com', 'example.com:8080', '[::1]:80', 'bad host', '', 'a%zz', 'x.y']],
  ['Content-Length', ['0', '5', '007', '1, 1', '-1', '', '99999999999999999999', '2000']],
  [
    'Transfer-Encoding',
    ['chunked', 'gzip, chunked', 'chunked, gzip', 'chunked;a=b', '', ' , chunked', '"chunked"'],
  ],
  ['Connection', ['close', 'keep-alive, Upgrade', 'upgrade']],
  ['Upgrade', ['websocket']],
  ['Expect', ['100-continue']],
  [
    'X-Custom',
    ['ok', 'tab\there', 'nul\x00', 'del\x7f', 'high\xe9', '  padded  ', 'v'.repeat(250)],
  ],
  ['X-Big', ['v'.repeat(250), ' '.repeat(240) + 'v']],
  ['Bad Name', ['x']],
  ['Bad\x01', ['x']],
]

describe('HeadCheck', () => {
  it('agrees with RequestParser on 20,000 generated heads', () => {
    const random = prng(20261205)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
    const options: ParserOptions = { maxHeadersLen: 600, maxUriLen: 200, maxBodyLen: 1000 }
    const check = new HeadCheck(options)
    const verdicts = new Map<string, number>()
    for (let n = 0; n < 20_000; n++) {
      const method = pick(METHODS)
      const target = pick(TARGETS)
      const headers: string[] = []
      const count = Math.floor(random() * 5)
      if (random() < 0.85) headers.push('Host', 'example.com')
      for (let k = 0; k < count; k++) {
        const [name, values] = pick(FIELDS)
        headers.push(random() < 0.5 ? name : name.toLowerCase(), pick(values))
      }
      const expected = parserVerdict(method, target, headers, options)
      const got = check.check(method, target, 1, headers)?.code ?? null
      if (got !== expected) {
        throw new Error(
          `${JSON.stringify([method, target, headers])}: parser ${expected}, HeadCheck ${got}`,
        )
      }
      verdicts.set(String(expected), (verdicts.get(String(expected)) ?? 0) + 1)
    }
    // The corpus reaches acceptance and the interesting refusals.
    for (const code of [
      'null',
      'ERR_MUMMY_INVALID_METHOD',
      'ERR_MUMMY_INVALID_TARGET',
      'ERR_MUMMY_URI_TOO_LONG',
      'ERR_MUMMY_CONNECT_UNSUPPORTED',
      'ERR_MUMMY_INVALID_HOST',
      'ERR_MUMMY_MISSING_HOST',
      'ERR_MUMMY_DUPLICATE_HOST',
      'ERR_MUMMY_INVALID_CONTENT_LENGTH',
      'ERR_MUMMY_CL_AND_TE',
      'ERR_MUMMY_UNSUPPORTED_TRANSFER_ENCODING',
      'ERR_MUMMY_CHUNKED_NOT_LAST',
      'ERR_MUMMY_INVALID_TRANSFER_ENCODING',
      'ERR_MUMMY_BODY_TOO_LARGE',
      'ERR_MUMMY_INVALID_HEADER_NAME',
      'ERR_MUMMY_INVALID_HEADER_VALUE',
      'ERR_MUMMY_HEADERS_TOO_LARGE',
    ]) {
      expect([code, verdicts.get(code) ?? 0]).not.toEqual([code, 0])
    }
  })

  it('counts the head as written out: exactly maxHeadersLen passes, one byte more is 431', () => {
    // "GET / HTTP/1.1\r\n" (16) + "Host: h\r\n" (9) + "X: <v>\r\n" (5 + v) + "\r\n" (2)
    const check = new HeadCheck({ maxHeadersLen: 100 })
    expect(check.check('GET', '/', 1, ['Host', 'h', 'X', 'v'.repeat(68)])).toBeNull()
    expect(check.check('GET', '/', 1, ['Host', 'h', 'X', 'v'.repeat(69)])?.code).toBe(
      'ERR_MUMMY_HEADERS_TOO_LARGE',
    )
  })

  it('refuses too many fields with 431, and a value decoded past 0xFF only where bytes would fail', () => {
    const check = new HeadCheck({ maxHeaderCount: 2 })
    const error = check.check('GET', '/', 1, ['Host', 'h', 'A', '1', 'B', '2'])
    expect([error?.code, error?.status]).toEqual(['ERR_MUMMY_TOO_MANY_HEADERS', 431])
    expect(check.check('GET', '/', 1, ['Host', 'h', 'X', 'naïve ✓'])).toBeNull()
    expect(check.check('GET', '/', 1, ['Host', 'h', 'X✓', 'v'])?.code).toBe(
      'ERR_MUMMY_INVALID_HEADER_NAME',
    )
  })

  it('is reused across heads without carrying anything over', () => {
    const check = new HeadCheck()
    expect(check.check('POST', '/', 1, ['Host', 'h', 'Content-Length', '5'])).toBeNull()
    expect(check.check('POST', '/', 1, ['Host', 'h', 'Content-Length', '5'])).toBeNull()
    expect(check.check('POST', '/', 1, ['Host', 'h', 'Transfer-Encoding', 'chunked'])).toBeNull()
    expect(check.check('GET', '/', 1, ['Host', 'h'])).toBeNull()
  })
})
