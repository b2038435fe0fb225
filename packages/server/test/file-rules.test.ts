// The pure rules of serving a file (file.ts) against RFC 9110: entity tags and their
// comparison (§8.8.3), the conditional request headers (§13.1) and the order they are
// evaluated in (§13.2.2), byte ranges (§14.1.2, §14.2, §15.5.17), If-Range (§13.1.5), media
// types from file names, and Content-Disposition (RFC 6266 / RFC 8187).
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from '@jest/globals'
import {
  attachment,
  contentTypeOf,
  evaluatePreconditions,
  fileETag,
  ifRangeHolds,
  lastModified,
  parseETagList,
  parseHttpDate,
  parseRange,
  strongMatch,
  weakMatch,
  type FileFacts,
} from '../dist/file.js'

/** Tue, 02 Jan 2024 03:04:05.678 GMT: a modification time with a fractional second. */
const MTIME = Date.UTC(2024, 0, 2, 3, 4, 5, 678)
const FACTS: FileFacts = { size: 1234, mtimeMs: MTIME }
const ETAG = fileETag(FACTS)
const LAST_MODIFIED = 'Tue, 02 Jan 2024 03:04:05 GMT'
/** The same instant as LAST_MODIFIED in the two obsolete HTTP-date formats (RFC 9110 §5.6.7). */
const RFC850 = 'Tuesday, 02-Jan-24 03:04:05 GMT'
const ASCTIME = 'Tue Jan  2 03:04:05 2024'
/** One second before and after the second of the modification time. */
const BEFORE = 'Tue, 02 Jan 2024 03:04:04 GMT'
const AFTER = 'Tue, 02 Jan 2024 03:04:06 GMT'

/** A request header lookup (lower-case names) over a fixed set of headers. */
const headers =
  (h: Record<string, string>) =>
  (name: string): string | undefined =>
    new Map(Object.entries(h)).get(name)

const evaluate = (h: Record<string, string>): ReturnType<typeof evaluatePreconditions> =>
  evaluatePreconditions(headers(h), FACTS)

/**
 * Runs `expr` (with `f` the module file.js and `facts` FACTS) in a fresh Node process with the
 * time zone `tz`: jest's `process.env` is a copy, so the time zone cannot be changed in here.
 */
function inTimeZone(tz: string, expr: string): unknown {
  const url = new URL('../dist/file.js', import.meta.url).href
  const script = [
    `import * as f from ${JSON.stringify(url)}`,
    `const facts = ${JSON.stringify(FACTS)}`,
    `process.stdout.write(JSON.stringify(${expr}))`,
  ].join('\n')
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, TZ: tz },
    encoding: 'utf8',
  })
  return JSON.parse(out) as unknown
}

describe('fileETag', () => {
  it('is a strong, quoted entity tag of the modification time and the size, in hex', () => {
    expect(ETAG).toBe(`"${Math.floor(MTIME).toString(16)}-${(1234).toString(16)}"`)
    expect(ETAG).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/)
    expect(ETAG.startsWith('W/')).toBe(false)
  })

  it('is a valid entity tag that compares strongly with itself', () => {
    expect(parseETagList(ETAG)).toEqual([ETAG])
    expect(strongMatch(ETAG, ETAG)).toBe(true)
  })

  it('changes when the size or the modification time changes', () => {
    expect(fileETag({ size: 1235, mtimeMs: MTIME })).not.toBe(ETAG)
    expect(fileETag({ size: 1234, mtimeMs: MTIME + 1 })).not.toBe(ETAG)
    expect(fileETag({ size: 0, mtimeMs: MTIME })).not.toBe(ETAG)
  })

  it('names the content coding of a precompressed representation: another tag, still valid', () => {
    const gz = fileETag({ ...FACTS, coding: 'gzip' })
    expect(gz).toBe(`${ETAG.slice(0, -1)}-gzip"`)
    expect(parseETagList(gz)).toEqual([gz])
    expect(weakMatch(gz, ETAG)).toBe(false)
  })

  it('ignores fractions of a millisecond', () => {
    expect(fileETag({ size: 1234, mtimeMs: MTIME + 0.25 })).toBe(ETAG)
  })
})

