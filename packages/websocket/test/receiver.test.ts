import { describe, expect, it } from '@jest/globals'
import zlib from 'node:zlib'
import { FrameReceiver, PerMessageDeflate, type DeflateParams } from '../dist/index.js'
import { frame, run, runAllSplits } from './harness.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

const PARAMS: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  threshold: 0,
  level: 1,
}

function compress(data: Buffer): Buffer {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
  return out.subarray(0, out.length - 4)
}

describe('RFC 6455 §5.7 examples', () => {
  it('a single-frame masked text message ("Hello")', () => {
    const bytes = hex('81 85 37 fa 21 3d 7f 9f 4d 51 58')
    expect(runAllSplits(bytes)).toEqual({
      events: [['message', 'text', 'Hello']],
      error: null,
      closed: false,
    })
  })

  it('a fragmented text message ("Hel" + "lo"), masked', () => {
    const bytes = Buffer.concat([frame(0x1, 'Hel', { fin: false }), frame(0x0, 'lo')])
    // The RFC's unmasked example with the mask bit and key added.
    expect(bytes.subarray(0, 2)).toEqual(hex('01 83'))
    expect(runAllSplits(bytes).events).toEqual([['message', 'text', 'Hello']])
  })

  it('the unmasked example frames are rejected by a server and accepted with requireMask: false', () => {
    const hello = hex('81 05 48 65 6c 6c 6f')
    expect(runAllSplits(hello).error).toEqual({
      code: 'ERR_MUMMY_WS_UNMASKED_FRAME',
      closeCode: 1002,
    })
    const fragmented = hex('01 03 48 65 6c 80 02 6c 6f')
    expect(runAllSplits(fragmented, { requireMask: false }).events).toEqual([
      ['message', 'text', 'Hello'],
    ])
  })

  it('ping ("Hello") and masked pong ("Hello")', () => {
    const ping = frame(0x9, 'Hello')
    const pong = hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58')
    expect(runAllSplits(Buffer.concat([ping, pong])).events).toEqual([
      ['ping', Buffer.from('Hello').toString('hex')],
      ['pong', Buffer.from('Hello').toString('hex')],
    ])
  })

  it('256 bytes binary in a 16-bit length frame', () => {
    const payload = Buffer.alloc(256, 0xab)
    const bytes = frame(0x2, payload)
    expect(bytes.subarray(0, 4)).toEqual(hex('82 fe 01 00'))
    expect(runAllSplits(bytes).events).toEqual([['message', 'binary', payload.toString('hex')]])
  })

  it('64 KiB binary in a 64-bit length frame', () => {
    const payload = Buffer.alloc(65536)
    for (let i = 0; i < payload.length; i++) payload[i] = i & 0xff
    const bytes = frame(0x2, payload)
    expect(bytes.subarray(0, 10)).toEqual(hex('82 ff 00 00 00 00 00 01 00 00'))
    // Whole, split at a few offsets around the header, and in 1000-byte pieces.
    for (const cut of [1, 2, 9, 10, 13, 14, 15, 1000, 65549]) {
      const r = run([bytes.subarray(0, cut), bytes.subarray(cut)])
      expect(r.events).toEqual([['message', 'binary', payload.toString('hex')]])
    }
    const pieces: Buffer[] = []
    for (let i = 0; i < bytes.length; i += 1000) pieces.push(bytes.subarray(i, i + 1000))
    expect(run(pieces).events).toEqual([['message', 'binary', payload.toString('hex')]])
  })
})

