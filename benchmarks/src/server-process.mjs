// Starts one benchmark server in its own process, waits until it answers, stops it.
import { spawn } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import { onCpus } from './cpus.mjs'

const HOST = '127.0.0.1'

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, HOST, () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

/**
 * One GET; resolves to { status, headers, body: Buffer } (body as sent, not decoded).
 * A fresh connection every time (agent: false).
 */
export function get(port, path, headers = {}, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: HOST, port, path, headers, agent: false }, (response) => {
      const chunks = []
      response.on('data', (chunk) => chunks.push(chunk))
      response.on('end', () =>
        resolve({
          status: response.statusCode,
          headers: response.headers,
          body: Buffer.concat(chunks),
        }),
      )
      response.on('error', reject)
    })
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer in ${timeoutMs} ms`)))
    request.on('error', reject)
  })
}

/**
 * Starts `node <script>` with PORT set; resolves once GET `probePath` answers (any status), or
 * rejects when the process exits first or `startTimeoutMs` passes. Resolved value:
 * { pid, port, startMs, stop(), output() }. A process that exits with `skipExitCode` rejects
 * with an error whose `skipped` is true. `cpus` (a list of CPU numbers) pins the process and
 * every thread it starts to those CPUs (taskset execs node, so the pid is node's).
 */
export async function startServer({
  script,
  env = {},
  probePath = '/',
  skipExitCode,
  startTimeoutMs = 60_000,
  cpus,
}) {
  const port = await freePort()
  const started = performance.now()
  const [command, args] = onCpus(cpus, process.execPath, [script])
  const child = spawn(command, args, {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const keep = (chunk) => {
    output += chunk
    if (output.length > 20_000) output = output.slice(-10_000)
  }
  child.stdout.setEncoding('utf8').on('data', keep)
  child.stderr.setEncoding('utf8').on('data', keep)
  let exited = null
  const exit = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      exited = { code, signal }
      resolve(exited)
    }),
  )

  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exit
      clearTimeout(timer)
    }
  }

  for (;;) {
    if (exited !== null) {
      const message = output.trim().split('\n').slice(-5).join(' | ') || 'no output'
      const error = new Error(
        `exited (${exited.code ?? exited.signal}) before answering: ${message}`,
      )
      error.skipped = skipExitCode !== undefined && exited.code === skipExitCode
      if (error.skipped) error.message = output.trim().split('\n').pop()
      throw error
    }
    if (performance.now() - started > startTimeoutMs) {
      await stop()
      throw new Error(`did not answer within ${startTimeoutMs / 1000} s`)
    }
    try {
      await get(port, probePath, {}, 1000)
      break
    } catch {
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), exit])
    }
  }
  return {
    pid: child.pid,
    port,
    startMs: performance.now() - started,
    stop,
    isRunning: () => exited === null,
    output: () => output,
  }
}
