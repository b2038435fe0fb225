import { describe, expect, it } from '@jest/globals'
import zlib from 'node:zlib'
import {
  PerMessageDeflate,
  negotiateDeflate,
  parseExtensions,
  type DeflateParams,
} from '../dist/index.js'

const { Z_SYNC_FLUSH } = zlib.constants
// Compare big buffers as strings: jest's deep equality walks typed arrays element by element.
const hex = (b: Buffer): string => b.toString('hex')

const BASE: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  threshold: 0,
  level: 6,
}

/** Compresses `messages` with one continuous zlib stream, as a client with context takeover does. */
async function streamCompress(messages: Buffer[], windowBits = 15): Promise<Buffer[]> {
  const d = zlib.createDeflateRaw({ windowBits })
  const out: Buffer[] = []
  for (const m of messages) {
    const chunks: Buffer[] = []
    const onData = (c: Buffer): void => {
      chunks.push(c)
    }
    d.on('data', onData)
    d.write(m)
    await new Promise<void>((resolve) => d.flush(Z_SYNC_FLUSH, () => resolve()))
    d.off('data', onData)
    const all = Buffer.concat(chunks)
    expect(all.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff]))
    out.push(all.subarray(0, all.length - 4))
  }
  d.close()
  return out
}

/** Inflates `payloads` with one continuous zlib stream, as a client with context takeover does. */
async function streamInflate(payloads: Buffer[]): Promise<Buffer[]> {
  const inf = zlib.createInflateRaw()
  const out: Buffer[] = []
  for (const p of payloads) {
    const chunks: Buffer[] = []
    const onData = (c: Buffer): void => {
      chunks.push(c)
    }
    inf.on('data', onData)
    inf.write(Buffer.concat([p, Buffer.from([0, 0, 0xff, 0xff])]))
    await new Promise<void>((resolve) => inf.flush(Z_SYNC_FLUSH, () => resolve()))
    inf.off('data', onData)
    out.push(Buffer.concat(chunks))
  }
  inf.close()
  return out
}

const MESSAGES = [
  'the quick brown fox jumps over the lazy dog',
  'the quick brown fox jumps over the lazy dog again',
  'x'.repeat(40000),
  JSON.stringify({ user: 'alice', text: 'the quick brown fox', n: [1, 2, 3] }),
  '',
  'the quick brown fox jumps over the lazy dog',
].map((s) => Buffer.from(s))