describe('lastModified', () => {
  it('is an IMF-fixdate in GMT with whole seconds', () => {
    expect(lastModified(FACTS)).toBe(LAST_MODIFIED)
    expect(lastModified(FACTS)).toMatch(
      /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/,
    )
  })

  it('pads the day of the month', () => {
    expect(lastModified({ size: 0, mtimeMs: Date.UTC(1994, 10, 6, 8, 49, 37) })).toBe(
      'Sun, 06 Nov 1994 08:49:37 GMT',
    )
  })
})

describe('parseETagList', () => {
  it('reads the wildcard', () => {
    expect(parseETagList('*')).toBe('*')
    expect(parseETagList('  *  ')).toBe('*')
  })

  it('reads one tag', () => {
    expect(parseETagList('"xyzzy"')).toEqual(['"xyzzy"'])
    expect(parseETagList('""')).toEqual(['""'])
  })

  it('reads several tags separated by commas and optional whitespace', () => {
    expect(parseETagList('"xyzzy", "r2d2xxxx", "c3piozzzz"')).toEqual([
      '"xyzzy"',
      '"r2d2xxxx"',
      '"c3piozzzz"',
    ])
    expect(parseETagList('"a","b" ,\t"c"')).toEqual(['"a"', '"b"', '"c"'])
  })

  it('keeps the weakness indicator', () => {
    expect(parseETagList('W/"x"')).toEqual(['W/"x"'])
    expect(parseETagList('W/"x", "y"')).toEqual(['W/"x"', '"y"'])
  })

  it('accepts every etagc: %x21 / %x23-7E / obs-text', () => {
    expect(parseETagList('"!#~/-,"')).toEqual(['"!#~/-,"'])
    expect(parseETagList('"\x80\xff"')).toEqual(['"\x80\xff"'])
  })

  it('accepts a trailing comma', () => {
    expect(parseETagList('"a",')).toEqual(['"a"'])
  })

  it('reads an empty list as no tags', () => {
    expect(parseETagList('')).toEqual([])
  })

  it.each([
    ['an unquoted tag', 'abc'],
    ['a tag missing its closing quote', '"abc'],
    ['two tags without a comma between them', '"a" "b"'],
    ['a space inside the quotes', '"a b"'],
    ['a double quote inside the quotes', '"a"b"'],
    ['a control character inside the quotes', '"a\x01b"'],
    ['a lower-case weakness indicator', 'w/"x"'],
    ['a wildcard among tags', '*, "a"'],
    ['a character beyond obs-text', '"\u20ac"'],
  ])('rejects %s', (_what, value) => {
    expect(parseETagList(value)).toBeNull()
  })

  // RFC 9110 §5.6.1.2: a recipient MUST parse and ignore a reasonable number of empty list
  // elements ("foo , ,bar,charlie" is a valid list).
  it('ignores empty list elements anywhere (§5.6.1.2)', () => {
    expect(parseETagList('"a", , "b"')).toEqual(['"a"', '"b"'])
    expect(parseETagList(', "a"')).toEqual(['"a"'])
    expect(parseETagList('"a,b", "c"')).toEqual(['"a,b"', '"c"'])
    expect(evaluate({ 'if-match': `, ${ETAG}` })).toBe('ok')
  })
})

describe('strongMatch and weakMatch (RFC 9110 §8.8.3.2)', () => {
  it.each([
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', 'W/"1"', false, true],
    ['"1"', '"1"', true, true],
    ['"1"', '"2"', false, false],
  ])('%s vs %s: strong %p, weak %p', (a, b, strong, weak) => {
    expect(strongMatch(a, b)).toBe(strong)
    expect(weakMatch(a, b)).toBe(weak)
  })

  it('compares opaque tags case-sensitively', () => {
    expect(strongMatch('"a"', '"A"')).toBe(false)
    expect(weakMatch('"a"', '"A"')).toBe(false)
  })
})

