import { describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import {
  SseParser,
  encodeComment,
  encodeEvent,
  lastEventId,
  type ParsedEvent,
  type SseEvent,
} from '../dist/index.js'

/** Parses `input` fed as the given pieces; returns the events and the parser. */
function parse(pieces: (string | Uint8Array)[]): { events: ParsedEvent[]; parser: SseParser } {
  const events: ParsedEvent[] = []
  const parser = new SseParser((e) => events.push(e))
  for (const piece of pieces) parser.feed(piece)
  return { events, parser }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(MummyError)
    return (error as MummyError).code
  }
  return undefined
}

describe('encodeEvent', () => {
  it('writes event, id, retry and one data line per line, then a blank line', () => {
    expect(encodeEvent({ data: 'hi' })).toBe('data: hi\n\n')
    expect(encodeEvent({ event: 'tick', id: '7', retry: 1500, data: 'a' })).toBe(
      'event: tick\nid: 7\nretry: 1500\ndata: a\n\n',
    )
    expect(encodeEvent({ data: 'one\ntwo\r\nthree\rfour' })).toBe(
      'data: one\ndata: two\ndata: three\ndata: four\n\n',
    )
    expect(encodeEvent({ data: '' })).toBe('data: \n\n')
    expect(encodeEvent({ data: ' leading space', id: '' })).toBe('id: \ndata:  leading space\n\n')
  })

  it('refuses fields a client would misread, with a stable code', () => {
    expect(codeOf(() => encodeEvent({ event: 'a\nb', data: '' }))).toBe(
      'ERR_MUMMY_SSE_INVALID_FIELD',
    )
    expect(codeOf(() => encodeEvent({ id: 'a\rb', data: '' }))).toBe('ERR_MUMMY_SSE_INVALID_FIELD')
    expect(codeOf(() => encodeEvent({ id: 'a\0b', data: '' }))).toBe('ERR_MUMMY_SSE_INVALID_FIELD')
    for (const retry of [-1, 1.5, Number.NaN, Infinity])
      expect(codeOf(() => encodeEvent({ retry, data: '' }))).toBe('ERR_MUMMY_SSE_INVALID_FIELD')
    expect(codeOf(() => encodeEvent({ data: 5 as unknown as string }))).toBe(
      'ERR_MUMMY_SSE_INVALID_FIELD',
    )
  })

  it('writes comments line by line', () => {
    expect(encodeComment()).toBe(':\n')
    expect(encodeComment('keep-alive')).toBe(': keep-alive\n')
    expect(encodeComment('a\nb')).toBe(': a\n: b\n')
  })

  it('reads Last-Event-ID', () => {
    expect(lastEventId(undefined)).toBeUndefined()
    expect(lastEventId(null)).toBeUndefined()
    expect(lastEventId('42')).toBe('42')
    expect(lastEventId('4\u00002')).toBeUndefined()
  })
})

