import { describe, expect, it } from '@jest/globals'
import { Utf8Validator, isValidUtf8 } from '../dist/index.js'
import { frame, run } from './harness.js'

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

// Autobahn TestSuite section 6 (UTF-8 handling), as [case, bytes, valid].
const CASES: Array<[string, Buffer, boolean]> = [
  ['6.1 empty', h(''), true],
  ['6.2 valid text', Buffer.from('Hello-µ@ßöäüàá-UTF-8!!'), true],
  ['6.3.1 κόσμε with a surrogate', h('cebae1bdb9cf83cebcceb5eda080656469746564'), false],
  ['6.3.2 κόσμε', h('cebae1bdb9cf83cebcceb5'), true],
  ['6.4.1 fail fast (F4 90)', h('cebae1bdb9cf83cebcceb5f4908080656469746564'), false],
  ['6.5.1 κόσμε', h('cebae1bdb9cf83cebcceb5'), true],
  // 6.7 first possible sequence of a certain length
  ['6.7.1 U+0000', h('00'), true],
  ['6.7.2 U+0080', h('c280'), true],
  ['6.7.3 U+0800', h('e0a080'), true],
  ['6.7.4 U+10000', h('f0908080'), true],
  // 6.8 first possible sequence of 5/6 bytes (not UTF-8)
  ['6.8.1 5 bytes', h('f888808080'), false],
  ['6.8.2 6 bytes', h('fc8480808080'), false],
  // 6.9 last possible sequence of a certain length
  ['6.9.1 U+007F', h('7f'), true],
  ['6.9.2 U+07FF', h('dfbf'), true],
  ['6.9.3 U+FFFF', h('efbfbf'), true],
  ['6.9.4 U+10FFFF', h('f48fbfbf'), true],
  // 6.10 last possible 4/5/6-byte forms beyond the range
  ['6.10.1 U+1FFFFF', h('f7bfbfbf'), false],
  ['6.10.2 5 bytes', h('fbbfbfbfbf'), false],
  ['6.10.3 6 bytes', h('fdbfbfbfbfbf'), false],
  // 6.11 other boundary conditions
  ['6.11.1 U+D7FF', h('ed9fbf'), true],
  ['6.11.2 U+E000', h('ee8080'), true],
  ['6.11.3 U+FFFD', h('efbfbd'), true],
  ['6.11.4 U+10FFFF', h('f48fbfbf'), true],
  ['6.11.5 U+110000', h('f4908080'), false],
  // 6.12 unexpected continuation bytes
  ['6.12.1 first continuation', h('80'), false],
  ['6.12.2 last continuation', h('bf'), false],
  ['6.12.3 2 continuations', h('80bf'), false],
  ['6.12.4 3 continuations', h('80bf80'), false],
  ['6.12.5 4 continuations', h('80bf80bf'), false],
  ['6.12.6 5 continuations', h('80bf80bf80'), false],
  ['6.12.7 6 continuations', h('80bf80bf80bf'), false],
  [
    '6.12.8 all 64 continuations',
    Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)),
    false,
  ],
  // 6.13 lonely start characters
  [
    '6.13.1 2-byte starts + space',
    Buffer.from(Array.from({ length: 32 }, (_, i) => [0xc0 + i, 0x20]).flat()),
    false,
  ],
  [
    '6.13.2 3-byte starts + space',
    Buffer.from(Array.from({ length: 16 }, (_, i) => [0xe0 + i, 0x20]).flat()),
    false,
  ],
  [
    '6.13.3 4-byte starts + space',
    Buffer.from(Array.from({ length: 8 }, (_, i) => [0xf0 + i, 0x20]).flat()),
    false,
  ],
  ['6.13.4 5-byte starts + space', h('f820f920fa20fb20'), false],
  ['6.13.5 6-byte starts + space', h('fc20fd20'), false],
  // 6.14 sequences with the last continuation byte missing
  ['6.14.1 U+0000 2 bytes', h('c0'), false],
  ['6.14.2 3 bytes', h('e080'), false],
  ['6.14.3 4 bytes', h('f08080'), false],
  ['6.14.4 5 bytes', h('f8808080'), false],
  ['6.14.5 6 bytes', h('fc80808080'), false],
  ['6.14.6 U+07FF', h('df'), false],
  ['6.14.7 U+FFFF', h('efbf'), false],
  ['6.14.8 U+1FFFFF', h('f7bfbf'), false],
  ['6.14.9', h('fbbfbfbf'), false],
  ['6.14.10', h('fdbfbfbfbf'), false],
  // 6.15 concatenation of incomplete sequences
  ['6.15.1', h('c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf'), false],
  // 6.16 impossible bytes
  ['6.16.1 FE', h('fe'), false],
  ['6.16.2 FF', h('ff'), false],
  ['6.16.3 FEFEFFFF', h('fefeffff'), false],
  // 6.17 overlong ASCII '/'
  ['6.17.1 2 bytes', h('c0af'), false],
  ['6.17.2 3 bytes', h('e080af'), false],
  ['6.17.3 4 bytes', h('f08080af'), false],
  ['6.17.4 5 bytes', h('f8808080af'), false],
  ['6.17.5 6 bytes', h('fc80808080af'), false],
  // 6.18 maximum overlong sequences
  ['6.18.1 U+007F as 2', h('c1bf'), false],
  ['6.18.2 U+07FF as 3', h('e09fbf'), false],
  ['6.18.3 U+FFFF as 4', h('f08fbfbf'), false],
  ['6.18.4', h('f887bfbfbf'), false],
  ['6.18.5', h('fc83bfbfbfbf'), false],
  // 6.19 overlong NUL
  ['6.19.1', h('c080'), false],
  ['6.19.2', h('e08080'), false],
  ['6.19.3', h('f0808080'), false],
  ['6.19.4', h('f880808080'), false],
  ['6.19.5', h('fc8080808080'), false],
  // 6.20 single UTF-16 surrogates
  ['6.20.1 U+D800', h('eda080'), false],
  ['6.20.2 U+DB7F', h('edadbf'), false],
  ['6.20.3 U+DB80', h('edae80'), false],
  ['6.20.4 U+DBFF', h('edafbf'), false],
  ['6.20.5 U+DC00', h('edb080'), false],
  ['6.20.6 U+DF80', h('edbe80'), false],
  ['6.20.7 U+DFFF', h('edbfbf'), false],
  // 6.21 paired UTF-16 surrogates
  ['6.21.1', h('eda080edb080'), false],
  ['6.21.2', h('eda080edbfbf'), false],
  ['6.21.3', h('edadbfedb080'), false],
  ['6.21.4', h('edadbfedbfbf'), false],
  ['6.21.5', h('edae80edb080'), false],
  ['6.21.6', h('edae80edbfbf'), false],
  ['6.21.7', h('edafbfedb080'), false],
  ['6.21.8', h('edafbfedbfbf'), false],
  // 6.22 noncharacters are valid UTF-8
  ['6.22.1 U+FFFE', h('efbfbe'), true],
  ['6.22.2 U+FFFF', h('efbfbf'), true],
  ['6.22.3 U+1FFFE', h('f09fbfbe'), true],
  ['6.22.34 U+10FFFF', h('f48fbfbf'), true],
  ['6.23.1 U+FFFD', h('efbfbd'), true],
]