describe('evaluatePreconditions (RFC 9110 §13.1, §13.2.2)', () => {
  it('goes on without preconditions', () => {
    expect(evaluate({})).toBe('ok')
  })

  describe('If-Match (strong comparison)', () => {
    it('goes on when a tag matches', () => {
      expect(evaluate({ 'if-match': ETAG })).toBe('ok')
      expect(evaluate({ 'if-match': `"other", ${ETAG}` })).toBe('ok')
    })

    it('goes on for the wildcard', () => {
      expect(evaluate({ 'if-match': '*' })).toBe('ok')
    })

    it('fails with 412 when only the weak form of the tag is given', () => {
      expect(evaluate({ 'if-match': `W/${ETAG}` })).toBe(412)
    })

    it('fails with 412 when no tag matches', () => {
      expect(evaluate({ 'if-match': '"other"' })).toBe(412)
      expect(evaluate({ 'if-match': '"a", "b"' })).toBe(412)
    })

    it('fails with 412 when malformed', () => {
      expect(evaluate({ 'if-match': 'abc' })).toBe(412)
      expect(evaluate({ 'if-match': ETAG.slice(1, -1) })).toBe(412)
    })
  })

  describe('If-Unmodified-Since', () => {
    it('is ignored when If-Match is present', () => {
      expect(evaluate({ 'if-match': ETAG, 'if-unmodified-since': BEFORE })).toBe('ok')
      expect(evaluate({ 'if-match': '*', 'if-unmodified-since': BEFORE })).toBe('ok')
    })

    it('fails with 412 when the file was modified after the date', () => {
      expect(evaluate({ 'if-unmodified-since': BEFORE })).toBe(412)
    })

    it('goes on for the same second (mtime has a fractional second) or a later date', () => {
      expect(evaluate({ 'if-unmodified-since': LAST_MODIFIED })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': AFTER })).toBe('ok')
    })

    it('accepts the obsolete date formats', () => {
      expect(evaluate({ 'if-unmodified-since': RFC850 })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': 'Tuesday, 02-Jan-24 03:04:04 GMT' })).toBe(412)
    })

    it('is ignored when not a date, or a list of dates', () => {
      expect(evaluate({ 'if-unmodified-since': 'yesterday' })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': '' })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': `${BEFORE}, ${BEFORE}` })).toBe('ok')
    })
  })

  describe('If-None-Match (weak comparison)', () => {
    it('answers 304 when a tag matches, weak or strong', () => {
      expect(evaluate({ 'if-none-match': ETAG })).toBe(304)
      expect(evaluate({ 'if-none-match': `W/${ETAG}` })).toBe(304)
      expect(evaluate({ 'if-none-match': `"other", W/${ETAG}` })).toBe(304)
    })

    it('answers 304 for the wildcard', () => {
      expect(evaluate({ 'if-none-match': '*' })).toBe(304)
    })

    it('goes on when no tag matches, and If-Modified-Since is then ignored', () => {
      expect(evaluate({ 'if-none-match': '"other"' })).toBe('ok')
      expect(evaluate({ 'if-none-match': '"other"', 'if-modified-since': AFTER })).toBe('ok')
    })

    it('goes on when malformed (If-Modified-Since still ignored)', () => {
      expect(evaluate({ 'if-none-match': 'abc', 'if-modified-since': AFTER })).toBe('ok')
    })
  })

  describe('If-Modified-Since', () => {
    it('answers 304 for the same second (mtime has a fractional second) or a later date', () => {
      expect(evaluate({ 'if-modified-since': LAST_MODIFIED })).toBe(304)
      expect(evaluate({ 'if-modified-since': AFTER })).toBe(304)
    })

    it('goes on when the file was modified after the date', () => {
      expect(evaluate({ 'if-modified-since': BEFORE })).toBe('ok')
    })

    it('accepts the obsolete date formats', () => {
      expect(evaluate({ 'if-modified-since': RFC850 })).toBe(304)
    })

    it('is ignored when not a date, or a list of dates', () => {
      expect(evaluate({ 'if-modified-since': 'tomorrow' })).toBe('ok')
      expect(evaluate({ 'if-modified-since': `${AFTER}, ${AFTER}` })).toBe('ok')
    })

    // RFC 9110 §13.1.3 (and §13.1.4 for If-Unmodified-Since): a recipient MUST ignore the
    // field when its value is not a valid HTTP-date (§5.6.7: IMF-fixdate, rfc850-date or
    // asctime-date), however else a date might be written.
    it('ignores values that are not HTTP-dates (§13.1.3, §13.1.4)', () => {
      expect(evaluate({ 'if-modified-since': '2025' })).toBe('ok')
      expect(evaluate({ 'if-modified-since': '2025-01-01' })).toBe('ok')
      expect(evaluate({ 'if-modified-since': '2025-01-01T00:00:00Z' })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': '2023' })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': '1' })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 +0000' })).toBe('ok')
      expect(evaluate({ 'if-unmodified-since': 'Thu, 31 Feb 2000 00:00:00 GMT' })).toBe('ok')
    })
  })

  describe('order (§13.2.2)', () => {
    it('answers 412 for a failing If-Match even when If-None-Match matches', () => {
      expect(evaluate({ 'if-match': '"other"', 'if-none-match': ETAG })).toBe(412)
      expect(evaluate({ 'if-match': '"other"', 'if-none-match': '*' })).toBe(412)
    })

    it('answers 412 for a failing If-Unmodified-Since even when If-Modified-Since holds', () => {
      expect(evaluate({ 'if-unmodified-since': BEFORE, 'if-modified-since': AFTER })).toBe(412)
    })

    it('answers 304 when If-Match holds and If-None-Match matches', () => {
      expect(evaluate({ 'if-match': ETAG, 'if-none-match': ETAG })).toBe(304)
      expect(evaluate({ 'if-match': '*', 'if-none-match': `W/${ETAG}` })).toBe(304)
    })

    it('answers 304 when If-Unmodified-Since holds and If-Modified-Since says unmodified', () => {
      expect(evaluate({ 'if-unmodified-since': AFTER, 'if-modified-since': AFTER })).toBe(304)
    })
  })
})

