import { describe, expect, it } from '@jest/globals'
import {
  Opcode,
  PerMessageDeflate,
  encodeClose,
  encodeFrame,
  encodeMessage,
  type DeflateParams,
} from '../dist/index.js'
import { run } from './harness.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const bytes = (parts: Buffer[]): string => Buffer.concat(parts).toString('hex')

describe('encodeFrame', () => {
  it('produces the RFC 6455 §5.7 unmasked examples', () => {
    expect(bytes(encodeFrame(Opcode.Text, Buffer.from('Hello')))).toBe('810548656c6c6f')
    expect(bytes(encodeFrame(Opcode.Text, Buffer.from('Hel'), { fin: false }))).toBe('010348656c')
    expect(bytes(encodeFrame(Opcode.Continuation, Buffer.from('lo')))).toBe('80026c6f')
    expect(bytes(encodeFrame(Opcode.Ping, Buffer.from('Hello')))).toBe('890548656c6c6f')
    const b256 = encodeFrame(Opcode.Binary, Buffer.alloc(256))
    expect(b256[0]).toEqual(hex('827e0100'))
    const b64k = encodeFrame(Opcode.Binary, Buffer.alloc(65536))
    expect(b64k[0]).toEqual(hex('827f0000000000010000'))
  })

  it('produces the masked example and round-trips through the receiver', () => {
    const mask = hex('37fa213d')
    expect(bytes(encodeFrame(Opcode.Text, Buffer.from('Hello'), { mask }))).toBe(
      '818537fa213d7f9f4d5158',
    )
    expect(bytes(encodeFrame(Opcode.Pong, Buffer.from('Hello'), { mask }))).toBe(
      '8a8537fa213d7f9f4d5158',
    )
    for (const len of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const payload = Buffer.alloc(len, 0x5a)
      const r = run([Buffer.concat(encodeFrame(Opcode.Binary, payload, { mask }))], {
        maxMessageLen: 1 << 20,
      })
      expect(r.events).toEqual([['message', 'binary', payload.toString('hex')]])
    }
  })

  it('does not copy an unmasked payload, and does not touch it when masking', () => {
    const payload = Buffer.from('shared')
    const [, body] = encodeFrame(Opcode.Binary, payload)
    expect(body!.buffer).toBe(payload.buffer)
    const [, masked] = encodeFrame(Opcode.Binary, payload, { mask: hex('01020304') })
    expect(masked!.toString('hex')).toBe('726a62766466') // 'shared' XOR 01 02 03 04
    expect(payload.toString()).toBe('shared')
    expect(encodeFrame(Opcode.Text, Buffer.alloc(0))).toHaveLength(1)
  })

  it('accepts any Uint8Array, and sets RSV1', () => {
    const [header, body] = encodeFrame(Opcode.Binary, new Uint8Array([1, 2, 3]), { rsv1: true })
    expect(header).toEqual(hex('c203'))
    expect(Buffer.isBuffer(body)).toBe(true)
  })

  it('rejects what may not be sent', () => {
    const bad = expect.objectContaining({ code: 'ERR_MUMMY_WS_INVALID_ARGUMENT' })
    expect(() => encodeFrame(Opcode.Ping, Buffer.alloc(126))).toThrow(bad)
    expect(() => encodeFrame(Opcode.Close, Buffer.alloc(0), { fin: false })).toThrow(bad)
    expect(() => encodeFrame(Opcode.Ping, Buffer.alloc(0), { rsv1: true })).toThrow(bad)
    expect(() => encodeFrame(3, Buffer.alloc(0))).toThrow(bad)
    expect(() => encodeFrame(11, Buffer.alloc(0))).toThrow(bad)
    expect(() => encodeFrame(Opcode.Text, Buffer.alloc(0), { mask: Buffer.alloc(3) })).toThrow(bad)
  })
})

describe('encodeClose', () => {
  it('encodes an empty close, a code, and a code with a reason', () => {
    expect(encodeClose().toString('hex')).toBe('8800')
    expect(encodeClose(1000).toString('hex')).toBe('880203e8')
    expect(encodeClose(4000, 'bye').toString('hex')).toBe('88050fa0627965')
  })

  it('truncates the reason to 123 bytes on a UTF-8 boundary', () => {
    const reason = 'é'.repeat(100) // 200 bytes
    const frame = encodeClose(1001, reason)
    expect(frame[1]).toBe(2 + 122) // 61 whole 'é', not 61.5
    const r = run([
      Buffer.concat(encodeFrame(Opcode.Close, frame.subarray(2), { mask: hex('00000000') })),
    ])
    expect(r.events).toEqual([['close', 1001, 'é'.repeat(61)]])
    expect(encodeClose(1000, 'x'.repeat(200))[1]).toBe(125)
    expect(encodeClose(1000, '😀'.repeat(40))[1]).toBe(2 + 120)
  })

  it('rejects codes that may not be sent', () => {
    const bad = expect.objectContaining({ code: 'ERR_MUMMY_WS_INVALID_ARGUMENT' })
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 5000, 1000.5])
      expect(() => encodeClose(code)).toThrow(bad)
    expect(() => encodeClose(undefined, 'reason')).toThrow(bad)
  })
})

describe('encodeMessage', () => {
  const params: DeflateParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    threshold: 16,
    level: 1,
  }

  it('sends small messages uncompressed and large ones with RSV1', () => {
    const pmd = new PerMessageDeflate(params, { maxMessageLen: 1 << 20 })
    const [small] = encodeMessage('text', Buffer.from('tiny'), pmd)
    expect(small![0]).toBe(0x81)
    const big = Buffer.from('compress me please '.repeat(10))
    const frame = Buffer.concat(encodeMessage('binary', big, pmd))
    expect(frame[0]).toBe(0xc2)
    expect(frame.length).toBeLessThan(big.length)
    // Without a deflate state it is a plain frame.
    expect(encodeMessage('binary', big)[0]![0]).toBe(0x82)
  })
})