const fatal = new TextDecoder('utf-8', { fatal: true })
const reference = (b: Uint8Array): boolean => {
  try {
    fatal.decode(b)
    return true
  } catch {
    return false
  }
}

describe('isValidUtf8', () => {
  for (const [name, bytes, valid] of CASES) {
    it(`${name} is ${valid ? 'valid' : 'invalid'}`, () => {
      expect(reference(bytes)).toBe(valid) // the table itself is right
      expect(isValidUtf8(bytes)).toBe(valid)
      // Long enough for the native path, both at the end and in the middle of ASCII.
      const pad = Buffer.alloc(100, 0x61)
      expect(isValidUtf8(Buffer.concat([pad, bytes]))).toBe(valid)
      expect(isValidUtf8(Buffer.concat([pad, bytes, pad]))).toBe(valid)
    })
  }

  it('agrees with a fatal TextDecoder on random byte strings', () => {
    let seed = 12345
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff
    const alphabet = [
      0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee,
      0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xff,
    ]
    for (let n = 0; n < 20000; n++) {
      const len = rand() % 12
      const b = Buffer.alloc(len)
      for (let i = 0; i < len; i++) b[i] = alphabet[rand() % alphabet.length]!
      const expected = reference(b)
      expect(isValidUtf8(b)).toBe(expected)
      const v = new Utf8Validator()
      for (let i = 0; i < len; i++) v.update(b, i, i + 1)
      expect(v.end()).toBe(expected)
    }
  })
})

