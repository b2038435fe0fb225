// Child processes for the WebSocket and SSE benchmarks: benchmark servers started on an
// ephemeral port, load clients compiled from C when needed, and their one-line JSON results.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

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
 * it exits non-zero (its message is on stderr): a broken run reports no rate.
 */
export function runJson(command, argv) {
  return new Promise((resolve) => {
    const child = spawn(command[0], [...command.slice(1), ...argv.map(String)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.once('error', (error) => resolve({ failed: error.message }))
    child.once('close', (code, signal) => {
      const line = out.trim().split('\n').pop()
      if (code !== 0 || !line)
        resolve({ failed: signal ? `killed by ${signal}` : `exit code ${code}` })
      else resolve(JSON.parse(line))
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
