// The work every server does, in one place, so that each (scenario × server) file does exactly
// the same thing and answers exactly the same bytes. Imported on the main thread and, for
// @mummy, in every worker thread.
import { createHash } from 'node:crypto'

/** hello: Mummy's wrk body. */
export const HELLO_BODY = 'abcdefghijklmnopqrstuvwxyz'

/** sleep10: how long each request takes. */
export const SLEEP_MS = 10

/**
 * cpu: 1 KiB blocks fed to SHA-256 per request. 1,800 blocks take ~1 ms on the reference
 * machine (AMD EPYC with SHA extensions, ~1.9 GB/s per core). A fixed count, never calibrated at
 * run time, so every server does the same work.
 */
export const CPU_BLOCKS = 1_800

/** mixed: the heavy requests do 100 × the cpu scenario's work (~100 ms). */
export const HEAVY_BLOCKS = 100 * CPU_BLOCKS

/** json: gzip level used by every server (zlib's and fflate's default, 6). */
export const GZIP_LEVEL = 6

const BLOCK = Buffer.alloc(1024, 0x5a)

/**
 * Real CPU work: SHA-256 over `blocks` KiB. Returns the hex digest, which is the response body,
 * so the work cannot be skipped and every server's answer can be compared.
 */
export function hashWork(blocks) {
  const hash = createHash('sha256')
  for (let i = 0; i < blocks; i++) hash.update(BLOCK)
  return hash.digest('hex')
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4))

/**
 * Blocks the calling thread for `ms` milliseconds (`Atomics.wait` on a cell nobody notifies):
 * what a synchronous driver or `fs.readFileSync` does to a thread. Only for worker threads.
 */
export function blockFor(ms) {
  Atomics.wait(sleepCell, 0, 0, ms)
}

const FIRST = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia']
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Perlman']
const TAGS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta']

/**
 * json: a page of 56 users, ~10 KB once stringified. Deterministic (no clock, no randomness), so
 * every process builds the same object; servers `JSON.stringify` it on every request.
 */
export function makeDocument() {
  const users = []
  for (let i = 0; i < 56; i++) {
    const first = FIRST[i % FIRST.length]
    const last = LAST[(i * 5) % LAST.length]
    users.push({
      id: 1000 + i,
      name: `${first} ${last}`,
      email: `${first}.${last}.${i}@example.com`.toLowerCase(),
      active: i % 3 !== 0,
      roles: i % 7 === 0 ? ['admin', 'user'] : ['user'],
      score: ((i * 379) % 1000) / 10,
      createdAt: new Date(Date.UTC(2024, i % 12, 1 + (i % 28), i % 24, (i * 7) % 60)).toISOString(),
      tags: [TAGS[i % TAGS.length], TAGS[(i * 3 + 1) % TAGS.length]],
    })
  }
  return { page: 1, perPage: users.length, total: 4_812, users }
}

/** Whether an Accept-Encoding value lets us answer gzip (the peers' negotiation; @mummy has its own). */
export function acceptsGzip(acceptEncoding) {
  return typeof acceptEncoding === 'string' && /\bgzip\b(?!;q=0(?:\.0*)?\b)/i.test(acceptEncoding)
}