describe('SseParser (WHATWG event-stream parsing)', () => {
  it('joins data lines, strips one space after the colon, ignores comments and unknown fields', () => {
    const { events } = parse([
      ': a comment\ndata: YHOO\ndata: +2\ndata: 10\n\n',
      'data:test\n\ndata:  test\n\nfoo: bar\ndata\n\n',
    ])
    expect(events.map((e) => e.data)).toEqual(['YHOO\n+2\n10', 'test', ' test', ''])
    expect(events.every((e) => e.type === 'message')).toBe(true)
  })

  it('dispatches nothing for an event without data, and resets its type', () => {
    const { events } = parse(['event: x\n\ndata: after\n\n'])
    expect(events).toEqual([{ type: 'message', data: 'after', lastEventId: '' }])
  })

  it('keeps the last id across events; an id with NUL is ignored; retry only when digits', () => {
    const { events, parser } = parse([
      'id: 1\ndata: a\n\ndata: b\n\nid: x\u0000y\ndata: c\n\nretry: 12x\n\nretry: 3000\n\nid\ndata: d\n\n',
    ])
    expect(events.map((e) => [e.data, e.lastEventId])).toEqual([
      ['a', '1'],
      ['b', '1'],
      ['c', '1'],
      ['d', ''],
    ])
    expect(parser.retry).toBe(3000)
  })

  it('accepts CRLF, LF and CR line endings, also split between chunks', () => {
    expect(parse(['data: a\r\n\r\ndata: b\r\rdata: c\n\n']).events.map((e) => e.data)).toEqual([
      'a',
      'b',
      'c',
    ])
    // CR at the end of one chunk, LF at the start of the next: one line break, not two.
    expect(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n']).events.map((e) => e.data)).toEqual([
      'a\nb',
    ])
  })

  it('skips one BOM at the start (bytes or string), not later ones', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf])
    expect(
      parse([Buffer.concat([bom, Buffer.from('data: x\n\n')])]).events.map((e) => e.data),
    ).toEqual(['x'])
    expect(parse(['\ufeffdata: y\n\n']).events.map((e) => e.data)).toEqual(['y'])
    // A second BOM makes the field name "\ufeffdata": unknown, ignored.
    expect(parse(['\ufeffdata: y\n\n\ufeffdata: z\n\n']).events.map((e) => e.data)).toEqual(['y'])
  })

  it('does not dispatch an event the stream did not finish', () => {
    expect(parse(['data: complete\n\ndata: cut short\n']).events.map((e) => e.data)).toEqual([
      'complete',
    ])
  })

  it('bounds memory: an event over maxEventLen throws ERR_MUMMY_SSE_TOO_LARGE', () => {
    const parser = new SseParser(() => {}, { maxEventLen: 100 })
    parser.feed('data: ' + 'x'.repeat(50) + '\n')
    expect(codeOf(() => parser.feed('data: ' + 'y'.repeat(60) + '\n'))).toBe(
      'ERR_MUMMY_SSE_TOO_LARGE',
    )
    const lines = new SseParser(() => {}, { maxEventLen: 100 })
    expect(codeOf(() => lines.feed('data: ' + 'z'.repeat(200)))).toBe('ERR_MUMMY_SSE_TOO_LARGE')
  })
})

describe('encode → parse round trip, split at every byte', () => {
  const events: SseEvent[] = [
    { data: 'plain' },
    { event: 'update', id: '1', data: '{"a":1}' },
    { data: 'multi\nline\r\nwith\rbreaks' },
    { event: 'ünïcødé', id: 'ü-2', data: 'emoji 🎉 and CJK 漢字 split anywhere' },
    { retry: 2500, data: '' },
    { data: '  spaced  ' },
  ]
  const wire = Buffer.from(
    events.map((e) => encodeEvent(e)).join('') +
      encodeComment('between') +
      encodeEvent({ data: 'end' }),
  )
  const expected: ParsedEvent[] = [
    { type: 'message', data: 'plain', lastEventId: '' },
    { type: 'update', data: '{"a":1}', lastEventId: '1' },
    { type: 'message', data: 'multi\nline\nwith\nbreaks', lastEventId: '1' },
    { type: 'ünïcødé', data: 'emoji 🎉 and CJK 漢字 split anywhere', lastEventId: 'ü-2' },
    { type: 'message', data: '', lastEventId: 'ü-2' },
    { type: 'message', data: '  spaced  ', lastEventId: 'ü-2' },
    { type: 'message', data: 'end', lastEventId: 'ü-2' },
  ]

  it('parses the whole stream in one piece', () => {
    const { events: got, parser } = parse([wire])
    expect(got).toEqual(expected)
    expect(parser.retry).toBe(2500)
  })

  it('parses it identically split in two at every byte offset', () => {
    for (let at = 0; at <= wire.length; at++) {
      const { events: got } = parse([wire.subarray(0, at), wire.subarray(at)])
      expect(got).toEqual(expected)
    }
  })

  it('parses it identically fed one byte at a time', () => {
    const pieces: Uint8Array[] = []
    for (let i = 0; i < wire.length; i++) pieces.push(wire.subarray(i, i + 1))
    expect(parse(pieces).events).toEqual(expected)
  })
})