describe('PerMessageDeflate', () => {
  it('inflates a client stream that keeps its context across messages', async () => {
    const pmd = new PerMessageDeflate(BASE, { maxMessageLen: 1 << 20 })
    const payloads = await streamCompress(MESSAGES)
    // The second message refers back into the first one: it is tiny.
    expect(payloads[1]!.length).toBeLessThan(16)
    for (let i = 0; i < MESSAGES.length; i++)
      expect(hex(pmd.inflate([payloads[i]!]))).toBe(hex(MESSAGES[i]!))
  })

  it('inflates fragments and empty messages', () => {
    const pmd = new PerMessageDeflate(BASE, { maxMessageLen: 1 << 20 })
    const c = zlib.deflateRawSync(Buffer.from('split me'), { finishFlush: Z_SYNC_FLUSH })
    const p = c.subarray(0, c.length - 4)
    expect(pmd.inflate([p.subarray(0, 3), p.subarray(3)]).toString()).toBe('split me')
    expect(pmd.inflate([Buffer.from([0x00])])).toEqual(Buffer.alloc(0)) // RFC 7692 §7.2.3.6
    // A message ending with a BFINAL block is fine too (RFC 7692 §7.2.3.5).
    expect(pmd.inflate([zlib.deflateRawSync(Buffer.from('final'))]).toString()).toBe('final')
  })

  it('with client_no_context_takeover keeps no history (a back-reference fails)', async () => {
    const pmd = new PerMessageDeflate(
      { ...BASE, clientNoContextTakeover: true },
      { maxMessageLen: 1 << 20 },
    )
    const payloads = await streamCompress([MESSAGES[0]!, MESSAGES[0]!])
    expect(hex(pmd.inflate([payloads[0]!]))).toBe(hex(MESSAGES[0]!))
    expect(() => pmd.inflate([payloads[1]!])).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_WS_INFLATE_FAILED', closeCode: 1007 }),
    )
  })

  it('deflates with context takeover: a continuous client inflater decodes every message', async () => {
    const pmd = new PerMessageDeflate(BASE, { maxMessageLen: 1 << 20 })
    const payloads = MESSAGES.map((m) => pmd.deflate(m))
    expect(payloads[1]!.length).toBeLessThan(16) // refers back to message 0
    expect(payloads[4]).toEqual(Buffer.from([0x00]))
    expect((await streamInflate(payloads)).map(hex)).toEqual(MESSAGES.map(hex))
    expect(pmd.cacheKey).toBeNull()
  })

  it('deflates without context takeover: every message stands alone, identical output per key', () => {
    const params = { ...BASE, serverNoContextTakeover: true }
    const a = new PerMessageDeflate(params, { maxMessageLen: 1 << 20 })
    const b = new PerMessageDeflate(params, { maxMessageLen: 1 << 20 })
    expect(a.cacheKey).toBe(b.cacheKey)
    expect(a.cacheKey).not.toBeNull()
    for (const m of MESSAGES) {
      const p = a.deflate(m)
      expect(b.deflate(m)).toEqual(p)
      const alone = zlib.inflateRawSync(Buffer.concat([p, Buffer.from([0, 0, 0xff, 0xff])]), {
        finishFlush: Z_SYNC_FLUSH,
      })
      expect(hex(alone)).toBe(hex(m))
    }
  })

  it('round-trips through itself with and without context takeover, and with small windows', () => {
    for (const noContext of [false, true]) {
      for (const bits of [9, 10, 12, 15]) {
        const params = {
          ...BASE,
          serverNoContextTakeover: noContext,
          clientNoContextTakeover: noContext,
          serverMaxWindowBits: bits,
          clientMaxWindowBits: bits,
        }
        const sender = new PerMessageDeflate(params, { maxMessageLen: 1 << 20 })
        const receiver = new PerMessageDeflate(params, { maxMessageLen: 1 << 20 })
        for (let round = 0; round < 3; round++) {
          for (const m of MESSAGES) expect(hex(receiver.inflate([sender.deflate(m)]))).toBe(hex(m))
        }
      }
    }
  })

  it('a small server window produces back-references a small-window inflater accepts', async () => {
    const pmd = new PerMessageDeflate(
      { ...BASE, serverMaxWindowBits: 9 },
      { maxMessageLen: 1 << 20 },
    )
    const inf = zlib.createInflateRaw({ windowBits: 9 })
    const out: Buffer[] = []
    inf.on('data', (c: Buffer) => out.push(c))
    for (const m of MESSAGES)
      inf.write(Buffer.concat([pmd.deflate(m), Buffer.from([0, 0, 0xff, 0xff])]))
    await new Promise<void>((resolve) => inf.flush(Z_SYNC_FLUSH, () => resolve()))
    expect(hex(Buffer.concat(out))).toBe(hex(Buffer.concat(MESSAGES)))
    inf.close()
  })

  it('stops inflating at maxMessageLen: a 100 MB bomb fails fast with bounded memory', () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(100 * 1024 * 1024), { finishFlush: Z_SYNC_FLUSH })
    const payload = bomb.subarray(0, bomb.length - 4)
    expect(payload.length).toBeLessThan(200 * 1024)
    const pmd = new PerMessageDeflate(BASE, { maxMessageLen: 64 * 1024 })
    const before = process.memoryUsage()
    const started = performance.now()
    expect(() => pmd.inflate([payload])).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_WS_MESSAGE_TOO_LARGE', closeCode: 1009 }),
    )
    expect(performance.now() - started).toBeLessThan(1000)
    expect(process.memoryUsage().arrayBuffers - before.arrayBuffers).toBeLessThan(8 * 1024 * 1024)
    // Exactly at the limit is fine.
    const exact = zlib.deflateRawSync(Buffer.alloc(64 * 1024), { finishFlush: Z_SYNC_FLUSH })
    const fresh = new PerMessageDeflate(BASE, { maxMessageLen: 64 * 1024 })
    expect(fresh.inflate([exact.subarray(0, exact.length - 4)]).length).toBe(64 * 1024)
  })

  it('rejects invalid parameters', () => {
    const bad = expect.objectContaining({ code: 'ERR_MUMMY_INVALID_OPTION' })
    expect(
      () => new PerMessageDeflate({ ...BASE, serverMaxWindowBits: 7 }, { maxMessageLen: 1 }),
    ).toThrow(bad)
    expect(
      () => new PerMessageDeflate({ ...BASE, clientMaxWindowBits: 16 }, { maxMessageLen: 1 }),
    ).toThrow(bad)
    expect(() => new PerMessageDeflate({ ...BASE, level: 10 }, { maxMessageLen: 1 })).toThrow(bad)
    expect(() => new PerMessageDeflate(BASE, { maxMessageLen: -5 })).toThrow(bad)
  })
})

describe('parseExtensions', () => {
  it('parses lists, parameters and quoted values', () => {
    expect(
      parseExtensions(
        'permessage-deflate; client_max_window_bits; server_max_window_bits="10" , , x-foo;a=b',
      ),
    ).toEqual([
      {
        name: 'permessage-deflate',
        params: [
          ['client_max_window_bits', true],
          ['server_max_window_bits', '10'],
        ],
      },
      { name: 'x-foo', params: [['a', 'b']] },
    ])
    expect(parseExtensions('')).toEqual([])
    expect(parseExtensions('Permessage-Deflate;Server_No_Context_Takeover')).toEqual([
      { name: 'permessage-deflate', params: [['server_no_context_takeover', true]] },
    ])
    expect(parseExtensions('a; b="q\\"x"')).toEqual([{ name: 'a', params: [['b', 'q"x']] }])
  })

  it('returns null for malformed values', () => {
    for (const bad of [
      'permessage-deflate; =1',
      'a;',
      'a; b=',
      'a b',
      'a; b="x',
      '"a"',
      'a; b=c d',
      'a;b="\x01"',
    ])
      expect([bad, parseExtensions(bad)]).toEqual([bad, null])
  })
})

