/**
 * Test support: drives a {@link RequestParser} over a list of input pieces and records what it
 * reported in a form that does not depend on how the input was split.
 */
import { RequestParser, type ParserOptions, type RequestHead } from '../dist/index.js'

/** One complete request as seen through the callbacks. */
export interface ParsedRequest {
  head: RequestHead
  /** All onBody chunks of the request, concatenated, as latin1. */
  body: string
  trailers: string[]
}

/** Everything a run reported. Equal for equal input, whatever the split. */
export interface RunResult {
  requests: ParsedRequest[]
  /** Head of a request whose onComplete has not been called yet (partial input). */
  pendingHead: RequestHead | null
  /** Error code and status reported by execute(), or null. */
  error: { code: string; status: number } | null
  /** Absolute offset where the non-HTTP bytes start after an upgrade, or -1. */
  upgradedAt: number
  /** What finish() returned at the end of the input (null when idle). */
  finishError: string | null
}

export interface RunOptions {
  limits?: ParserOptions
  /** onComplete returns true (pause) for every request; the run resumes with the rest. */
  pause?: boolean
}

/** Feeds `pieces` in order, resuming after pauses, until the end, an error or an upgrade. */
export function run(pieces: readonly Buffer[], options: RunOptions = {}): RunResult {
  const requests: ParsedRequest[] = []
  let head: RequestHead | null = null
  let body: Buffer[] = []
  const parser = new RequestParser(
    {
      onHead(h) {
        if (head !== null) throw new Error('onHead before onComplete of the previous request')
        head = h
        body = []
      },
      onBody(chunk) {
        if (head === null) throw new Error('onBody outside a request')
        if (chunk.length === 0) throw new Error('empty onBody chunk')
        body.push(Buffer.from(chunk)) // copy: the view is only valid during the call
      },
      onComplete(trailers) {
        if (head === null) throw new Error('onComplete without onHead')
        requests.push({ head, body: Buffer.concat(body).toString('latin1'), trailers })
        head = null
        return options.pause === true
      },
    },
    options.limits,
  )
  let offset = 0
  let error: RunResult['error'] = null
  let upgradedAt = -1
  outer: for (const piece of pieces) {
    let p = piece
    for (;;) {
      const n = parser.execute(p)
      if (n === -1) {
        const err = parser.error
        if (err === null) throw new Error('execute returned -1 without an error')
        error = { code: err.code, status: err.status }
        if (parser.execute(Buffer.from('GET / HTTP/1.1\r\n')) !== -1)
          throw new Error('parser revived')
        break outer
      }
      if (parser.upgraded) {
        upgradedAt = offset + n
        break outer
      }
      offset += n
      if (n === p.length) break
      if (options.pause !== true)
        throw new Error(`execute stopped at ${n} of ${p.length} without a pause`)
      p = p.subarray(n)
    }
  }
  let finishError: string | null = null
  if (error === null) {
    const err = parser.finish()
    finishError = err === null ? null : err.code
  }
  return { requests, pendingHead: head, error, upgradedAt, finishError }
}

/** `buf` as two pieces split at `at`. */
export function splitAt(buf: Buffer, at: number): Buffer[] {
  return [buf.subarray(0, at), buf.subarray(at)]
}

/** `buf` one byte per piece. */
export function bytewise(buf: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let k = 0; k < buf.length; k++) out.push(buf.subarray(k, k + 1))
  return out
}

/** Latin1 bytes of a string (so `\xNN` escapes become single bytes). */
export function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1')
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