describe('frame rules', () => {
  const cases: Array<[string, Buffer, string, number]> = [
    [
      'unmasked client frame',
      frame(0x1, 'hi', { mask: null }),
      'ERR_MUMMY_WS_UNMASKED_FRAME',
      1002,
    ],
    [
      'RSV1 without permessage-deflate',
      frame(0x1, 'hi', { rsv1: true }),
      'ERR_MUMMY_WS_RESERVED_BITS',
      1002,
    ],
    ['RSV2', frame(0x1, 'hi', { rsv2: true }), 'ERR_MUMMY_WS_RESERVED_BITS', 1002],
    ['RSV3', frame(0x2, 'hi', { rsv3: true }), 'ERR_MUMMY_WS_RESERVED_BITS', 1002],
    ['RSV1 on a ping', frame(0x9, '', { rsv1: true }), 'ERR_MUMMY_WS_RESERVED_BITS', 1002],
    ...[3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf].map((op): [string, Buffer, string, number] => [
      `reserved opcode ${op}`,
      frame(op, 'x'),
      'ERR_MUMMY_WS_INVALID_OPCODE',
      1002,
    ]),
    ['fragmented ping', frame(0x9, 'x', { fin: false }), 'ERR_MUMMY_WS_FRAGMENTED_CONTROL', 1002],
    ['fragmented close', frame(0x8, '', { fin: false }), 'ERR_MUMMY_WS_FRAGMENTED_CONTROL', 1002],
    ['ping with 126 bytes', frame(0x9, Buffer.alloc(126)), 'ERR_MUMMY_WS_CONTROL_TOO_LONG', 1002],
    [
      'pong with a 16-bit length of 125',
      frame(0xa, Buffer.alloc(125), { lenBits: 16 }),
      'ERR_MUMMY_WS_CONTROL_TOO_LONG',
      1002,
    ],
    ['continuation first', frame(0x0, 'x'), 'ERR_MUMMY_WS_UNEXPECTED_CONTINUATION', 1002],
    [
      'continuation after a complete message',
      Buffer.concat([frame(0x1, 'a'), frame(0x0, 'b')]),
      'ERR_MUMMY_WS_UNEXPECTED_CONTINUATION',
      1002,
    ],
    [
      'text while a fragmented message is in progress',
      Buffer.concat([frame(0x1, 'a', { fin: false }), frame(0x1, 'b')]),
      'ERR_MUMMY_WS_EXPECTED_CONTINUATION',
      1002,
    ],
    [
      'binary while a fragmented text is in progress',
      Buffer.concat([frame(0x1, 'a', { fin: false }), frame(0x2, 'b', { fin: false })]),
      'ERR_MUMMY_WS_EXPECTED_CONTINUATION',
      1002,
    ],
    [
      '64-bit length with the top bit set',
      frame(0x2, '', { lenBits: 64, declaredLen: 0x8000000000000000n }),
      'ERR_MUMMY_WS_INVALID_LENGTH',
      1002,
    ],
    [
      'close with a 1-byte body',
      frame(0x8, Buffer.from([0x03])),
      'ERR_MUMMY_WS_INVALID_CLOSE_PAYLOAD',
      1002,
    ],
    [
      'invalid UTF-8 text',
      frame(0x1, Buffer.from([0x61, 0xff])),
      'ERR_MUMMY_WS_INVALID_UTF8',
      1007,
    ],
    [
      'truncated UTF-8 text',
      frame(0x1, Buffer.from([0x61, 0xce])),
      'ERR_MUMMY_WS_INVALID_UTF8',
      1007,
    ],
    [
      'close reason not UTF-8',
      frame(0x8, Buffer.from([0x03, 0xe8, 0xce, 0xba, 0xe1, 0xbd])),
      'ERR_MUMMY_WS_INVALID_CLOSE_REASON',
      1007,
    ],
  ]
  for (const [name, bytes, code, closeCode] of cases) {
    it(`${name} → ${code} (${closeCode})`, () => {
      const r = runAllSplits(bytes)
      expect(r.error).toEqual({ code, closeCode })
      // Only a message completed before the bad frame is delivered.
      expect(r.events).toEqual(name.includes('after a complete') ? [['message', 'text', 'a']] : [])
    })
  }

  it('RSV1 on a continuation frame is an error even with permessage-deflate', () => {
    const deflate = new PerMessageDeflate(PARAMS, { maxMessageLen: 1000 })
    const bytes = Buffer.concat([
      frame(0x1, compress(Buffer.from('ab')), { fin: false, rsv1: true }),
      frame(0x0, '', { rsv1: true }),
    ])
    expect(run([bytes], { deflate }).error?.code).toBe('ERR_MUMMY_WS_RESERVED_BITS')
  })

  it('fails at the first bad header byte, before the payload arrives', () => {
    const receiver = new FrameReceiver({
      onMessage() {},
      onPing() {},
      onPong() {},
      onClose() {},
    })
    expect(receiver.execute(Buffer.from([0x81, 0x05]))).toBe(false) // unmasked: known at byte 2
    expect(receiver.error?.code).toBe('ERR_MUMMY_WS_UNMASKED_FRAME')
  })

  it('accepts every valid close code and rejects every invalid one', () => {
    const valid = (c: number): boolean =>
      (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999)
    for (let code = 0; code < 65536; code += code < 5100 ? 1 : 97) {
      const body = Buffer.alloc(2)
      body.writeUInt16BE(code)
      const r = run([frame(0x8, body)])
      if (valid(code)) expect(r.events).toEqual([['close', code, '']])
      else expect(r.error).toEqual({ code: 'ERR_MUMMY_WS_INVALID_CLOSE_CODE', closeCode: 1002 })
    }
  })

  it('close frames: empty body → null, code and UTF-8 reason; input after close is ignored', () => {
    expect(runAllSplits(Buffer.concat([frame(0x8), frame(0x1, 'after')]))).toEqual({
      events: [['close', null, '']],
      error: null,
      closed: true,
    })
    const body = Buffer.concat([Buffer.from([0x0f, 0xa0]), Buffer.from('κόσμε bye', 'utf8')])
    expect(runAllSplits(Buffer.concat([frame(0x8, body), Buffer.from([0xff, 0xff])]))).toEqual({
      events: [['close', 4000, 'κόσμε bye']],
      error: null,
      closed: true,
    })
  })
})

