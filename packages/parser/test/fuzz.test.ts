import { describe, expect, it } from '@jest/globals'
import type { ParserLimits } from '../dist/index.js'
import { bytes, bytewise, prng, run, type RunResult } from './harness.js'

const ALLOWED_STATUS = new Set([400, 413, 414, 431, 501, 505])

const seeds = [
  'GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n',
  'POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world',
  'PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6 ; q="x\\"y"\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n',
  'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00',
  'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n',
  'GET http://h/x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n',
].map(bytes)

const INTERESTING = bytes('\r\n \t:;,="\\09afx-+/.H\x00\x7f\x80\xff')

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T
}

function mutate(rand: () => number, input: Buffer): Buffer {
  let out = Buffer.from(input)
  const count = 1 + Math.floor(rand() * 4)
  for (let m = 0; m < count; m++) {
    const at = Math.floor(rand() * (out.length + 1))
    const byte = rand() < 0.7 ? pick(rand, [...INTERESTING]) : Math.floor(rand() * 256)
    switch (Math.floor(rand() * 5)) {
      case 0: // replace
        if (at < out.length) out[at] = byte
        break
      case 1: // insert
        out = Buffer.concat([out.subarray(0, at), Buffer.of(byte), out.subarray(at)])
        break
      case 2: // delete
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)])
        break
      case 3: {
        // duplicate a slice (repeats fields, lines, chunks)
        const len = Math.floor(rand() * 40)
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + len), out.subarray(at)])
        break
      }
      default: // truncate
        out = out.subarray(0, at)
    }
  }
  return out
}

function randomSplit(rand: () => number, input: Buffer): Buffer[] {
  const cuts = Array.from({ length: Math.floor(rand() * 6) }, () =>
    Math.floor(rand() * (input.length + 1)),
  )
  cuts.sort((a, b) => a - b)
  const pieces: Buffer[] = []
  let prev = 0
  for (const cut of [...cuts, input.length]) {
    pieces.push(input.subarray(prev, cut))
    prev = cut
  }
  return pieces
}

function randomLimits(rand: () => number): Partial<ParserLimits> | undefined {
  if (rand() < 0.6) return undefined
  return {
    maxHeadersLen: 20 + Math.floor(rand() * 150),
    maxUriLen: 1 + Math.floor(rand() * 30),
    maxHeaderCount: Math.floor(rand() * 6),
    maxBodyLen: Math.floor(rand() * 20),
    maxChunkExtLen: Math.floor(rand() * 10),
    maxTrailersLen: Math.floor(rand() * 20),
  }
}

function checkOutcome(result: RunResult): void {
  if (result.error !== null) {
    expect(ALLOWED_STATUS.has(result.error.status)).toBe(true)
    expect(result.error.code).toMatch(/^ERR_MUMMY_[A-Z0-9_]+$/)
  } else if (result.finishError !== null) {
    expect(result.finishError).toBe('ERR_MUMMY_INCOMPLETE_REQUEST')
  } else {
    expect(result.pendingHead).toBeNull()
  }
  for (const request of result.requests) {
    if (!request.head.chunked && request.head.contentLength >= 0) {
      expect(request.body.length).toBe(request.head.contentLength)
    }
  }
}

describe('fuzz', () => {
  it('the seeds are valid requests', () => {
    for (const seed of seeds) {
      const result = run([seed], { limits: { allowConnect: true } })
      expect(result.error).toBeNull()
      expect(result.finishError).toBeNull()
      expect(result.requests.length).toBeGreaterThan(0)
    }
  })

  it('mutated requests at random splits never throw, fail with an HTTP status, and ignore the split', () => {
    const rand = prng(0x5eed)
    let errors = 0
    for (let n = 0; n < 4000; n++) {
      const input = mutate(rand, pick(rand, seeds))
      // Every other run as a proxy would parse (CONNECT allowed), the rest as an origin server.
      const limits = { ...randomLimits(rand), allowConnect: n % 2 === 0 }
      const options = { limits }
      const whole = run([input], options)
      checkOutcome(whole)
      if (whole.error !== null) errors++
      const split = run(randomSplit(rand, input), options)
      if (JSON.stringify(split) !== JSON.stringify(whole)) {
        expect({ input: input.toString('latin1'), split }).toEqual({
          input: input.toString('latin1'),
          split: whole,
        })
      }
      if (n % 20 === 0) expect(run(bytewise(input), options)).toEqual(whole)
      if (n % 3 === 0) {
        const paused = run(randomSplit(rand, input), { ...options, pause: true })
        expect(paused).toEqual(whole)
      }
    }
    // the mutations do reach the error paths
    expect(errors).toBeGreaterThan(1000)
  })

  it('random bytes never throw and end in an error or idle', () => {
    const rand = prng(42)
    for (let n = 0; n < 2000; n++) {
      const input = Buffer.from(
        Array.from({ length: Math.floor(rand() * 200) }, () => Math.floor(rand() * 256)),
      )
      const whole = run([input])
      checkOutcome(whole)
      expect(run(randomSplit(rand, input))).toEqual(whole)
    }
  })
})