describe('parseRange (RFC 9110 §14.1.2, §14.2)', () => {
  const whole = { kind: 'whole' }
  const unsatisfiable = { kind: 'unsatisfiable' }
  const partial = (start: number, end: number): object => ({ kind: 'partial', start, end })

  it('answers the whole file without a Range header', () => {
    expect(parseRange(undefined, 1000)).toEqual(whole)
  })

  it.each([
    ['bytes=0-0', partial(0, 0)],
    ['bytes=0-99', partial(0, 99)],
    ['bytes=100-', partial(100, 999)],
    ['bytes=999-', partial(999, 999)],
    ['bytes=-100', partial(900, 999)],
    ['bytes=-1', partial(999, 999)],
    ['bytes=-1000', partial(0, 999)],
    ['bytes=-5000', partial(0, 999)],
    ['bytes=0-999', partial(0, 999)],
    ['bytes=500-5000', partial(500, 999)],
    ['bytes=0-9007199254740991', partial(0, 999)],
  ])('reads %s of 1000 bytes', (value, answer) => {
    expect(parseRange(value, 1000)).toEqual(answer)
  })

  it.each([
    ['bytes=1000-', 1000],
    ['bytes=1000-1001', 1000],
    ['bytes=5000-6000', 1000],
    ['bytes=-0', 1000],
    ['bytes=0-', 0],
    ['bytes=0-0', 0],
    ['bytes=1000-, -0', 1000],
  ])('answers %s of %d bytes as unsatisfiable (416)', (value, size) => {
    expect(parseRange(value, size)).toEqual(unsatisfiable)
  })

  it('serves the one satisfiable range among unsatisfiable ones', () => {
    expect(parseRange('bytes=2000-3000, 10-19', 1000)).toEqual(partial(10, 19))
  })

  it('answers several satisfiable ranges with the whole file', () => {
    expect(parseRange('bytes=0-9, 20-29', 1000)).toEqual(whole)
    expect(parseRange('bytes=0-9,-10', 1000)).toEqual(whole)
    expect(parseRange('bytes=0-9, 0-9', 1000)).toEqual(whole)
  })

  it('answers a suffix range of an empty file with the whole (empty) file', () => {
    expect(parseRange('bytes=-5', 0)).toEqual(whole)
  })

  it('ignores other range units', () => {
    expect(parseRange('items=0-1', 1000)).toEqual(whole)
    expect(parseRange('0-1', 1000)).toEqual(whole)
  })

  it.each([
    'bytes=a-b',
    'bytes=5-1',
    'bytes=',
    'bytes=,',
    'bytes=-',
    'bytes=1-2-3',
    'bytes=--1',
    'bytes=+1-2',
    'bytes=1.5-2',
    'bytes=0x10-0x20',
    'bytes=0-9, a-b',
    'bytes=99999999999999999999-',
    'bytes=0-99999999999999999999',
    'bytes=-99999999999999999999',
    'bytes=9007199254740992-',
  ])('ignores the malformed %p', (value) => {
    expect(parseRange(value, 1000)).toEqual(whole)
  })

  it('tolerates whitespace', () => {
    expect(parseRange('bytes= 0 - 9', 1000)).toEqual(partial(0, 9))
    expect(parseRange(' bytes =0-9 ', 1000)).toEqual(partial(0, 9))
    expect(parseRange('bytes=\t-10\t', 1000)).toEqual(partial(990, 999))
  })

  it('reads the unit case-insensitively', () => {
    expect(parseRange('Bytes=0-1', 1000)).toEqual(partial(0, 1))
    expect(parseRange('BYTES=0-1', 1000)).toEqual(partial(0, 1))
  })

  it('skips empty list elements', () => {
    expect(parseRange('bytes=0-9,', 1000)).toEqual(partial(0, 9))
    expect(parseRange('bytes=, 0-9', 1000)).toEqual(partial(0, 9))
    expect(parseRange('bytes=0-9, ,', 1000)).toEqual(partial(0, 9))
  })

  it('reads leading zeros as decimal', () => {
    expect(parseRange('bytes=010-019', 1000)).toEqual(partial(10, 19))
  })
})