describe('fragmentation', () => {
  it('reassembles fragments with control frames between them', () => {
    const bytes = Buffer.concat([
      frame(0x1, 'frag', { fin: false }),
      frame(0x9, 'p1'),
      frame(0x0, '', { fin: false }),
      frame(0xa, ''),
      frame(0x0, 'men', { fin: false }),
      frame(0x9, ''),
      frame(0x0, 'ted'),
      frame(0x2, Buffer.from([1, 2, 3]), { fin: false }),
      frame(0x0, Buffer.from([4])),
      frame(0x1, ''),
    ])
    expect(runAllSplits(bytes).events).toEqual([
      ['ping', Buffer.from('p1').toString('hex')],
      ['pong', ''],
      ['ping', ''],
      ['message', 'text', 'fragmented'],
      ['message', 'binary', '01020304'],
      ['message', 'text', ''],
    ])
  })

  it('a close frame between fragments closes (the partial message is dropped)', () => {
    const bytes = Buffer.concat([
      frame(0x1, 'part', { fin: false }),
      frame(0x8, Buffer.from([3, 0xe8])),
    ])
    expect(runAllSplits(bytes).events).toEqual([['close', 1000, '']])
  })

  it('a payload split into many pieces with unaligned starts unmasks correctly', () => {
    const payload = Buffer.alloc(3001)
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff
    const bytes = frame(0x2, payload, { mask: Buffer.from([1, 2, 3, 250]) })
    for (const size of [1, 3, 5, 7, 33, 64, 65, 127, 1000]) {
      const pieces: Buffer[] = []
      for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size))
      expect(run(pieces).events).toEqual([['message', 'binary', payload.toString('hex')]])
    }
  })

  it('one million empty continuation fragments keep memory flat', () => {
    const n = 1_000_000
    const empty = frame(0x0, '', { fin: false }) // 6 bytes
    const bytes = Buffer.alloc(n * empty.length)
    for (let i = 0; i < n; i++) empty.copy(bytes, i * empty.length)
    let messages = 0
    const receiver = new FrameReceiver({
      onMessage(kind, data) {
        messages++
        expect([kind, data.toString()]).toEqual(['text', 'start-end'])
      },
      onPing() {},
      onPong() {},
      onClose() {},
    })
    expect(receiver.execute(frame(0x1, 'start-', { fin: false }))).toBe(true)
    const before = process.memoryUsage().heapUsed
    for (let i = 0; i < bytes.length; i += 65536) {
      expect(receiver.execute(bytes.subarray(i, i + 65536))).toBe(true)
    }
    const after = process.memoryUsage().heapUsed
    expect(receiver.execute(frame(0x0, 'end'))).toBe(true)
    expect(messages).toBe(1)
    // Anything retained per fragment would cost tens of MB here.
    expect(after - before).toBeLessThan(16 * 1024 * 1024)
  })
})

describe('maxMessageLen', () => {
  it('defaults to 64 KiB', () => {
    expect(run([frame(0x2, Buffer.alloc(65536))]).events).toHaveLength(1)
    expect(run([frame(0x2, Buffer.alloc(65537))]).error?.code).toBe(
      'ERR_MUMMY_WS_MESSAGE_TOO_LARGE',
    )
  })

  it('rejects from the header, before the payload is buffered', () => {
    const receiver = new FrameReceiver(
      { onMessage() {}, onPing() {}, onPong() {}, onClose() {} },
      { maxMessageLen: 100 },
    )
    const header = frame(0x2, '', { declaredLen: 101 }).subarray(0, 2)
    expect(receiver.execute(header)).toBe(false)
    expect(receiver.error?.closeCode).toBe(1009)
    const big = new FrameReceiver(
      { onMessage() {}, onPing() {}, onPong() {}, onClose() {} },
      { maxMessageLen: 100 },
    )
    // A 2^62-byte frame header alone.
    expect(big.execute(frame(0x2, '', { declaredLen: 2n ** 62n }).subarray(0, 10))).toBe(false)
    expect(big.error?.code).toBe('ERR_MUMMY_WS_MESSAGE_TOO_LARGE')
  })

  it('applies to the reassembled message', () => {
    const bytes = Buffer.concat([
      frame(0x1, 'a'.repeat(60), { fin: false }),
      frame(0x0, 'b'.repeat(40), { fin: false }),
      frame(0x0, 'c'),
    ])
    const r = runAllSplits(bytes, { maxMessageLen: 100 })
    expect(r.error).toEqual({ code: 'ERR_MUMMY_WS_MESSAGE_TOO_LARGE', closeCode: 1009 })
    expect(runAllSplits(bytes, { maxMessageLen: 101 }).events).toHaveLength(1)
  })

  it('control frames do not count against a message', () => {
    const bytes = Buffer.concat([
      frame(0x1, 'a'.repeat(10), { fin: false }),
      frame(0x9, 'x'.repeat(125)),
      frame(0x0, 'b'.repeat(10)),
    ])
    expect(run([bytes], { maxMessageLen: 20 }).events).toHaveLength(2)
  })

  it('rejects invalid options', () => {
    expect(
      () =>
        new FrameReceiver(
          { onMessage() {}, onPing() {}, onPong() {}, onClose() {} },
          { maxMessageLen: -1 },
        ),
    ).toThrow(expect.objectContaining({ code: 'ERR_MUMMY_INVALID_OPTION' }))
  })
})

