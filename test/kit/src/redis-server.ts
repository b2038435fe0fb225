// A real redis-server for the tests: started on a free port, without persistence, in the
// foreground (a child of the test), and stopped, killed, paused or restarted on the same port.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** A free TCP port on 127.0.0.1 (nothing listens on it right now). */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** Whether a redis-server answers PING on `port`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    let answer = ''
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1')
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'))
    })
  })
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Fails the test file at once, with the fix, when redis-server is not installed. */
export function requireRedisServer(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed: run scripts/setup.sh (apt-get install redis-server)',
    )
  }
}

/** One redis-server process at a time, always on the same port. */
export class RedisServer {
  readonly port: number
  readonly #dir: string
  #proc: ChildProcess | null = null
  #output = ''

  private constructor(port: number) {
    this.port = port
    this.#dir = mkdtempSync(path.join(tmpdir(), 'mummy-redis-'))
  }

  /** Starts a redis-server on a free port and waits until it answers. */
  static async start(port?: number): Promise<RedisServer> {
    requireRedisServer()
    const server = new RedisServer(port ?? (await freePort()))
    await server.start()
    return server
  }

  /** A server object for `port` that is not started yet (`start()` it later). */
  static async notStarted(): Promise<RedisServer> {
    requireRedisServer()
    return new RedisServer(await freePort())
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#proc !== null
  }

  /** Starts the process (again) on the same port; retries while the port is briefly taken. */
  async start(timeoutMs = 15000): Promise<void> {
    if (this.#proc !== null) throw new Error('redis-server already running')
    const deadline = performance.now() + timeoutMs
    for (;;) {
      const exited = this.#spawn()
      for (;;) {
        if (await ping(this.port)) return
        if ((await Promise.race([exited, sleep(50).then(() => 'running')])) !== 'running') break
        if (performance.now() > deadline) {
          await this.kill()
          throw new Error(`redis-server did not answer on port ${this.port}:\n${this.#output}`)
        }
      }
      // Exited before answering (the port still taken by a closing socket?): again, a while.
      if (performance.now() > deadline) {
        throw new Error(`redis-server failed to start on port ${this.port}:\n${this.#output}`)
      }
      await sleep(100)
    }
  }

  #spawn(): Promise<string> {
    this.#output = ''
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        this.#dir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const keep = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString()).slice(-4000)
    }
    proc.stdout.on('data', keep)
    proc.stderr.on('data', keep)
    this.#proc = proc
    return new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        if (this.#proc === proc) this.#proc = null
        resolve(`exited ${code ?? signal}`)
      })
      proc.once('error', (err) => {
        if (this.#proc === proc) this.#proc = null
        this.#output += String(err)
        resolve('error')
      })
    })
  }

  /** Sends `signal` and waits until the process is gone. */
  async #signal(signal: NodeJS.Signals): Promise<void> {
    const proc = this.#proc
    if (proc === null) return
    if (proc.exitCode !== null || proc.signalCode !== null) {
      this.#proc = null
      return
    }
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    if (signal === 'SIGTERM') proc.kill('SIGCONT') // a paused server cannot stop
    proc.kill(signal)
    await gone
    this.#proc = null
  }

  /** Runs one command with `redis-cli` and returns its raw output (trimmed). */
  command(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile('redis-cli', ['-p', String(this.port), ...args], (error, stdout) =>
        error !== null ? reject(error) : resolve(stdout.trim()),
      )
    })
  }

  /** Stops the server the polite way (SIGTERM). */
  stop(): Promise<void> {
    return this.#signal('SIGTERM')
  }

  /** Kills the server (SIGKILL): connections drop without a goodbye. */
  kill(): Promise<void> {
    return this.#signal('SIGKILL')
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.#proc?.kill('SIGSTOP')
  }

  /** Thaws a paused server (SIGCONT). */
  resume(): void {
    this.#proc?.kill('SIGCONT')
  }

  /** Kills the server if it runs and removes its folder. */
  async dispose(): Promise<void> {
    await this.kill()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
