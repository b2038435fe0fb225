// shutdownSignals: SIGTERM (or SIGINT) closes the server — the request in flight is answered —
// and the process exits 0; the same signal twice at once counts once; a second signal later
// while closing exits at once with 1.
import { spawn } from 'node:child_process'
import http from 'node:http'
import readline from 'node:readline'
import { describe, expect, it } from '@jest/globals'

const SCRIPT = new URL('./fixtures/signals.js', import.meta.url)

function start() {
  const child = spawn(process.execPath, [SCRIPT.pathname], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const port = new Promise<number>((resolve) =>
    readline
      .createInterface({ input: child.stdout! })
      .once('line', (line) => resolve((JSON.parse(line) as { port: number }).port)),
  )
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, port, exited, stderr: () => stderr }
}

function get(port: number, path: string): Promise<[number, string]> {
  return new Promise((resolve, reject) =>
    http
      .get({ port, host: '127.0.0.1', path }, (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve([res.statusCode ?? 0, body]))
      })
      .on('error', reject),
  )
}

describe('shutdownSignals', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s: the request in flight is answered, then the process exits 0',
    async (signal) => {
      const s = start()
      const port = await s.port
      const inFlight = get(port, '/block/600')
      await new Promise((r) => setTimeout(r, 150))
      const sent = Date.now()
      s.child.kill(signal)
      expect(await inFlight).toEqual([200, 'blocked'])
      expect(await s.exited).toBe(0)
      expect(Date.now() - sent).toBeLessThan(5000)
      expect(s.stderr()).toContain(`info ${signal}: closing`)
    },
    20_000,
  )

  it('the same signal twice at once (a package manager forwarding Ctrl-C) is one: graceful, exit 0', async () => {
    const s = start()
    const port = await s.port
    const inFlight = get(port, '/block/600')
    await new Promise((r) => setTimeout(r, 150))
    s.child.kill('SIGINT')
    s.child.kill('SIGINT')
    expect(await inFlight).toEqual([200, 'blocked'])
    expect(await s.exited).toBe(0)
    expect(s.stderr()).not.toContain('again while closing')
  }, 20_000)

  it('a second signal while closing (0.5 s or more later) exits at once with 1', async () => {
    const s = start()
    const port = await s.port
    void get(port, '/block/5000').catch(() => {})
    await new Promise((r) => setTimeout(r, 150))
    s.child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 700))
    const second = Date.now()
    s.child.kill('SIGTERM')
    expect(await s.exited).toBe(1)
    expect(Date.now() - second).toBeLessThan(2000)
    expect(s.stderr()).toContain('SIGTERM again while closing: exiting now')
  }, 20_000)
})
