// Runs wrk in its own process and reads the exact numbers its Lua `done()` hook prints.
import { execFileSync, spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { onCpus } from './cpus.mjs'

const REPORT_LUA = fileURLToPath(new URL('./lua/report.lua', import.meta.url))
const THINK_LUA = fileURLToPath(new URL('./lua/think.lua', import.meta.url))
/** wrk's --timeout: an answer slower than this counts as a socket error (a timeout). */
export const WRK_TIMEOUT_S = 5

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url))

function versionOf(text) {
  // "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer" → "wrk debian/4.1.0-3+b2 [epoll]"
  return /^wrk /.test(text)
    ? text
        .split('\n')[0]
        .replace(/\s*Copyright.*$/, '')
        .trim()
    : null
}

/** wrk's version line, or null when wrk is not installed. */
export function wrkVersion() {
  try {
    const out = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return versionOf(out)
  } catch (error) {
    // `wrk -v` prints its version and usage, then exits 1.
    return versionOf(`${error.stdout ?? ''}${error.stderr ?? ''}`)
  }
}

/**
 * Starts one wrk process. `load` is { path, connections, threads, headers?, thinkMs? }.
 * Returns { pid, result } where `result` resolves to
 * { requests, durationUs, bytes, errors: {connect, read, write, status, timeout}, latencyUs: {…}, rps }
 * or rejects when wrk fails. `cpus` (a list of CPU numbers) pins wrk to those CPUs.
 */
export function startWrk(baseURL, load, { duration, timeout = WRK_TIMEOUT_S, cpus }) {
  const threads = Math.min(load.threads, load.connections)
  const args = [
    `-t${threads}`,
    `-c${load.connections}`,
    `-d${duration}s`,
    `--timeout`,
    `${timeout}s`,
  ]
  for (const header of load.headers ?? []) args.push('-H', header)
  args.push('-s', load.thinkMs === undefined ? REPORT_LUA : THINK_LUA)
  args.push(`${baseURL}${load.path}`)
  if (load.thinkMs !== undefined) args.push('--', String(load.thinkMs))

  const [command, argv] = onCpus(cpus, 'wrk', args)
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk))
  const result = new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('@@wrk '))
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk ${args.join(' ')} exited ${code}: ${(stderr || stdout).trim()}`))
        return
      }
      const parsed = JSON.parse(line.slice(6))
      parsed.rps = parsed.requests / (parsed.durationUs / 1e6)
      parsed.command = [command, ...argv].map(display).join(' ')
      resolve(parsed)
    })
  })
  return { pid: child.pid, result }
}

/** An argument as a person would type it: repo-relative paths, quoted when it has spaces. */
function display(arg) {
  const shown = arg.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, arg) : arg
  return /[\s'"]/.test(shown) ? `'${shown.replace(/'/g, `'\\''`)}'` : shown
}

/** Total socket errors (connect, read, write, timeout) and non-2xx/3xx answers of a wrk result. */
export function errorCounts(result) {
  const e = result.errors
  return { socket: e.connect + e.read + e.write + e.timeout, status: e.status }
}