describe('permessage-deflate messages', () => {
  const deflate = (): PerMessageDeflate => new PerMessageDeflate(PARAMS, { maxMessageLen: 1 << 20 })

  it('inflates a compressed message, split at every byte', () => {
    const text = 'Hello, compressed world! '.repeat(4)
    const bytes = frame(0x1, compress(Buffer.from(text)), { rsv1: true })
    let first: string | null = null
    for (let i = 0; i <= bytes.length; i++) {
      const pieces = i === 0 ? [bytes] : [bytes.subarray(0, i), bytes.subarray(i)]
      const r = JSON.stringify(run(pieces, { deflate: deflate() }))
      first ??= r
      expect(r).toBe(first)
    }
    expect(JSON.parse(first!).events).toEqual([['message', 'text', text]])
  })

  it('inflates a fragmented compressed message and mixes with uncompressed ones', () => {
    const c = compress(Buffer.from('fragmented and compressed'))
    const bytes = Buffer.concat([
      frame(0x1, c.subarray(0, 5), { fin: false, rsv1: true }),
      frame(0x9, 'p'),
      frame(0x0, c.subarray(5)),
      frame(0x1, 'plain'),
      frame(0x2, compress(Buffer.from([1, 2, 3])), { rsv1: true }),
    ])
    expect(run([bytes], { deflate: deflate() }).events).toEqual([
      ['ping', '70'],
      ['message', 'text', 'fragmented and compressed'],
      ['message', 'text', 'plain'],
      ['message', 'binary', '010203'],
    ])
  })

  it('invalid UTF-8 inside a compressed text message → 1007', () => {
    const bytes = frame(0x1, compress(Buffer.from([0xed, 0xa0, 0x80])), { rsv1: true })
    expect(run([bytes], { deflate: deflate() }).error).toEqual({
      code: 'ERR_MUMMY_WS_INVALID_UTF8',
      closeCode: 1007,
    })
  })

  it('garbage compressed data → ERR_MUMMY_WS_INFLATE_FAILED (1007)', () => {
    const bytes = frame(0x2, Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv1: true })
    expect(run([bytes], { deflate: deflate() }).error).toEqual({
      code: 'ERR_MUMMY_WS_INFLATE_FAILED',
      closeCode: 1007,
    })
  })

  it('a deflate bomb (100 MB of zeros) fails with 1009 without inflating it', () => {
    const bomb = compress(Buffer.alloc(100 * 1024 * 1024))
    const bytes = frame(0x2, bomb, { rsv1: true })
    const pmd = new PerMessageDeflate(PARAMS, { maxMessageLen: 1 << 20 })
    const events: string[] = []
    const receiver = new FrameReceiver(
      { onMessage: () => events.push('message'), onPing() {}, onPong() {}, onClose() {} },
      { deflate: pmd, maxMessageLen: 1 << 20 },
    )
    const before = process.memoryUsage()
    const started = performance.now()
    expect(receiver.execute(bytes)).toBe(false)
    const elapsed = performance.now() - started
    const after = process.memoryUsage()
    expect(receiver.error).toMatchObject({
      code: 'ERR_MUMMY_WS_MESSAGE_TOO_LARGE',
      closeCode: 1009,
    })
    expect(events).toEqual([])
    // Inflating all 100 MB would take far longer and allocate far more.
    expect(elapsed).toBeLessThan(2000)
    expect(after.arrayBuffers - before.arrayBuffers).toBeLessThan(32 * 1024 * 1024)
  })

  it('the compressed size is bounded too (from the header)', () => {
    const receiver = new FrameReceiver(
      { onMessage() {}, onPing() {}, onPong() {}, onClose() {} },
      { deflate: deflate(), maxMessageLen: 1000 },
    )
    expect(
      receiver.execute(frame(0x2, '', { rsv1: true, declaredLen: 100000 }).subarray(0, 10)),
    ).toBe(false)
    expect(receiver.error?.code).toBe('ERR_MUMMY_WS_MESSAGE_TOO_LARGE')
  })
})