describe('negotiateDeflate', () => {
  it('accepts a plain offer and the browser/ws offer', () => {
    expect(negotiateDeflate('permessage-deflate', {})).toEqual({
      response: 'permessage-deflate',
      params: {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
        threshold: 1024,
        level: 1,
      },
    })
    expect(negotiateDeflate('permessage-deflate; client_max_window_bits', {})?.response).toBe(
      'permessage-deflate',
    )
  })

  it('is off without an offer', () => {
    expect(negotiateDeflate(undefined, {})).toBeNull()
    expect(negotiateDeflate('', {})).toBeNull()
    expect(negotiateDeflate('x-webkit-deflate-frame', {})).toBeNull()
    expect(negotiateDeflate('permessage-deflate; =bad', {})).toBeNull()
  })

  it('honours the offered parameters', () => {
    expect(
      negotiateDeflate(
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
        {},
      ),
    ).toMatchObject({
      response:
        'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover; client_max_window_bits=12',
      params: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 12,
      },
    })
  })

  it('applies the server options', () => {
    const options = {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 11,
      clientMaxWindowBits: 10,
      threshold: 0,
      level: 9,
    }
    expect(negotiateDeflate('permessage-deflate; client_max_window_bits', options)).toEqual({
      response:
        'permessage-deflate; server_no_context_takeover; server_max_window_bits=11; client_no_context_takeover; client_max_window_bits=10',
      params: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 11,
        clientMaxWindowBits: 10,
        threshold: 0,
        level: 9,
      },
    })
    // The smaller of the offered and the configured window wins.
    expect(
      negotiateDeflate('permessage-deflate; server_max_window_bits=13; client_max_window_bits=9', {
        serverMaxWindowBits: 11,
        clientMaxWindowBits: 12,
      })?.response,
    ).toBe('permessage-deflate; server_max_window_bits=11; client_max_window_bits=9')
    // A client limit the offer does not allow → declined.
    expect(negotiateDeflate('permessage-deflate', { clientMaxWindowBits: 10 })).toBeNull()
  })

  it('agrees to server_max_window_bits=8 but then never compresses (zlib cannot)', () => {
    const agreed = negotiateDeflate('permessage-deflate; server_max_window_bits=8', {})
    expect(agreed?.response).toBe('permessage-deflate; server_max_window_bits=8')
    expect(agreed?.params.threshold).toBe(Number.MAX_SAFE_INTEGER)
    const pmd = new PerMessageDeflate(agreed!.params, { maxMessageLen: 1 << 20 })
    expect(() => pmd.deflate(Buffer.alloc(10))).toThrow(
      expect.objectContaining({ code: 'ERR_MUMMY_WS_INVALID_ARGUMENT' }),
    )
  })

  it('declines invalid offers and takes the first acceptable one', () => {
    const invalid = [
      'permessage-deflate; foo',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; client_max_window_bits; client_max_window_bits=10',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; client_no_context_takeover="x"',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; server_max_window_bits=7',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=010',
      'permessage-deflate; client_max_window_bits=7',
      'permessage-deflate; client_max_window_bits=abc',
      'permessage-deflate; client_max_window_bits=""',
    ]
    for (const offer of invalid) expect([offer, negotiateDeflate(offer, {})]).toEqual([offer, null])
    expect(
      negotiateDeflate(
        'permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits="9"',
        {},
      )?.response,
    ).toBe('permessage-deflate; client_max_window_bits=9')
    expect(
      negotiateDeflate(
        'x-other, permessage-deflate; server_max_window_bits=16, permessage-deflate',
        {},
      )?.response,
    ).toBe('permessage-deflate')
  })

  it('allows client_max_window_bits=8 (the client compresses, we inflate with 15)', () => {
    expect(
      negotiateDeflate('permessage-deflate; client_max_window_bits=8', {})?.params
        .clientMaxWindowBits,
    ).toBe(8)
  })

  it('rejects out-of-range options', () => {
    const bad = expect.objectContaining({ code: 'ERR_MUMMY_INVALID_OPTION' })
    expect(() => negotiateDeflate('permessage-deflate', { serverMaxWindowBits: 8 })).toThrow(bad)
    expect(() => negotiateDeflate('permessage-deflate', { clientMaxWindowBits: 7 })).toThrow(bad)
    expect(() => negotiateDeflate('permessage-deflate', { threshold: -1 })).toThrow(bad)
  })
})
