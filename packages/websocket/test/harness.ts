/**
 * Test support: builds client frames byte by byte, and drives a {@link FrameReceiver} over a list
 * of input pieces, recording what it reported in a form that does not depend on the split.
 */
import { FrameReceiver, type ReceiverOptions } from '../dist/index.js'

export const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d])

export interface FrameSpec {
  fin?: boolean
  rsv1?: boolean
  rsv2?: boolean
  rsv3?: boolean
  /** Masking key, or null for an unmasked frame. Default {@link MASK}. */
  mask?: Buffer | null
  /** Force a length encoding: 7 (in the second byte), 16 or 64 bits. */
  lenBits?: 7 | 16 | 64
  /** Override the encoded length (to lie about the payload size). */
  declaredLen?: number | bigint
}

/** A frame as a client sends it (masked by default). */
export function frame(opcode: number, payload: Buffer | string = '', spec: FrameSpec = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  const mask = spec.mask === undefined ? MASK : spec.mask
  const declared = spec.declaredLen ?? data.length
  const bits = spec.lenBits ?? (declared < 126 ? 7 : declared < 0x10000 ? 16 : 64)
  const b0 =
    ((spec.fin ?? true) ? 0x80 : 0) |
    (spec.rsv1 === true ? 0x40 : 0) |
    (spec.rsv2 === true ? 0x20 : 0) |
    (spec.rsv3 === true ? 0x10 : 0) |
    opcode
  const maskBit = mask === null ? 0 : 0x80
  const parts: Buffer[] = []
  if (bits === 7) {
    parts.push(Buffer.from([b0, maskBit | Number(declared)]))
  } else if (bits === 16) {
    const h = Buffer.alloc(4)
    h[0] = b0
    h[1] = maskBit | 126
    h.writeUInt16BE(Number(declared), 2)
    parts.push(h)
  } else {
    const h = Buffer.alloc(10)
    h[0] = b0
    h[1] = maskBit | 127
    h.writeBigUInt64BE(BigInt(declared), 2)
    parts.push(h)
  }
  if (mask !== null) {
    parts.push(mask)
    const masked = Buffer.from(data)
    for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i & 3]!
    parts.push(masked)
  } else {
    parts.push(data)
  }
  return Buffer.concat(parts)
}

export type Event =
  | ['message', 'text' | 'binary', string]
  | ['ping', string]
  | ['pong', string]
  | ['close', number | null, string]

export interface RunResult {
  events: Event[]
  /** Error code and close code, or null. */
  error: { code: string; closeCode: number } | null
  /** Index of the piece whose execute() returned false, or -1. */
  failedAt: number
  closed: boolean
}

/** Text messages are recorded as their string, binary ones as hex. */
export function run(pieces: readonly Buffer[], options: Partial<ReceiverOptions> = {}): RunResult {
  const events: Event[] = []
  const receiver = new FrameReceiver(
    {
      onMessage(kind, data) {
        events.push([
          'message',
          kind,
          kind === 'text' ? data.toString('utf8') : data.toString('hex'),
        ])
      },
      onPing(data) {
        events.push(['ping', data.toString('hex')])
      },
      onPong(data) {
        events.push(['pong', data.toString('hex')])
      },
      onClose(code, reason) {
        events.push(['close', code, reason])
      },
    },
    options,
  )
  let failedAt = -1
  for (let i = 0; i < pieces.length; i++) {
    // Copy: the receiver unmasks in place, and the same input is replayed with other splits.
    if (!receiver.execute(Buffer.from(pieces[i]!))) {
      failedAt = i
      if (receiver.error === null) throw new Error('execute returned false without an error')
      if (receiver.execute(frame(1, 'more'))) throw new Error('receiver revived after an error')
      break
    }
  }
  const err = receiver.error
  return {
    events,
    error: err === null ? null : { code: err.code, closeCode: err.closeCode },
    failedAt,
    closed: receiver.closed,
  }
}

/** Every way of cutting `input` in two, plus one byte at a time. */
export function* splits(input: Buffer): Generator<Buffer[]> {
  yield [input]
  for (let i = 1; i < input.length; i++) yield [input.subarray(0, i), input.subarray(i)]
  const bytes: Buffer[] = []
  for (let i = 0; i < input.length; i++) bytes.push(input.subarray(i, i + 1))
  yield bytes
}

/** Runs `input` whole and split every way; asserts every run reports the same thing. */
export function runAllSplits(
  input: Buffer,
  options: Partial<ReceiverOptions> = {},
): Omit<RunResult, 'failedAt'> {
  let first: string | null = null
  let result: Omit<RunResult, 'failedAt'> | null = null
  for (const pieces of splits(input)) {
    const { failedAt: _failedAt, ...r } = run(pieces, options)
    const s = JSON.stringify(r)
    if (first === null) {
      first = s
      result = r
    } else if (s !== first) {
      throw new Error(
        `split ${pieces.map((p) => p.length).join('+')} gave ${s}, whole gave ${first}`,
      )
    }
  }
  return result!
}
