/** A Redis Stream entry id, `<ms>-<seq>`, both unsigned 64-bit integers. */
export interface StreamId {
  readonly ms: bigint
  readonly seq: bigint
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/
const U64_MAX = (1n << 64n) - 1n

/** Parses a complete stream id (`'1733390000000-0'`); `null` for anything else. */
export function parseStreamId(id: string): StreamId | null {
  const m = STREAM_ID.exec(id)
  if (m === null) return null
  const ms = BigInt(m[1]!)
  const seq = BigInt(m[2]!)
  return ms > U64_MAX || seq > U64_MAX ? null : { ms, seq }
}

/** Orders two stream ids: negative, zero or positive, as `a` is before, equal to or after `b`. */
export function compareStreamIds(a: StreamId, b: StreamId): number {
  if (a.ms !== b.ms) return a.ms < b.ms ? -1 : 1
  return a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1
}