describe('ifRangeHolds (RFC 9110 §13.1.5)', () => {
  it('holds without If-Range', () => {
    expect(ifRangeHolds(undefined, FACTS)).toBe(true)
  })

  it('holds for the entity tag, by strong comparison', () => {
    expect(ifRangeHolds(ETAG, FACTS)).toBe(true)
    expect(ifRangeHolds(` ${ETAG} `, FACTS)).toBe(true)
  })

  it('does not hold for the weak form of the tag', () => {
    expect(ifRangeHolds(`W/${ETAG}`, FACTS)).toBe(false)
  })

  it('does not hold for another tag, or a list of tags', () => {
    expect(ifRangeHolds('"other"', FACTS)).toBe(false)
    expect(ifRangeHolds(fileETag({ size: 1235, mtimeMs: MTIME }), FACTS)).toBe(false)
    expect(ifRangeHolds(`${ETAG}, "other"`, FACTS)).toBe(false)
    expect(ifRangeHolds('*', FACTS)).toBe(false)
  })

  it('holds for exactly the Last-Modified date', () => {
    expect(ifRangeHolds(LAST_MODIFIED, FACTS)).toBe(true)
    expect(ifRangeHolds(lastModified(FACTS), FACTS)).toBe(true)
  })

  it('does not hold for another date, earlier or later', () => {
    expect(ifRangeHolds(BEFORE, FACTS)).toBe(false)
    expect(ifRangeHolds(AFTER, FACTS)).toBe(false)
  })

  it('does not hold for garbage', () => {
    expect(ifRangeHolds('garbage', FACTS)).toBe(false)
    expect(ifRangeHolds('', FACTS)).toBe(false)
    expect(ifRangeHolds('"unterminated', FACTS)).toBe(false)
  })
})