describe('Utf8Validator', () => {
  it('carries state across every split point, and fails at the first bad byte', () => {
    for (const [name, bytes, valid] of CASES) {
      for (let cut = 0; cut <= bytes.length; cut++) {
        const v = new Utf8Validator()
        const a = v.update(bytes.subarray(0, cut))
        expect(a).toBe(reference(bytes.subarray(0, cut)) || prefixOk(bytes.subarray(0, cut)))
        const b = a && v.update(bytes.subarray(cut))
        expect([name, cut, b && v.end()]).toEqual([name, cut, valid])
      }
    }
  })

  it('the native fast path keeps the state of a sequence cut at the end', () => {
    const text = Buffer.from('ascii '.repeat(20) + 'κόσμε 😀 '.repeat(20))
    for (let cut = 100; cut < text.length; cut++) {
      const v = new Utf8Validator()
      expect(v.update(text.subarray(0, cut))).toBe(true)
      expect(v.update(text.subarray(cut))).toBe(true)
      expect(v.end()).toBe(true)
    }
    const v = new Utf8Validator()
    expect(v.update(Buffer.concat([Buffer.alloc(80, 0x61), h('80808080')]))).toBe(false)
    expect(v.valid).toBe(false)
    v.reset()
    expect(v.valid).toBe(true)
  })
})

/** `true` when `b` is valid UTF-8 except for an incomplete (but so far valid) last sequence. */
function prefixOk(b: Uint8Array): boolean {
  for (let k = 1; k <= 3 && k <= b.length; k++) {
    const head = b.subarray(0, b.length - k)
    const tail = b.subarray(b.length - k)
    if (!reference(head)) continue
    // Try completing the tail with continuation bytes.
    for (let c = 0x80; c <= 0xbf; c++) {
      for (let extra = 1; extra <= 3; extra++) {
        if (reference(Buffer.concat([tail, Buffer.alloc(extra, c)]))) return true
        if (reference(Buffer.concat([tail, Buffer.from([c]), Buffer.alloc(extra - 1, 0x80)])))
          return true
      }
    }
  }
  return false
}

describe('text messages through the receiver', () => {
  it('every case as one text message, and as two fragments split at every byte', () => {
    for (const [name, bytes, valid] of CASES) {
      const whole = run([frame(0x1, bytes)])
      expect([name, whole.error?.closeCode ?? null]).toEqual([name, valid ? null : 1007])
      for (let cut = 0; cut <= bytes.length; cut++) {
        const input = Buffer.concat([
          frame(0x1, bytes.subarray(0, cut), { fin: false }),
          frame(0x0, bytes.subarray(cut)),
        ])
        for (let at = 0; at <= input.length; at += Math.max(1, input.length >> 3)) {
          const r = run([input.subarray(0, at), input.subarray(at)])
          expect([name, cut, at, r.error?.code ?? null]).toEqual([
            name,
            cut,
            at,
            valid ? null : 'ERR_MUMMY_WS_INVALID_UTF8',
          ])
          if (valid) expect(r.events).toEqual([['message', 'text', bytes.toString('utf8')]])
        }
      }
    }
  })

  it('fails fast: an invalid first fragment fails before the message ends (6.4.x)', () => {
    const good = h('cebae1bdb9cf83cebcceb5')
    const bad = h('f4908080')
    const first = frame(0x1, Buffer.concat([good, bad]), { fin: false })
    const r = run([first, frame(0x0, 'edited')])
    expect(r.failedAt).toBe(0)
    expect(r.error?.closeCode).toBe(1007)
    // Within one frame, too: the bad byte fails before the rest of the payload arrives.
    const single = frame(0x1, Buffer.concat([good, bad, Buffer.from('edited')]))
    const at = 6 + good.length + 2 // header + mask + good + F4 90
    const r2 = run([single.subarray(0, at), single.subarray(at)])
    expect(r2.failedAt).toBe(0)
  })
})
