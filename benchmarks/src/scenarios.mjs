// The five scenarios: what each server must answer (checked byte for byte before any load) and
// the wrk processes that drive it.
import {
  CPU_BLOCKS,
  HEAVY_BLOCKS,
  HELLO_BODY,
  hashWork,
  makeDocument,
} from '@mummy/wrk-servers/lib/work.js'

/**
 * A scenario:
 * - `checks`: [{ path, headers?, encoding?, expect }] — each server must answer 200 with exactly
 *   `expect` (after undoing `encoding`, which must be the Content-Encoding sent).
 * - `loads(options)`: the wrk processes run at the same time for one measurement: [{ role, path,
 *   connections, threads, headers?, thinkMs? }].
 * - `latencyOf`: the role whose latency is reported.
 * - `metric`: 'rps' (higher is better) or 'p99' (the reported role's p99; lower is better) —
 *   what the chart draws and the ratio column compares.
 * - `warmup(options)`: loads for the untimed warm-up (defaults to `loads`).
 * - `warmupS`: the untimed warm-up per server when `--warmup` is not given (default 1 s).
 * - `rewarmS`: untimed load just before each measured run (default 0): a server that sat idle
 *   while the others were measured starts its run as warm as it ended the last one.
 * - `scalesWithCores`: with `--cores N`, @mummy runs N workers (the work is CPU-bound); the
 *   sleep scenarios keep their servers' counts (100 blocking workers; 2 × concurrency 64).
 */
export const SCENARIOS = [
  {
    name: 'hello',
    scalesWithCores: true,
    summary: 'GET / → 200 text/plain, 26 bytes',
    checks: [{ path: '/', expect: HELLO_BODY }],
    loads: (o) => [{ role: 'all', path: '/', connections: o.connections, threads: o.threads }],
    latencyOf: 'all',
    metric: 'rps',
  },
  {
    name: 'sleep10',
    summary: 'every request takes 10 ms (@mummy: blocking wait; others: async timer)',
    // 100 worker isolates each run 1/100 of the requests, so V8 optimizes each one's code only
    // after ~10 s of load; and an isolate idle for a few seconds (while the other servers are
    // measured) gives memory back and starts its next run slower (measured: whichever server
    // ran first in each round lost 30–40 µs of CPU per request). Steady state is what counts.
    warmupS: 10,
    rewarmS: 2,
    checks: [{ path: '/', expect: HELLO_BODY }],
    loads: (o) => [{ role: 'all', path: '/', connections: o.connections, threads: o.threads }],
    latencyOf: 'all',
    metric: 'rps',
  },
  {
    name: 'sleep10-async',
    summary:
      'every request awaits a 10 ms timer (@mummy: async handlers, 2 workers × concurrency 64; ' +
      'others: the sleep10 server)',
    checks: [{ path: '/', expect: HELLO_BODY }],
    loads: (o) => [{ role: 'all', path: '/', connections: o.connections, threads: o.threads }],
    latencyOf: 'all',
    metric: 'rps',
  },
  {
    name: 'cpu',
    scalesWithCores: true,
    summary: `every request hashes ${CPU_BLOCKS} KiB with SHA-256 (~1 ms of CPU)`,
    checks: [{ path: '/', expect: () => hashWork(CPU_BLOCKS) }],
    loads: (o) => [{ role: 'all', path: '/', connections: o.connections, threads: o.threads }],
    latencyOf: 'all',
    metric: 'rps',
  },
  {
    name: 'mixed',
    scalesWithCores: true,
    summary:
      '95% of connections GET / (cheap), 5% GET /heavy (~100 ms of CPU); random think time ' +
      'between requests; latency of the cheap requests',
    checks: [
      { path: '/', expect: HELLO_BODY },
      { path: '/heavy', expect: () => hashWork(HEAVY_BLOCKS) },
    ],
    loads: (o) => {
      const heavy = Math.max(1, Math.round(o.connections * 0.05))
      return [
        {
          role: 'cheap',
          path: '/',
          connections: o.connections - heavy,
          threads: 1,
          thinkMs: o.thinkMs,
        },
        { role: 'heavy', path: '/heavy', connections: heavy, threads: 1, thinkMs: o.thinkMs },
      ]
    },
    warmup: () => [{ role: 'cheap', path: '/', connections: 10, threads: 1 }],
    latencyOf: 'cheap',
    metric: 'p99',
  },
  {
    name: 'json',
    scalesWithCores: true,
    summary: 'GET / with Accept-Encoding: gzip → ~10 KB JSON, stringified and gzipped per request',
    checks: [
      {
        path: '/',
        headers: { 'accept-encoding': 'gzip' },
        encoding: 'gzip',
        expect: () => JSON.stringify(makeDocument()),
      },
    ],
    loads: (o) => [
      {
        role: 'all',
        path: '/',
        connections: o.connections,
        threads: o.threads,
        headers: ['Accept-Encoding: gzip'],
      },
    ],
    latencyOf: 'all',
    metric: 'rps',
  },
]
