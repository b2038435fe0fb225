// Child processes for the WebSocket and SSE benchmarks: benchmark servers started on an
// ephemeral port, load clients compiled from C when needed, and their one-line JSON results.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpuNanoseconds } from './proc.mjs'

const SERVERS = fileURLToPath(new URL('../../apps/wrk-servers/', import.meta.url))

/**
 * Compiles `source` (C) to `binary` with `cc -O2` (and `flags`, e.g. `-pthread`) when the binary
 * is missing or older than `source` or one of the `headers` it includes. Returns `true` when the
 * binary is ready, `false` when there is no C compiler; exits on a compile error.
 */
export function compileC(source, binary, flags = [], headers = []) {
  const mtime = (f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? -1
  if (mtime(binary) >= Math.max(...[source, ...headers].map(mtime))) return true
  mkdirSync(path.dirname(binary), { recursive: true })
  const cc = spawnSync('cc', ['-O2', ...flags, '-o', binary, source], {
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  if (cc.error?.code === 'ENOENT') return false
  if (cc.error || cc.status !== 0) {
    console.error(`cc failed to compile ${source} (${cc.error ?? `exit code ${cc.status}`})`)
    process.exit(1)
  }
  return true
}

/**
 * Starts `apps/wrk-servers/<file>` with PORT=0 and `env`; resolves with `{ child, port }` once
 * it prints `ready <port>`, or with `{ child, port: 0, unavailable }` when it cannot run here.
 */
export function startServer(file, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(SERVERS, file)], {
      env: { ...process.env, ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout.once('data', (d) => {
      const line = String(d).trim()
      if (line.startsWith('ready ')) resolve({ child, port: Number(line.slice(6)) })
      else resolve({ child, port: 0, unavailable: line })
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      resolve({ child, port: 0, unavailable: `exited with code ${code}` }),
    )
  })
}

/** Stops a server started with {@link startServer}. */
export async function stopServer(server) {
  if (server.child.exitCode !== null) return
  server.child.kill()
  await new Promise((resolve) => server.child.once('exit', resolve))
}

/**
 * Runs a load client; resolves to its last stdout line parsed as JSON, or to `{ failed }` when
 * it exits non-zero (its message is on stderr): a broken run reports no rate. When `serverPid`
 * is given, the server's CPU (all its threads) is read when the client prints `@start` and
 * `@end` (the measured part: connection set-up left out), and the result gains `cpuUsPer`:
 * server CPU µs per the client's `count` (messages or deliveries).
 */
export function runJson(command, argv, serverPid) {
  return new Promise((resolve) => {
    const child = spawn(command[0], [...command.slice(1), ...argv.map(String)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    let pending = ''
    const cpu = {}
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d
      if (serverPid === undefined) return
      pending += d
      let newline
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline)
        pending = pending.slice(newline + 1)
        if (line === '@start' || line === '@end') cpu[line.slice(1)] = cpuNanoseconds(serverPid)
      }
    })
    child.once('error', (error) => resolve({ failed: error.message }))
    child.once('close', (code, signal) => {
      const line = out.trim().split('\n').pop()
      if (code !== 0 || !line || line.startsWith('@'))
        resolve({ failed: signal ? `killed by ${signal}` : `exit code ${code}` })
      else {
        const result = JSON.parse(line)
        const used = cpu.end != null && cpu.start != null ? cpu.end - cpu.start : null
        result.cpuUsPer = used !== null && result.count > 0 ? used / 1e3 / result.count : null
        resolve(result)
      }
    })
  })
}

/** The median of `xs` (the upper one for an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** `--name value` pairs of the command line, as an object. */
export function parseArgs(argv = process.argv.slice(2)) {
  const out = {}
  for (let i = 0; i < argv.length; i++)
    if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[i + 1]
  return out
}
