// The wire format, byte for byte (README "Wire format"), and stream ids. No Redis needed.
import { describe, expect, it } from '@jest/globals'
import {
  compareStreamIds,
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeParts,
  type EngineMessage,
  parseStreamId,
} from '../dist/index.js'

const A = Buffer.from('a')

function withHistoryId(message: EngineMessage, id: string): Buffer {
  const { head, tail } = encodeEnvelopeParts(A, message)
  return Buffer.concat([head, Buffer.from([id.length]), Buffer.from(id, 'latin1'), tail])
}

describe('envelope', () => {
  it('encodes text as version, kind, origin, history id length, UTF-8 payload', () => {
    expect([...encodeEnvelope(A, { kind: 'text', data: 'hé' })]).toEqual([
      1, 1, 1, 0x61, 0, 0x68, 0xc3, 0xa9,
    ])
  })

  it('encodes binary payload bytes as they are', () => {
    expect([
      ...encodeEnvelope(Buffer.from('xy'), { kind: 'binary', data: Uint8Array.of(0, 255) }),
    ]).toEqual([1, 2, 2, 0x78, 0x79, 0, 0, 255])
  })

  it('encodes an event with flags and uint32 big-endian lengths', () => {
    const wire = encodeEnvelope(A, { kind: 'event', event: { event: 't', id: '77', data: 'd' } })
    expect([...wire]).toEqual([1, 3, 1, 0x61, 0, 3, 0, 0, 0, 1, 0x74, 0, 0, 0, 2, 0x37, 0x37, 0x64])
    expect([...encodeEnvelope(A, { kind: 'event', event: { data: '' } })]).toEqual([
      1, 3, 1, 0x61, 0, 0,
    ])
    expect([...encodeEnvelope(A, { kind: 'event', event: { id: '', data: 'x' } })]).toEqual([
      1, 3, 1, 0x61, 0, 2, 0, 0, 0, 0, 0x78,
    ])
  })

  it('round-trips every kind', () => {
    const all = new Uint8Array(256).map((_, i) => i)
    const messages: EngineMessage[] = [
      { kind: 'text', data: '' },
      { kind: 'text', data: 'line\r\n\u0000 ✓ 😀' },
      { kind: 'binary', data: new Uint8Array(0) },
      { kind: 'binary', data: all },
      { kind: 'event', event: { data: 'only data' } },
      { kind: 'event', event: { event: '', data: '' } },
      { kind: 'event', event: { event: 'tick', id: '42', data: 'a\nb' } },
      { kind: 'event', event: { id: 'é', data: '😀' } },
    ]
    for (const message of messages) {
      const decoded = decodeEnvelope(encodeEnvelope(Buffer.from('instance-1'), message))
      expect(decoded?.message).toEqual(message)
      expect(decoded?.origin.toString()).toBe('instance-1')
      expect(decoded?.historyId).toBeUndefined()
    }
  })

  it('hands out binary data as a fresh array, not a view of the envelope', () => {
    const wire = encodeEnvelope(A, { kind: 'binary', data: Uint8Array.of(1, 2, 3) })
    const decoded = decodeEnvelope(wire)
    if (decoded?.message.kind !== 'binary') throw new Error('not binary')
    expect(decoded.message.data.buffer.byteLength).toBe(3)
    expect(Buffer.isBuffer(decoded.message.data)).toBe(false)
    wire.fill(0)
    expect([...decoded.message.data]).toEqual([1, 2, 3])
  })

  it('reads the history id, which becomes an event id', () => {
    const text = decodeEnvelope(withHistoryId({ kind: 'text', data: 'x' }, '5-1'))
    expect(text).toMatchObject({ historyId: '5-1', message: { kind: 'text', data: 'x' } })
    const event = decodeEnvelope(
      withHistoryId(
        { kind: 'event', event: { event: 'e', id: 'mine', data: 'y' } },
        '1733390000000-0',
      ),
    )
    expect(event?.historyId).toBe('1733390000000-0')
    expect(event?.message).toEqual({
      kind: 'event',
      event: { event: 'e', id: '1733390000000-0', data: 'y' },
    })
  })

  it('refuses what is not an envelope', () => {
    const good = encodeEnvelope(A, { kind: 'event', event: { event: 'type', id: 'id', data: 'd' } })
    const bad = [
      Buffer.alloc(0),
      Buffer.from('hello'),
      Buffer.from([2, 1, 1, 0x61, 0]), // another version
      Buffer.from([1, 9, 1, 0x61, 0]), // unknown kind
      Buffer.from([1, 1, 0, 0]), // empty origin
      Buffer.from([1, 1, 1, 0x61]), // no history id length
      Buffer.from([1, 1, 1, 0x61, 5, 0x31]), // history id cut short
      Buffer.from([1, 3, 1, 0x61, 0]), // event without flags
      Buffer.from([1, 3, 1, 0x61, 0, 4]), // unknown flag
      good.subarray(0, 8), // event type length cut short
      good.subarray(0, 12), // event type cut short
    ]
    for (const buf of bad) expect(decodeEnvelope(buf)).toBeNull()
  })

  it('refuses an origin that does not fit in one length byte', () => {
    expect(() => encodeEnvelope(Buffer.alloc(256, 0x61), { kind: 'text', data: '' })).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_REDIS_INVALID_ARGUMENT' }),
    )
    expect(() => encodeEnvelope(Buffer.alloc(0), { kind: 'text', data: '' })).toThrow()
  })
})

describe('stream ids', () => {
  it('parses complete ids only', () => {
    expect(parseStreamId('1733390000000-0')).toEqual({ ms: 1733390000000n, seq: 0n })
    expect(parseStreamId('18446744073709551615-18446744073709551615')).not.toBeNull()
    for (const bad of [
      '',
      '1',
      '1-',
      '-1',
      'a-0',
      '1-0 ',
      '+',
      '-',
      '18446744073709551616-0',
      '1-2-3',
    ]) {
      expect(parseStreamId(bad)).toBeNull()
    }
  })

  it('orders by milliseconds, then sequence, as numbers', () => {
    const id = (s: string) => parseStreamId(s)!
    expect(compareStreamIds(id('9-0'), id('10-0'))).toBeLessThan(0)
    expect(compareStreamIds(id('10-2'), id('10-10'))).toBeLessThan(0)
    expect(compareStreamIds(id('10-10'), id('10-10'))).toBe(0)
    expect(compareStreamIds(id('11-0'), id('10-99'))).toBeGreaterThan(0)
  })
})