describe('HTTP-dates and the time zone (RFC 9110 §5.6.7)', () => {
  it('asctime-dates are read as GMT when the process runs in UTC', () => {
    const utc = inTimeZone(
      'UTC',
      `[f.evaluatePreconditions((n) => n === 'if-modified-since' ? ${JSON.stringify(ASCTIME)} : undefined, facts), f.ifRangeHolds(${JSON.stringify(ASCTIME)}, facts)]`,
    )
    expect(utc).toEqual([304, true])
  })

  it('IMF-fixdates are read as GMT in any time zone', () => {
    const tokyo = inTimeZone(
      'Asia/Tokyo',
      `[f.evaluatePreconditions((n) => n === 'if-modified-since' ? ${JSON.stringify(LAST_MODIFIED)} : undefined, facts), f.ifRangeHolds(${JSON.stringify(LAST_MODIFIED)}, facts)]`,
    )
    expect(tokyo).toEqual([304, true])
  })

  // An asctime-date has no zone but is in GMT (RFC 9110 §5.6.7: "HTTP-date ... MUST represent
  // time in UTC"; recipients MUST accept all three formats): in Asia/Tokyo (UTC+9)
  // `If-Modified-Since: Tue Jan  2 03:04:05 2024` is exactly the file's second.
  it('asctime-dates are read as GMT in any time zone (§5.6.7)', () => {
    const tokyo = inTimeZone(
      'Asia/Tokyo',
      `[f.evaluatePreconditions((n) => n === 'if-modified-since' ? ${JSON.stringify(ASCTIME)} : undefined, facts), f.evaluatePreconditions((n) => n === 'if-unmodified-since' ? ${JSON.stringify(ASCTIME)} : undefined, facts), f.ifRangeHolds(${JSON.stringify(ASCTIME)}, facts)]`,
    )
    expect(tokyo).toEqual([304, 'ok', true])
  })
})

describe('contentTypeOf', () => {
  it.each([
    ['index.html', 'text/html; charset=utf-8'],
    ['a.HTML', 'text/html; charset=utf-8'],
    ['style.Css', 'text/css; charset=utf-8'],
    ['app.mjs', 'text/javascript; charset=utf-8'],
    ['data.json', 'application/json; charset=utf-8'],
    ['app.webmanifest', 'application/manifest+json; charset=utf-8'],
    ['notes.md', 'text/markdown; charset=utf-8'],
    ['photo.JPEG', 'image/jpeg'],
    ['font.woff2', 'font/woff2'],
    ['archive.tar.gz', 'application/gzip'],
    ['/srv/www/a.b/c.png', 'image/png'],
    ['C:\\site\\img\\logo.SVG', 'image/svg+xml'],
  ])('%s is %s', (name, type) => {
    expect(contentTypeOf(name)).toBe(type)
  })

  it.each([
    ['no extension', 'README'],
    ['a dotfile', '.bashrc'],
    ['a dotfile in a folder', '/home/u/.bashrc'],
    ['a dotfile in a Windows folder', 'C:\\Users\\u\\.bashrc'],
    ['a dot in a folder name only', '/a.b/c'],
    ['a dot in a Windows folder name only', 'C:\\a.b\\c'],
    ['a trailing dot', 'file.'],
    ['an unknown extension', 'file.notatype'],
    ['an empty name', ''],
  ])('%s is application/octet-stream', (_what, name) => {
    expect(contentTypeOf(name)).toBe('application/octet-stream')
  })

  // The extension table is a plain object: Object.prototype's names must not be found in it.
  it('does not take Object.prototype properties for extensions', () => {
    expect(contentTypeOf('x.constructor')).toBe('application/octet-stream')
    expect(contentTypeOf('x.__proto__')).toBe('application/octet-stream')
    expect(contentTypeOf('x.toString')).toBe('application/octet-stream')
  })
})

