// The HTTP/1 framing rules (http1/framing.ts) as functions — every branch of streamFraming,
// closesAfter and KnownLength. The same rules on the wire, through both transports, are in
// @mummy/uws's framing-wire.test.ts (the package that has both).
//
// A user's own `Transfer-Encoding` or `Content-Length` never reaches these rules: the transport's
// headers are validated by its caller (the server drops those names, request.ts MANAGED), and
// framing is decided from the status, the version and the length alone — which the functions'
// signatures show, and the wire tests confirm (one framing header each, the one the rule chose).
import { describe, expect, it } from '@jest/globals'
import { KnownLength, closesAfter, streamFraming } from '../dist/http1/framing.js'

const BODYLESS = [100, 101, 102, 103, 150, 199, 204, 304]
const BODIED = [200, 201, 202, 203, 205, 206, 299, 300, 301, 303, 305, 307, 400, 404, 500, 599]

describe('streamFraming', () => {
  it.each(BODYLESS)('%i: none, whatever the version and length', (status) => {
    for (const minor of [0, 1] as const)
      for (const length of [-1, 0, 1, 10, 2 ** 40]) {
        expect([minor, length, streamFraming(status, minor, length)]).toEqual([
          minor,
          length,
          'none',
        ])
      }
  })

  it.each(BODIED)('%i: length when known (0 included), else chunked (1.1) or close (1.0)', (s) => {
    for (const length of [0, 1, 65_536, 2 ** 40]) {
      expect(streamFraming(s, 1, length)).toBe('length')
      expect(streamFraming(s, 0, length)).toBe('length')
    }
    expect(streamFraming(s, 1, -1)).toBe('chunked')
    expect(streamFraming(s, 0, -1)).toBe('close')
  })

  it('the edges of the bodyless range: 199 has no body, 200 has; 203 and 205 have, 204 not; 303/305 have, 304 not', () => {
    const at = (status: number): string => streamFraming(status, 1, -1)
    expect([199, 200, 203, 204, 205, 303, 304, 305].map(at)).toEqual([
      'none',
      'chunked',
      'chunked',
      'none',
      'chunked',
      'chunked',
      'none',
      'chunked',
    ])
  })

  it('a streamed 204 or 304 on HTTP/1.0 is not close-delimited: it has no body to delimit', () => {
    // (What keeps an HTTP/1.0 keep-alive connection open after one: see the wire tests.)
    expect(streamFraming(204, 0, -1)).toBe('none')
    expect(streamFraming(304, 0, -1)).toBe('none')
    expect(streamFraming(200, 0, -1)).toBe('close')
  })
})

describe('closesAfter', () => {
  it('closes when any reason holds, and only then (all 16 combinations)', () => {
    for (let bits = 0; bits < 16; bits++) {
      const keepAlive = (bits & 1) !== 0
      const refusedUpgrade = (bits & 2) !== 0
      const serverClosing = (bits & 4) !== 0
      const answerCloses = (bits & 8) !== 0
      const expected = !keepAlive || refusedUpgrade || serverClosing || answerCloses
      expect([bits, closesAfter(keepAlive, refusedUpgrade, serverClosing, answerCloses)]).toEqual([
        bits,
        expected,
      ])
    }
    // The one combination that keeps the connection:
    expect(closesAfter(true, false, false, false)).toBe(false)
  })
})

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8')
const text = (chunk: Uint8Array | string): string =>
  typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('latin1')

