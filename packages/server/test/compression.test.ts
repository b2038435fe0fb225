import { describe, expect, it } from '@jest/globals'
import { gunzipSync, inflateSync } from 'node:zlib'
import {
  DEFAULT_COMPRESSION,
  chooseCompression,
  compressBody,
  isCompressibleType,
  negotiateEncoding,
  type ContentCoding,
} from '../dist/compression.js'

const BOTH: readonly ContentCoding[] = ['gzip', 'deflate']
const DEFLATE_FIRST: readonly ContentCoding[] = ['deflate', 'gzip']

describe('negotiateEncoding', () => {
  it('returns null without a header or with an empty one', () => {
    expect(negotiateEncoding(undefined, BOTH)).toBeNull()
    expect(negotiateEncoding('', BOTH)).toBeNull()
    expect(negotiateEncoding('   ', BOTH)).toBeNull()
  })

  it('picks a plainly listed coding', () => {
    expect(negotiateEncoding('gzip', BOTH)).toBe('gzip')
    expect(negotiateEncoding('deflate', BOTH)).toBe('deflate')
    expect(negotiateEncoding('br', BOTH)).toBeNull()
  })

  it('breaks ties by the server preference order', () => {
    expect(negotiateEncoding('deflate, gzip', BOTH)).toBe('gzip')
    expect(negotiateEncoding('gzip, deflate', DEFLATE_FIRST)).toBe('deflate')
    expect(negotiateEncoding('gzip, deflate, br', ['deflate'])).toBe('deflate')
  })

  it('honours q-values', () => {
    expect(negotiateEncoding('gzip;q=0.5, deflate', BOTH)).toBe('deflate')
    expect(negotiateEncoding('gzip;q=0.5, deflate;q=0.4', BOTH)).toBe('gzip')
    expect(negotiateEncoding('gzip;q=0.001, deflate;q=0', BOTH)).toBe('gzip')
    expect(negotiateEncoding('gzip ; q=0.8 , deflate ; Q=0.9', BOTH)).toBe('deflate')
    expect(negotiateEncoding('gzip;q=1.000', BOTH)).toBe('gzip')
  })

  it('treats q=0 as not acceptable', () => {
    expect(negotiateEncoding('gzip;q=0', BOTH)).toBeNull()
    expect(negotiateEncoding('gzip;q=0.000', ['gzip'])).toBeNull()
    expect(negotiateEncoding('gzip;q=0, deflate', BOTH)).toBe('deflate')
  })

  it('lets * stand for every coding not listed', () => {
    expect(negotiateEncoding('*', BOTH)).toBe('gzip')
    expect(negotiateEncoding('*', DEFLATE_FIRST)).toBe('deflate')
    expect(negotiateEncoding('*;q=0, gzip', BOTH)).toBe('gzip')
    expect(negotiateEncoding('*;q=0, gzip', ['deflate'])).toBeNull()
    expect(negotiateEncoding('gzip;q=0, *', BOTH)).toBe('deflate')
    expect(negotiateEncoding('gzip;q=0.2, *;q=0.5', BOTH)).toBe('deflate')
    expect(negotiateEncoding('*;q=0', BOTH)).toBeNull()
  })

  it('never returns identity', () => {
    expect(negotiateEncoding('identity', BOTH)).toBeNull()
    expect(negotiateEncoding('identity;q=1, gzip;q=0.1', BOTH)).toBe('gzip')
    expect(negotiateEncoding('identity;q=0', BOTH)).toBeNull()
  })

  it('is case-insensitive and maps x-gzip to gzip', () => {
    expect(negotiateEncoding('GZIP', BOTH)).toBe('gzip')
    expect(negotiateEncoding('Deflate', BOTH)).toBe('deflate')
    expect(negotiateEncoding('x-gzip', BOTH)).toBe('gzip')
    expect(negotiateEncoding('X-GZIP;q=0.5, deflate;q=0.1', BOTH)).toBe('gzip')
  })

  it('folds ASCII case only and ignores non-ASCII codings', () => {
    expect(negotiateEncoding('GZ\u0130P', BOTH)).toBeNull()
    expect(negotiateEncoding('D\u0130FLATE, gzip;q=0.1', DEFLATE_FIRST)).toBe('gzip')
  })

  it('ignores entries with invalid weights or codings', () => {
    expect(negotiateEncoding('gzip;q=2', BOTH)).toBeNull()
    expect(negotiateEncoding('gzip;q=1.5, deflate', BOTH)).toBe('deflate')
    expect(negotiateEncoding('gzip;q=0.5555', BOTH)).toBeNull()
    expect(negotiateEncoding('gzip;q=.5', BOTH)).toBeNull()
    expect(negotiateEncoding('gzip;q=-1', BOTH)).toBeNull()
    expect(negotiateEncoding('gzip;q=abc, deflate;q=0.1', BOTH)).toBe('deflate')
    expect(negotiateEncoding('gzip;q', BOTH)).toBeNull()
    expect(negotiateEncoding('gzip;q=', BOTH)).toBeNull()
    expect(negotiateEncoding('gz ip, deflate', BOTH)).toBe('deflate')
    expect(negotiateEncoding('gzip;level=9', BOTH)).toBe('gzip')
  })

  it('keeps the first weight of a coding listed twice', () => {
    expect(negotiateEncoding('gzip;q=0, gzip', BOTH)).toBeNull()
    expect(negotiateEncoding('gzip, x-gzip;q=0', BOTH)).toBe('gzip')
  })

  it('never throws on garbage', () => {
    const garbage = [
      ',,,',
      ';;;',
      ';q=1',
      '=,=;=',
      'gzip;;q=1',
      '\u0000\u00ff\uffff',
      'gzip;q=0.5;q=1',
      ' , gzip , ',
      'a'.repeat(10000),
      Array.from({ length: 1000 }, () => 'x;q=0.1').join(','),
    ]
    for (const header of garbage) {
      expect(() => negotiateEncoding(header, BOTH)).not.toThrow()
    }
    expect(negotiateEncoding(',,,', BOTH)).toBeNull()
    expect(negotiateEncoding(' , gzip , ', BOTH)).toBe('gzip')
    expect(negotiateEncoding('gzip;;q=1', BOTH)).toBe('gzip')
    expect(negotiateEncoding('gzip;q=0.5;q=1', BOTH)).toBe('gzip')
  })

  it('stays linear on long hostile headers', () => {
    const header = 'a,'.repeat(50_000) + 'gzip'
    const started = performance.now()
    expect(negotiateEncoding(header, BOTH)).toBe('gzip')
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('returns null when the server offers nothing', () => {
    expect(negotiateEncoding('gzip', [])).toBeNull()
  })
})

describe('isCompressibleType', () => {
  it.each([
    'text/html',
    'text/plain; charset=utf-8',
    'text/css',
    'TEXT/CSV',
    'application/json',
    'Application/JSON; charset=UTF-8',
    'application/javascript',
    'application/xml',
    'application/x-www-form-urlencoded',
    'image/svg+xml',
    'application/problem+json',
    'application/ld+json',
    'application/atom+xml',
    '  application/json  ;charset=utf-8',
  ])('compresses %s', (type) => {
    expect(isCompressibleType(type)).toBe(true)
  })

  it.each([
    undefined,
    '',
    'text/event-stream',
    'Text/Event-Stream; charset=utf-8',
    'image/png',
    'image/jpeg',
    'application/octet-stream',
    'application/wasm',
    'application/zip',
    'application/gzip',
    'video/mp4',
    'multipart/form-data; boundary=x',
    'json',
    'text/',
    '/json',
    'application/json\u212A',
  ])('does not compress %s', (type) => {
    expect(isCompressibleType(type)).toBe(false)
  })
})

describe('compressBody', () => {
  const json = JSON.stringify(
    Array.from({ length: 200 }, (_, i) => ({
      id: i,
      name: `user ${i}`,
      email: `user${i}@example.com`,
      active: i % 3 === 0,
    })),
  )
  const body = new TextEncoder().encode(json)

  it('works on a body of at least 10 KB', () => {
    expect(body.byteLength).toBeGreaterThan(10 * 1024)
  })

  it('gzip round-trips through node:zlib gunzipSync', () => {
    const compressed = compressBody(body, 'gzip', 6)
    expect(compressed.byteLength).toBeLessThan(body.byteLength / 4)
    expect(compressed[0]).toBe(0x1f)
    expect(compressed[1]).toBe(0x8b)
    expect(new Uint8Array(gunzipSync(compressed))).toEqual(body)
  })

  it('deflate is the zlib format and round-trips through node:zlib inflateSync', () => {
    const compressed = compressBody(body, 'deflate', 6)
    expect(compressed.byteLength).toBeLessThan(body.byteLength / 4)
    expect(compressed[0]).toBe(0x78)
    expect(((compressed[0] ?? 0) * 256 + (compressed[1] ?? 0)) % 31).toBe(0)
    expect(new Uint8Array(inflateSync(compressed))).toEqual(body)
  })

  it('round-trips at every level, clamping out-of-range ones', () => {
    for (const level of [0, 1, 5, 9, -3, 42, 6.7, Number.NaN]) {
      for (const coding of ['gzip', 'deflate'] as const) {
        const compressed = compressBody(body, coding, level)
        const decoded = coding === 'gzip' ? gunzipSync(compressed) : inflateSync(compressed)
        expect(new Uint8Array(decoded)).toEqual(body)
      }
    }
  })

  it('gives the same gzip bytes for the same body (no timestamp)', () => {
    const first = compressBody(body, 'gzip', 6)
    expect(first.subarray(4, 8)).toEqual(new Uint8Array(4))
    expect(compressBody(body, 'gzip', 6)).toEqual(first)
  })

  it('round-trips an empty body', () => {
    expect(gunzipSync(compressBody(new Uint8Array(0), 'gzip', 6)).byteLength).toBe(0)
    expect(inflateSync(compressBody(new Uint8Array(0), 'deflate', 6)).byteLength).toBe(0)
  })
})

describe('DEFAULT_COMPRESSION', () => {
  it('is on, 860 bytes, level 6, gzip then deflate, and frozen', () => {
    expect(DEFAULT_COMPRESSION).toEqual({
      enabled: true,
      threshold: 860,
      level: 6,
      encodings: ['gzip', 'deflate'],
    })
    expect(Object.isFrozen(DEFAULT_COMPRESSION)).toBe(true)
    expect(Object.isFrozen(DEFAULT_COMPRESSION.encodings)).toBe(true)
  })
})

describe('chooseCompression', () => {
  const base = {
    acceptEncoding: 'gzip, deflate',
    contentType: 'application/json',
    contentEncoding: undefined,
    bodyLength: 2000,
  }

  it('compresses an eligible response', () => {
    expect(chooseCompression(DEFAULT_COMPRESSION, base)).toBe('gzip')
  })

  it('respects enabled, threshold, type, existing encoding and the client', () => {
    expect(chooseCompression({ ...DEFAULT_COMPRESSION, enabled: false }, base)).toBeNull()
    expect(chooseCompression(DEFAULT_COMPRESSION, { ...base, bodyLength: 859 })).toBeNull()
    expect(chooseCompression(DEFAULT_COMPRESSION, { ...base, bodyLength: 860 })).toBe('gzip')
    expect(
      chooseCompression({ ...DEFAULT_COMPRESSION, threshold: 0 }, { ...base, bodyLength: 0 }),
    ).toBeNull()
    expect(chooseCompression(DEFAULT_COMPRESSION, { ...base, contentType: 'image/png' })).toBeNull()
    expect(
      chooseCompression(DEFAULT_COMPRESSION, { ...base, contentType: 'text/event-stream' }),
    ).toBeNull()
    expect(chooseCompression(DEFAULT_COMPRESSION, { ...base, contentEncoding: 'br' })).toBeNull()
    expect(chooseCompression(DEFAULT_COMPRESSION, { ...base, contentEncoding: 'Identity' })).toBe(
      'gzip',
    )
    expect(
      chooseCompression(DEFAULT_COMPRESSION, { ...base, acceptEncoding: undefined }),
    ).toBeNull()
    expect(chooseCompression({ ...DEFAULT_COMPRESSION, encodings: ['deflate'] }, base)).toBe(
      'deflate',
    )
  })
})
