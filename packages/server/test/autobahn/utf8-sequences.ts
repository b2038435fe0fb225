// The UTF-8 decoder test vectors of Autobahn's cases 6.5 to 6.23 (after Markus Kuhn's
// UTF-8-test.txt), in Autobahn's order: each group becomes one sub-section, each vector a case.

/** One group of vectors: `[valid, bytes]` pairs. */
export interface Utf8Group {
  title: string
  vectors: Array<[valid: boolean, bytes: Buffer]>
}

const b = (...bytes: number[]): Buffer => Buffer.from(bytes)
const s = (text: string): Buffer => Buffer.from(text, 'latin1')

/** `true` when `bytes` is complete, valid UTF-8. */
export function isValidUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
    return true
  } catch {
    return false
  }
}

/** The groups, first one numbered 6.5. */
export function utf8TestSequences(): Utf8Group[] {
  const groups: Utf8Group[] = []
  const vss = b(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5)

  groups.push({
    title: 'Some valid UTF-8 sequences',
    vectors: [
      [true, s('hello\x24world')],
      [true, Buffer.concat([s('hello'), b(0xc2, 0xa2), s('world')])],
      [true, Buffer.concat([s('hello'), b(0xe2, 0x82, 0xac), s('world')])],
      [true, Buffer.concat([s('hello'), b(0xf0, 0xa4, 0xad, 0xa2), s('world')])],
      [true, vss],
    ],
  })

  const prefixes: Utf8Group = {
    title: 'All prefixes of a valid UTF-8 string that contains multi-byte code points',
    vectors: [],
  }
  for (let i = 1; i <= vss.length; i++) {
    const prefix = vss.subarray(0, i)
    prefixes.vectors.push([isValidUtf8(prefix), Buffer.from(prefix)])
  }
  groups.push(prefixes)

  groups.push({
    title: 'First possible sequence of a certain length',
    vectors: [
      [true, b(0x00)],
      [true, b(0xc2, 0x80)],
      [true, b(0xe0, 0xa0, 0x80)],
      [true, b(0xf0, 0x90, 0x80, 0x80)],
    ],
  })
  groups.push({
    title: 'First possible sequence length 5/6 (invalid codepoints)',
    vectors: [
      [false, b(0xf8, 0x88, 0x80, 0x80, 0x80)],
      [false, b(0xfc, 0x84, 0x80, 0x80, 0x80, 0x80)],
    ],
  })
  groups.push({
    title: 'Last possible sequence of a certain length',
    vectors: [
      [true, b(0x7f)],
      [true, b(0xdf, 0xbf)],
      [true, b(0xef, 0xbf, 0xbf)],
      [true, b(0xf4, 0x8f, 0xbf, 0xbf)],
    ],
  })
  groups.push({
    title: 'Last possible sequence length 4/5/6 (invalid codepoints)',
    vectors: [
      [false, b(0xf7, 0xbf, 0xbf, 0xbf)],
      [false, b(0xfb, 0xbf, 0xbf, 0xbf, 0xbf)],
      [false, b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf)],
    ],
  })
  groups.push({
    title: 'Other boundary conditions',
    vectors: [
      [true, b(0xed, 0x9f, 0xbf)],
      [true, b(0xee, 0x80, 0x80)],
      [true, b(0xef, 0xbf, 0xbd)],
      [true, b(0xf4, 0x8f, 0xbf, 0xbf)],
      [false, b(0xf4, 0x90, 0x80, 0x80)],
    ],
  })

  const continuations: number[] = []
  for (let i = 0x80; i < 0xbf; i++) continuations.push(i)
  groups.push({
    title: 'Unexpected continuation bytes',
    vectors: [
      [false, b(0x80)],
      [false, b(0xbf)],
      [false, b(0x80, 0xbf)],
      [false, b(0x80, 0xbf, 0x80)],
      [false, b(0x80, 0xbf, 0x80, 0xbf)],
      [false, b(0x80, 0xbf, 0x80, 0xbf, 0x80)],
      [false, b(0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf)],
      [false, b(...continuations)],
    ],
  })

  const lonely: Utf8Group = { title: 'Lonely start characters', vectors: [] }
  for (const [from, to] of [
    [0xc0, 0xdf],
    [0xe0, 0xef],
    [0xf0, 0xf7],
    [0xf8, 0xfb],
    [0xfc, 0xfd],
  ] as const) {
    const bytes: number[] = []
    for (let i = from; i < to; i++) bytes.push(i, 0x20)
    lonely.vectors.push([false, b(...bytes)])
  }
  groups.push(lonely)

  const missing = [
    b(0xc0),
    b(0xe0, 0x80),
    b(0xf0, 0x80, 0x80),
    b(0xf8, 0x80, 0x80, 0x80),
    b(0xfc, 0x80, 0x80, 0x80, 0x80),
    b(0xdf),
    b(0xef, 0xbf),
    b(0xf7, 0xbf, 0xbf),
    b(0xfb, 0xbf, 0xbf, 0xbf),
    b(0xfd, 0xbf, 0xbf, 0xbf, 0xbf),
  ]
  groups.push({
    title: 'Sequences with last continuation byte missing',
    vectors: missing.map((m) => [false, m]),
  })
  groups.push({
    title: 'Concatenation of incomplete sequences',
    vectors: [[false, Buffer.concat(missing)]],
  })
  groups.push({
    title: 'Impossible bytes',
    vectors: [
      [false, b(0xfe)],
      [false, b(0xff)],
      [false, b(0xfe, 0xfe, 0xff, 0xff)],
    ],
  })
  groups.push({
    title: 'Examples of an overlong ASCII character',
    vectors: [
      [false, b(0xc0, 0xaf)],
      [false, b(0xe0, 0x80, 0xaf)],
      [false, b(0xf0, 0x80, 0x80, 0xaf)],
      [false, b(0xf8, 0x80, 0x80, 0x80, 0xaf)],
      [false, b(0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf)],
    ],
  })
  groups.push({
    title: 'Maximum overlong sequences',
    vectors: [
      [false, b(0xc1, 0xbf)],
      [false, b(0xe0, 0x9f, 0xbf)],
      [false, b(0xf0, 0x8f, 0xbf, 0xbf)],
      [false, b(0xf8, 0x87, 0xbf, 0xbf, 0xbf)],
      [false, b(0xfc, 0x83, 0xbf, 0xbf, 0xbf, 0xbf)],
    ],
  })
  groups.push({
    title: 'Overlong representation of the NUL character',
    vectors: [
      [false, b(0xc0, 0x80)],
      [false, b(0xe0, 0x80, 0x80)],
      [false, b(0xf0, 0x80, 0x80, 0x80)],
      [false, b(0xf8, 0x80, 0x80, 0x80, 0x80)],
      [false, b(0xfc, 0x80, 0x80, 0x80, 0x80, 0x80)],
    ],
  })
  groups.push({
    title: 'Single UTF-16 surrogates',
    vectors: [
      [false, b(0xed, 0xa0, 0x80)],
      [false, b(0xed, 0xad, 0xbf)],
      [false, b(0xed, 0xae, 0x80)],
      [false, b(0xed, 0xaf, 0xbf)],
      [false, b(0xed, 0xb0, 0x80)],
      [false, b(0xed, 0xbe, 0x80)],
      [false, b(0xed, 0xbf, 0xbf)],
    ],
  })
  groups.push({
    title: 'Paired UTF-16 surrogates',
    vectors: [
      [false, b(0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80)],
      [false, b(0xed, 0xa0, 0x80, 0xed, 0xbf, 0xbf)],
      [false, b(0xed, 0xad, 0xbf, 0xed, 0xb0, 0x80)],
      [false, b(0xed, 0xad, 0xbf, 0xed, 0xbf, 0xbf)],
      [false, b(0xed, 0xae, 0x80, 0xed, 0xb0, 0x80)],
      [false, b(0xed, 0xae, 0x80, 0xed, 0xbf, 0xbf)],
      [false, b(0xed, 0xaf, 0xbf, 0xed, 0xb0, 0x80)],
      [false, b(0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf)],
    ],
  })

  const nonChars: Utf8Group = { title: 'Non-character code points (valid UTF-8)', vectors: [] }
  nonChars.vectors.push([true, b(0xef, 0xbf, 0xbe)], [true, b(0xef, 0xbf, 0xbf)])
  for (const z1 of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const z2 of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (z1 === 0xf4 && z2 !== 0x8f) continue // beyond U+10FFFF
      for (const z3 of [0xbe, 0xbf]) {
        if (z1 === 0xf0 && z2 === 0x8f) continue // overlong
        nonChars.vectors.push([true, b(z1, z2, 0xbf, z3)])
      }
    }
  }
  groups.push(nonChars)

  groups.push({
    title: 'Unicode specials (i.e. replacement char)',
    vectors: [0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf].map((last) => [true, b(0xef, 0xbf, last)]),
  })
  return groups
}
