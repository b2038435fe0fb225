import { MummyError } from '@mummy/errors'
import type { EngineMessage } from './types.js'

/**
 * The wire format of one message on a Redis channel (and, without history id, in a history
 * stream). All lengths are byte counts; strings are UTF-8.
 *
 * ```
 * offset  size  field
 * 0       1     format version: 1
 * 1       1     kind: 1 text, 2 binary, 3 event
 * 2       1     origin length O (1–255)
 * 3       O     origin instance id
 * 3+O     1     history id length H (0: none)
 * 4+O     H     history id, ASCII ('1733390000000-0')
 * (kind 3 only)
 *         1     flags: 1 = has event type, 2 = has event id
 *         4+T   if flag 1: uint32 big-endian T, then T bytes event type
 *         4+I   if flag 2: uint32 big-endian I, then I bytes event id
 * (all kinds)
 *         rest  payload: the text, the binary bytes, or the event's data
 * ```
 */
export const ENVELOPE_VERSION = 1

const KIND_TEXT = 1
const KIND_BINARY = 2
const KIND_EVENT = 3
const HAS_TYPE = 1
const HAS_ID = 2

/** An envelope split where a history id goes: `head` + history id field + `tail`. */
export interface EnvelopeParts {
  /** Version, kind, origin length and origin. */
  readonly head: Buffer
  /** Everything after the history id field: event fields and payload. */
  readonly tail: Buffer
}

/**
 * Encodes `message` from `origin` (its UTF-8 bytes, 1–255 of them) as two views of one buffer:
 * the bytes before the history id field and the bytes after it (a history script joins them
 * around the id it assigns).
 */
export function encodeEnvelopeParts(origin: Uint8Array, message: EngineMessage): EnvelopeParts {
  const { buf, headLen } = encode(origin, message)
  return { head: buf.subarray(0, headLen), tail: buf.subarray(headLen + 1) }
}

/**
 * Encodes `message` from `origin` without a history id: the bytes published on a channel for a
 * topic that keeps no history, and stored in a history stream.
 *
 * @example
 * ```ts
 * encodeEnvelope(Buffer.from('a'), { kind: 'text', data: 'hi' })
 * // <01 01 01 61 00 68 69>: version 1, text, origin 'a', no history id, 'hi'
 * ```
 */
export function encodeEnvelope(origin: Uint8Array, message: EngineMessage): Buffer {
  return encode(origin, message).buf
}

function encode(origin: Uint8Array, message: EngineMessage): { buf: Buffer; headLen: number } {
  if (origin.length < 1 || origin.length > 255)
    throw new MummyError('ERR_MUMMY_REDIS_INVALID_ARGUMENT', 'an origin must be 1-255 bytes')
  let kind: number
  let payload: Uint8Array | string
  let eventHeader: Buffer | null = null
  if (message.kind === 'text') {
    kind = KIND_TEXT
    payload = message.data
  } else if (message.kind === 'binary') {
    kind = KIND_BINARY
    payload = message.data
  } else {
    kind = KIND_EVENT
    const { event, id, data } = message.event
    payload = data
    const type = event === undefined ? null : Buffer.from(event, 'utf8')
    const idBytes = id === undefined ? null : Buffer.from(id, 'utf8')
    eventHeader = Buffer.allocUnsafe(
      1 + (type ? 4 + type.length : 0) + (idBytes ? 4 + idBytes.length : 0),
    )
    let at = eventHeader.writeUInt8((type ? HAS_TYPE : 0) | (idBytes ? HAS_ID : 0), 0)
    if (type) {
      at = eventHeader.writeUInt32BE(type.length, at)
      at += type.copy(eventHeader, at)
    }
    if (idBytes) idBytes.copy(eventHeader, eventHeader.writeUInt32BE(idBytes.length, at))
  }
  const payloadLen =
    typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.length
  const headLen = 3 + origin.length
  const buf = Buffer.allocUnsafe(headLen + 1 + (eventHeader ? eventHeader.length : 0) + payloadLen)
  buf[0] = ENVELOPE_VERSION
  buf[1] = kind
  buf[2] = origin.length
  buf.set(origin, 3)
  buf[headLen] = 0 // no history id
  let at = headLen + 1
  if (eventHeader) at += eventHeader.copy(buf, at)
  if (typeof payload === 'string') buf.write(payload, at, 'utf8')
  else buf.set(payload, at)
  return { buf, headLen }
}

/** A decoded envelope. */
export interface Envelope {
  /** The publishing instance's id (its bytes, a view of the input). */
  readonly origin: Buffer
  /** The history id, when the message was stored in a history stream on the way. */
  readonly historyId: string | undefined
  /** The message. An event's id is the history id when there is one. */
  readonly message: EngineMessage
}

/** Where the origin sits in an envelope: for a cheap "is it mine?" check before decoding. */
export function envelopeOrigin(buf: Uint8Array): { start: number; end: number } | null {
  if (buf.length < 4 || buf[0] !== ENVELOPE_VERSION) return null
  const len = buf[2]!
  if (len === 0 || 3 + len >= buf.length) return null
  return { start: 3, end: 3 + len }
}

/**
 * Decodes an envelope; `null` when `buf` is not one (another version, truncated, unknown kind).
 * A binary payload is copied into a fresh `Uint8Array` (it may outlive `buf`, and a view would
 * keep, or clone, all of `buf`'s memory).
 */
export function decodeEnvelope(buf: Buffer): Envelope | null {
  const originAt = envelopeOrigin(buf)
  if (originAt === null) return null
  const kind = buf[1]
  let at = originAt.end
  const historyLen = buf[at++]!
  if (at + historyLen > buf.length) return null
  const historyId = historyLen === 0 ? undefined : buf.toString('latin1', at, at + historyLen)
  at += historyLen
  const origin = buf.subarray(originAt.start, originAt.end)
  if (kind === KIND_TEXT) {
    return { origin, historyId, message: { kind: 'text', data: buf.toString('utf8', at) } }
  }
  if (kind === KIND_BINARY) {
    return {
      origin,
      historyId,
      message: { kind: 'binary', data: new Uint8Array(buf.subarray(at)) },
    }
  }
  if (kind !== KIND_EVENT || at >= buf.length) return null
  const flags = buf[at++]!
  if (flags > (HAS_TYPE | HAS_ID)) return null
  let type: string | undefined
  let id: string | undefined
  for (const flag of [HAS_TYPE, HAS_ID]) {
    if ((flags & flag) === 0) continue
    if (at + 4 > buf.length) return null
    const len = buf.readUInt32BE(at)
    at += 4
    if (at + len > buf.length) return null
    const value = buf.toString('utf8', at, at + len)
    at += len
    if (flag === HAS_TYPE) type = value
    else id = value
  }
  const event: { event?: string; data: string; id?: string } = { data: buf.toString('utf8', at) }
  if (type !== undefined) event.event = type
  if (historyId !== undefined) event.id = historyId
  else if (id !== undefined) event.id = id
  return { origin, historyId, message: { kind: 'event', event } }
}