describe('attachment (RFC 6266, RFC 8187)', () => {
  /** The value of `filename*` after `UTF-8''`, or undefined. */
  const extended = (value: string): string | undefined =>
    /; filename\*=UTF-8''([^;]*)$/.exec(value)?.[1]

  it('gives only filename="…" for a plain ASCII name', () => {
    expect(attachment('report.pdf')).toBe('attachment; filename="report.pdf"')
    expect(attachment("it's (1) *final*.txt")).toBe('attachment; filename="it\'s (1) *final*.txt"')
  })

  it('replaces quotes and backslashes in the ASCII form', () => {
    const value = attachment('a"b\\c.txt')
    expect(value.startsWith('attachment; filename="a_b_c.txt"')).toBe(true)
    const ext = extended(value)
    expect(ext).toBe('a%22b%5Cc.txt')
    expect(decodeURIComponent(ext!)).toBe('a"b\\c.txt')
  })

  it('replaces control characters in the ASCII form', () => {
    const value = attachment('a\r\nb.txt')
    expect(value).not.toMatch(/[\r\n]/)
    expect(value.startsWith('attachment; filename="a__b.txt"')).toBe(true)
    expect(extended(value)).toBe('a%0D%0Ab.txt')
  })

  it('gives an ASCII fallback and a percent-encoded UTF-8 filename* for other names', () => {
    const name = 'résumé.pdf'
    const value = attachment(name)
    expect(value).toBe(`attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`)
    expect(decodeURIComponent(extended(value)!)).toBe(name)
  })

  it("percent-encodes ' ( ) * in filename*, which are not attr-chars", () => {
    const name = "naïve it's (1) *final*.txt"
    const value = attachment(name)
    expect(value.startsWith('attachment; filename="na_ve it\'s (1) *final*.txt"; ')).toBe(true)
    const ext = extended(value)!
    expect(ext).not.toMatch(/['()* ]/)
    expect(ext).toContain('%27')
    expect(ext).toContain('%28')
    expect(ext).toContain('%29')
    expect(ext).toContain('%2A')
    // Only attr-char and pct-encoded (RFC 8187 §3.2.1).
    expect(ext).toMatch(/^(?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})*$/)
    expect(decodeURIComponent(ext)).toBe(name)
  })

  it('encodes characters beyond the BMP', () => {
    const name = 'smile 😀.png'
    const value = attachment(name)
    expect(value.startsWith('attachment; filename="smile __.png"; ')).toBe(true)
    expect(decodeURIComponent(extended(value)!)).toBe(name)
  })

  // encodeURIComponent throws on a lone surrogate: such a name (not well-formed UTF-16) gets
  // U+FFFD in its place rather than an exception.
  it('replaces a lone surrogate instead of throwing', () => {
    const value = attachment('bad\ud800.txt')
    expect(value).toBe(`attachment; filename="bad_.txt"; filename*=UTF-8''bad%EF%BF%BD.txt`)
    expect(attachment('\udc00')).toContain("filename*=UTF-8''%EF%BF%BD")
  })
})

describe('parseHttpDate (RFC 9110 §5.6.7)', () => {
  const SECONDS = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000

  it('reads the three forms of the same instant, all as GMT', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(SECONDS)
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(SECONDS)
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(SECONDS)
    expect(parseHttpDate('  Sun, 06 Nov 1994 08:49:37 GMT  ')).toBe(SECONDS)
  })

  it('reads an rfc850 two-digit year as the most recent such year not over 50 years ahead', () => {
    const now = Date.UTC(2026, 0, 1)
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(SECONDS)
    expect(parseHttpDate('Monday, 06-Nov-26 08:49:37 GMT', now)).toBe(
      Date.UTC(2026, 10, 6, 8, 49, 37) / 1000,
    )
    expect(parseHttpDate('Friday, 06-Nov-76 08:49:37 GMT', now)).toBe(
      Date.UTC(2076, 10, 6, 8, 49, 37) / 1000,
    )
    expect(parseHttpDate('Tuesday, 06-Nov-77 08:49:37 GMT', now)).toBe(
      Date.UTC(1977, 10, 6, 8, 49, 37) / 1000,
    )
  })

  it.each([
    ['ISO 8601', '1994-11-06T08:49:37Z'],
    ['a numeric zone', 'Sun, 06 Nov 1994 08:49:37 +0000'],
    ['another zone', 'Sun, 06 Nov 1994 08:49:37 UTC'],
    ['lower-case GMT', 'Sun, 06 Nov 1994 08:49:37 gmt'],
    ['a one-digit day in IMF-fixdate', 'Sun, 6 Nov 1994 08:49:37 GMT'],
    ['no weekday', '06 Nov 1994 08:49:37 GMT'],
    ['a month name in full', 'Sun, 06 November 1994 08:49:37 GMT'],
    ['31 February', 'Thu, 31 Feb 2000 00:00:00 GMT'],
    ['hour 24', 'Sun, 06 Nov 1994 24:00:00 GMT'],
    ['minute 60', 'Sun, 06 Nov 1994 08:60:00 GMT'],
    ['day 0', 'Sun, 00 Nov 1994 08:49:37 GMT'],
    ['a year alone', '2025'],
    ['a number', '1'],
    ['empty', ''],
  ])('rejects %s', (_what, value) => {
    expect(parseHttpDate(value)).toBeNull()
  })
})