describe('KnownLength', () => {
  it('unknown length (-1): every piece passes whole, the same object, strings stay strings; never cut or short', () => {
    const body = new KnownLength(-1)
    expect([body.length, body.remaining, body.short, body.cut]).toEqual([-1, 0, false, false])
    const piece = bytes('hello')
    expect(body.clip(piece)).toBe(piece)
    expect(body.clip('wörld')).toBe('wörld')
    expect(body.clip('')).toBe('')
    const big = Buffer.alloc(1 << 20)
    expect(body.clip(big)).toBe(big)
    expect([body.remaining, body.short, body.cut]).toEqual([0, false, false])
  })

  it('length 0: nothing passes; a non-empty piece is cut, an empty one is not; never short', () => {
    const body = new KnownLength(0)
    expect([body.remaining, body.short]).toEqual([0, false])
    expect(body.clip('x')).toHaveLength(0)
    expect(body.cut).toBe(true)
    expect(body.clip(bytes(''))).toHaveLength(0)
    expect(body.cut).toBe(false)
    expect(body.clip(bytes('abc'))).toHaveLength(0)
    expect(body.cut).toBe(true)
    expect(body.short).toBe(false)
  })

  it('exact: pieces that add up to the length pass whole (the same bytes); then neither short nor cut', () => {
    const body = new KnownLength(10)
    expect([body.remaining, body.short]).toEqual([10, true])
    const a = bytes('abcd')
    expect(body.clip(a)).toBe(a)
    expect([body.remaining, body.cut, body.short]).toEqual([6, false, true])
    const b = bytes('efghij')
    expect(body.clip(b)).toBe(b)
    expect([body.remaining, body.cut, body.short]).toEqual([0, false, false])
    // An empty piece at the end is not a cut.
    expect(body.clip('')).toHaveLength(0)
    expect([body.remaining, body.cut, body.short]).toEqual([0, false, false])
  })

  it('over: the piece that crosses the length is cut to it (a view of its bytes), later pieces are dropped whole', () => {
    const body = new KnownLength(5)
    expect(text(body.clip('abc'))).toBe('abc')
    expect(body.cut).toBe(false)
    const crossing = bytes('defgh')
    const clipped = body.clip(crossing) as Uint8Array
    expect(text(clipped)).toBe('de')
    expect(clipped.buffer).toBe(crossing.buffer)
    expect(clipped.byteOffset).toBe(crossing.byteOffset)
    expect([body.remaining, body.cut, body.short]).toEqual([0, true, false])
    expect(body.clip('more')).toHaveLength(0)
    expect(body.cut).toBe(true)
    // `cut` describes the last clip only.
    expect(body.clip('')).toHaveLength(0)
    expect(body.cut).toBe(false)
  })

  it('short: an end before the length is told by `short`, with what is missing in `remaining`', () => {
    const body = new KnownLength(100)
    body.clip(Buffer.alloc(30))
    body.clip('x'.repeat(30))
    expect([body.remaining, body.short, body.cut]).toEqual([40, true, false])
    body.clip(Buffer.alloc(39))
    expect([body.remaining, body.short]).toEqual([1, true])
    body.clip('z')
    expect([body.remaining, body.short]).toEqual([0, false])
  })

  it('strings are counted in UTF-8 bytes and come back as bytes; a cut may fall inside a character', () => {
    const body = new KnownLength(4)
    // 'a' (1 byte), 'é' (2), '€' (3): 6 bytes.
    const clipped = body.clip('aé€')
    expect(typeof clipped).not.toBe('string')
    expect(Buffer.from(clipped as Uint8Array)).toEqual(Buffer.from('aé€').subarray(0, 4))
    expect([body.remaining, body.cut, body.short]).toEqual([0, true, false])

    const exact = new KnownLength(6)
    expect(Buffer.from(exact.clip('aé€') as Uint8Array).toString('utf8')).toBe('aé€')
    expect([exact.remaining, exact.cut, exact.short]).toEqual([0, false, false])
  })

  it('two pieces split at every byte, for every length from 0 to past the body: the first `length` bytes, cut and short as they should be', () => {
    const body = bytes('0123456789abcdef')
    const n = body.length
    for (let length = 0; length <= n + 3; length++) {
      for (let split = 0; split <= n; split++) {
        for (const asString of [false, true]) {
          const known = new KnownLength(length)
          const first = asString
            ? body.subarray(0, split).toString('latin1')
            : body.subarray(0, split)
          const second = asString ? body.subarray(split).toString('latin1') : body.subarray(split)
          const a = known.clip(first)
          const cutA = known.cut
          const b = known.clip(second)
          const cutB = known.cut
          const got = text(a) + text(b)
          const where = { length, split, asString }
          expect({ ...where, got }).toEqual({
            ...where,
            got: body.subarray(0, Math.min(length, n)).toString('latin1'),
          })
          expect({ ...where, cutA, cutB }).toEqual({
            ...where,
            cutA: split > length,
            cutB: n - split > Math.max(0, length - split),
          })
          expect({ ...where, remaining: known.remaining, short: known.short }).toEqual({
            ...where,
            remaining: Math.max(0, length - n),
            short: length > n,
          })
        }
      }
    }
  })

  it('three pieces split at every pair of bytes: the same bytes and the same end as one piece', () => {
    const body = bytes('abcdefghij')
    const n = body.length
    for (const length of [0, 3, n - 1, n, n + 1]) {
      for (let i = 0; i <= n; i++)
        for (let j = i; j <= n; j++) {
          const known = new KnownLength(length)
          const got = [body.subarray(0, i), body.subarray(i, j), body.subarray(j)]
            .map((piece) => text(known.clip(piece)))
            .join('')
          const where = { length, i, j }
          expect({ ...where, got, short: known.short }).toEqual({
            ...where,
            got: body.subarray(0, Math.min(length, n)).toString('latin1'),
            short: length > n,
          })
        }
    }
  })
})
