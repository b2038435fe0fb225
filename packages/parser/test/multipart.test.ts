import { describe, expect, it } from '@jest/globals'
import {
  MultipartError,
  MultipartParser,
  multipartBoundary,
  parseContentDisposition,
  type MultipartLimits,
  type PartHeaders,
} from '../dist/index.js'

interface Part {
  name: string
  filename: string | undefined
  contentType: string
  data: Buffer
}

/** Parses `pieces` as one body; returns the parts (content joined) and whether onEnd came. */
function parse(
  boundary: string,
  pieces: Uint8Array[],
  limits?: MultipartLimits,
): { parts: Part[]; ended: boolean } {
  const parts: Part[] = []
  let current: { head: PartHeaders; chunks: Buffer[] } | null = null
  let ended = false
  const parser = new MultipartParser(
    boundary,
    {
      onPartBegin(head) {
        expect(current).toBeNull()
        current = { head, chunks: [] }
      },
      onPartData(chunk) {
        // Views are valid only during the call: copy.
        current!.chunks.push(Buffer.from(chunk))
      },
      onPartEnd() {
        const c = current!
        parts.push({
          name: c.head.name,
          filename: c.head.filename,
          contentType: c.head.contentType,
          data: Buffer.concat(c.chunks),
        })
        current = null
      },
      onEnd() {
        ended = true
      },
    },
    limits,
  )
  for (const piece of pieces) parser.execute(piece)
  parser.finish()
  return { parts, ended }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(MultipartError)
    return `${(error as MultipartError).code} ${(error as MultipartError).status}`
  }
  return undefined
}

const B = 'XyZ--boundary_42'
const body = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'latin1')

const SAMPLE = body(
  'This is the preamble; it is ignored.',
  `--${B}`,
  'Content-Disposition: form-data; name="title"',
  '',
  'Hello',
  `--${B}   `, // transport padding after the delimiter is allowed
  'Content-Disposition: form-data; name="file"; filename="notes.txt"',
  'Content-Type: text/plain; charset=utf-8',
  '',
  // Content that looks like a delimiter but is not one: a prefix of it, one dash short, and the
  // boundary without the CRLF before it.
  `line 1\r\n--${B.slice(0, 8)} not a boundary\r\n-${B} nor this, nor --${B}`,
  `--${B}`,
  'Content-Disposition: form-data; name="empty"; filename=""',
  'Content-Type: application/octet-stream',
  '',
  '',
  `--${B}--`,
  'epilogue, ignored too',
)
const EXPECTED: Part[] = [
  { name: 'title', filename: undefined, contentType: 'text/plain', data: Buffer.from('Hello') },
  {
    name: 'file',
    filename: 'notes.txt',
    contentType: 'text/plain; charset=utf-8',
    data: Buffer.from(`line 1\r\n--${B.slice(0, 8)} not a boundary\r\n-${B} nor this, nor --${B}`),
  },
  { name: 'empty', filename: '', contentType: 'application/octet-stream', data: Buffer.alloc(0) },
]

describe('MultipartParser', () => {
  it('parses fields and files, skipping preamble, padding and epilogue', () => {
    expect(parse(B, [SAMPLE])).toEqual({ parts: EXPECTED, ended: true })
  })

  it('parses the same split in two at every byte offset', () => {
    for (let at = 0; at <= SAMPLE.length; at++) {
      expect(parse(B, [SAMPLE.subarray(0, at), SAMPLE.subarray(at)])).toEqual({
        parts: EXPECTED,
        ended: true,
      })
    }
  })

  it('parses the same fed one byte at a time, and in 3-byte pieces', () => {
    for (const size of [1, 3]) {
      const pieces: Uint8Array[] = []
      for (let i = 0; i < SAMPLE.length; i += size) pieces.push(SAMPLE.subarray(i, i + size))
      expect(parse(B, pieces)).toEqual({ parts: EXPECTED, ended: true })
    }
  })

  it('parses random bodies full of near-delimiters identically, however they are split', () => {
    // A small alphabet of CR, LF, '-' and the boundary's own bytes makes near-matches common.
    let seed = 42
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    const alphabet = Buffer.from(`\r\n-${B.slice(0, 6)}`)
    const delimiter = Buffer.from(`\r\n--${B}`)
    for (let round = 0; round < 300; round++) {
      const expected: Part[] = []
      const wire: Buffer[] = [Buffer.from(random(2) === 0 ? '' : 'preamble\r\n')]
      for (let p = 0, n = 1 + random(4); p < n; p++) {
        let data: Buffer
        do {
          data = Buffer.from(
            Array.from({ length: random(60) }, () => alphabet[random(alphabet.length)]!),
          )
        } while (
          Buffer.concat([Buffer.from('\r\n'), data, Buffer.from('\r\n')]).includes(delimiter)
        )
        expected.push({ name: `f${p}`, filename: undefined, contentType: 'text/plain', data })
        wire.push(
          Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="f${p}"\r\n\r\n`),
          data,
          Buffer.from('\r\n'),
        )
      }
      wire.push(Buffer.from(`--${B}--\r\n`))
      const whole = Buffer.concat(wire)
      const pieces: Buffer[] = []
      for (let at = 0; at < whole.length;) {
        const size = 1 + random(12)
        pieces.push(whole.subarray(at, at + size))
        at += size
      }
      expect(parse(B, pieces)).toEqual({ parts: expected, ended: true })
    }
  })

  it('accepts a body that starts with its first delimiter (no preamble)', () => {
    const b = body(`--${B}`, 'Content-Disposition: form-data; name="a"', '', 'x', `--${B}--`)
    expect(parse(B, [b]).parts.map((p) => p.data.toString())).toEqual(['x'])
  })

  it('reads what a real encoder writes (undici FormData), binary content included', async () => {
    const form = new FormData()
    form.append('greeting', 'hello, wörld')
    const bytes = new Uint8Array(100_000)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256
    form.append('upload', new Blob([bytes], { type: 'application/octet-stream' }), 'data.bin')
    const response = new Response(form)
    const boundary = multipartBoundary(response.headers.get('content-type'))!
    expect(boundary).not.toBeNull()
    const wire = Buffer.from(await response.arrayBuffer())
    const pieces: Buffer[] = []
    for (let i = 0; i < wire.length; i += 4093) pieces.push(wire.subarray(i, i + 4093))
    const { parts, ended } = parse(boundary, pieces)
    expect(ended).toBe(true)
    expect(parts.map((p) => [p.name, p.filename, p.contentType])).toEqual([
      ['greeting', undefined, 'text/plain'],
      ['upload', 'data.bin', 'application/octet-stream'],
    ])
    expect(parts[0]!.data.toString('utf8')).toBe('hello, wörld')
    expect(parts[1]!.data.equals(Buffer.from(bytes))).toBe(true)
  })

  it('passes large content on as it comes: memory does not hold a whole part', () => {
    let held = 0
    let seen = 0
    const parser = new MultipartParser(B, {
      onPartBegin() {},
      onPartData(chunk) {
        seen += chunk.length
      },
      onPartEnd() {},
    })
    parser.execute(
      body(`--${B}`, 'Content-Disposition: form-data; name="f"; filename="big"', '', ''),
    )
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    for (let i = 0; i < 160; i++) {
      parser.execute(chunk)
      held = Math.max(held, (i + 1) * chunk.length - seen)
    }
    parser.execute(Buffer.from(`\r\n--${B}--`))
    parser.finish()
    expect(seen).toBe(160 * 64 * 1024)
    // Held back: at most the length of a delimiter.
    expect(held).toBeLessThan(B.length + 4)
  })

  it('refuses malformed bodies with stable codes', () => {
    const cases: [string, Buffer][] = [
      ['junk after a delimiter', body(`--${B}junk`, '', '')],
      ['no Content-Disposition', body(`--${B}`, 'Content-Type: text/plain', '', 'x', `--${B}--`)],
      [
        'not form-data',
        body(`--${B}`, 'Content-Disposition: attachment; name="a"', '', 'x', `--${B}--`),
      ],
      ['no name', body(`--${B}`, 'Content-Disposition: form-data', '', 'x', `--${B}--`)],
      [
        'folded header',
        body(`--${B}`, 'Content-Disposition: form-data;', ' name="a"', '', 'x', `--${B}--`),
      ],
      ['header without colon', body(`--${B}`, 'Content-Disposition', '', 'x', `--${B}--`)],
      [
        // RFC 2046: the boundary must not occur in content; CRLF--boundary then junk is refused.
        'the delimiter inside content, then junk',
        body(`--${B}`, 'Content-Disposition: form-data; name="a"', '', `x\r\n--${B}X`, `--${B}--`),
      ],
      [
        'space before the colon',
        body(`--${B}`, 'Content-Disposition : form-data; name="a"', '', `--${B}--`),
      ],
    ]
    for (const [what, wire] of cases)
      expect([what, codeOf(() => parse(B, [wire]))]).toEqual([
        what,
        'ERR_MUMMY_MULTIPART_MALFORMED 400',
      ])
  })

  it('refuses a body cut short, and over-limit ones', () => {
    const open = body(`--${B}`, 'Content-Disposition: form-data; name="a"', '', 'x')
    expect(codeOf(() => parse(B, [open]))).toBe('ERR_MUMMY_MULTIPART_TRUNCATED 400')
    expect(codeOf(() => parse(B, [Buffer.from('no delimiter at all')]))).toBe(
      'ERR_MUMMY_MULTIPART_TRUNCATED 400',
    )
    const big = body(`--${B}`, `Content-Disposition: form-data; name="${'n'.repeat(200)}"`, '', '')
    expect(codeOf(() => parse(B, [big], { maxPartHeadersLen: 100 }))).toBe(
      'ERR_MUMMY_MULTIPART_HEADERS_TOO_LARGE 413',
    )
    const many = Buffer.concat([
      ...Array.from({ length: 4 }, () =>
        body(`--${B}`, 'Content-Disposition: form-data; name="a"', '', 'x', ''),
      ),
      Buffer.from(`--${B}--`),
    ])
    expect(parse(B, [many], { maxParts: 4 }).parts).toHaveLength(4)
    expect(codeOf(() => parse(B, [many], { maxParts: 3 }))).toBe(
      'ERR_MUMMY_MULTIPART_TOO_MANY_PARTS 413',
    )
    expect(
      codeOf(
        () =>
          new MultipartParser('bad boundary ', {
            onPartBegin() {},
            onPartData() {},
            onPartEnd() {},
          }),
      ),
    ).toBe('ERR_MUMMY_MULTIPART_BOUNDARY 400')
  })
})

describe('multipartBoundary and parseContentDisposition', () => {
  it('reads the boundary of multipart content types only', () => {
    expect(multipartBoundary('multipart/form-data; boundary=abc')).toBe('abc')
    expect(multipartBoundary('Multipart/Form-Data; charset=utf-8; BOUNDARY="a b:c"')).toBe('a b:c')
    expect(multipartBoundary('multipart/mixed;boundary="x"')).toBe('x')
    expect(multipartBoundary('text/plain; boundary=abc')).toBeNull()
    expect(multipartBoundary('multipart/form-data')).toBeNull()
    expect(multipartBoundary('multipart/form-data; boundary=')).toBeNull()
    expect(multipartBoundary('multipart/form-data; boundary="trailing "')).toBeNull()
    expect(multipartBoundary(`multipart/form-data; boundary=${'a'.repeat(71)}`)).toBeNull()
    expect(multipartBoundary(`multipart/form-data; boundary=${'a'.repeat(70)}`)).toBe(
      'a'.repeat(70),
    )
    expect(multipartBoundary('multipart/form-data; boundary="x\\"y"')).toBeNull()
    expect(multipartBoundary(undefined)).toBeNull()
  })

  it('parses Content-Disposition, preferring a valid filename*', () => {
    expect(parseContentDisposition('form-data; name="a"; filename="b \\"c\\".txt"')).toEqual({
      type: 'form-data',
      params: { name: 'a', filename: 'b "c".txt' },
    })
    expect(
      parseContentDisposition(
        `form-data; name=f; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`,
      ),
    ).toEqual({ type: 'form-data', params: { name: 'f', filename: '€ rates.txt' } })
    expect(parseContentDisposition("attachment; filename*=iso-8859-1'en'%A3.txt").params).toEqual({
      filename: '£.txt',
    })
    // A malformed filename* is ignored; filename stays.
    expect(
      parseContentDisposition(`form-data; name=f; filename=ok.txt; filename*=UTF-8''%ZZ`).params,
    ).toEqual({ name: 'f', filename: 'ok.txt' })
    expect(parseContentDisposition('FORM-DATA;NAME=x').params.name).toBe('x')
  })
})

/** What a parse reported, in a form that does not depend on how the input was split. */
function outcome(boundary: string, pieces: Uint8Array[], limits: MultipartLimits): string {
  const events: string[] = []
  let data: Buffer[] = []
  const parser = new MultipartParser(
    boundary,
    {
      onPartBegin: (head) => events.push(`begin ${JSON.stringify(head)}`),
      onPartData: (chunk) => data.push(Buffer.from(chunk)),
      onPartEnd: () => {
        events.push(`data ${Buffer.concat(data).toString('latin1')}`, 'end')
        data = []
      },
      onEnd: () => events.push('onEnd'),
    },
    limits,
  )
  try {
    for (const piece of pieces) parser.execute(piece)
    parser.finish()
  } catch (err) {
    events.push(`error ${(err as MultipartError).code}`)
  }
  return events.join('\n')
}

describe('MultipartParser outcome does not depend on the split', () => {
  /** A small deterministic generator (the same sequence on every run). */
  function prng(seed: number): () => number {
    let s = seed >>> 0
    return () => {
      s = (s + 0x6d2b79f5) >>> 0
      let t = s
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }
  const boundary = 'XyZ'
  const valid =
    'pre\r\n--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue a\r\n' +
    '--XyZ  \r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n' +
    'file\r\n--XyZ\r\ncontent\r\n--XyZ\r\nContent-Disposition: form-data; name="b"\r\n\r\nb\r\n--XyZ--\r\nepilogue'
  const ALPHABET = '\r\n-XyZ: ;="abcx\t'

  it('gives the same result whole and cut at every byte, for 600 mutated bodies under tight limits', () => {
    const rand = prng(0x6d7)
    let errors = 0
    for (let n = 0; n < 600; n++) {
      const bytes = Buffer.from(valid, 'latin1')
      const edits = 1 + Math.floor(rand() * 4)
      let body = bytes
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * body.length)
        const ch = ALPHABET.charCodeAt(Math.floor(rand() * ALPHABET.length))
        const op = Math.floor(rand() * 3)
        body =
          op === 0
            ? Buffer.concat([body.subarray(0, at), Buffer.from([ch]), body.subarray(at + 1)])
            : op === 1
              ? Buffer.concat([body.subarray(0, at), Buffer.from([ch]), body.subarray(at)])
              : Buffer.concat([body.subarray(0, at), body.subarray(at + 1)])
      }
      const limits: MultipartLimits = {
        maxParts: 1 + Math.floor(rand() * 5),
        maxPartHeadersLen: 20 + Math.floor(rand() * 80),
      }
      const whole = outcome(boundary, [body], limits)
      if (whole.includes('error')) errors++
      for (let cut = 1; cut < body.length; cut++) {
        const split = outcome(boundary, [body.subarray(0, cut), body.subarray(cut)], limits)
        if (split !== whole)
          expect({ body: body.toString('latin1'), limits, cut, split }).toEqual({
            body: body.toString('latin1'),
            limits,
            cut,
            split: whole,
          })
      }
    }
    // The mutations and limits do reach the error paths.
    expect(errors).toBeGreaterThan(200)
  })

  it('answers a header line that ends exactly at the limit the same way when CRLF is split', () => {
    // The line is 19 bytes, the limit 19: whole it is read (and found malformed); split between
    // CR and LF it must not count the CR toward the limit.
    const body = '--XyZ\r\nno-colon-here-12345\r\n\r\nx\r\n--XyZ--'
    const limits = { maxPartHeadersLen: 19 }
    const whole = outcome(boundary, [Buffer.from(body)], limits)
    expect(whole).toBe('error ERR_MUMMY_MULTIPART_MALFORMED')
    const at = body.indexOf('\r\n\r\n')
    for (const cut of [at, at + 1, at + 2])
      expect(
        outcome(
          boundary,
          [Buffer.from(body.slice(0, cut + 1)), Buffer.from(body.slice(cut + 1))],
          limits,
        ),
      ).toBe(whole)
  })
})
