// Helpers for the demo tests: free ports, servers started as real processes, WebSocket clients,
// pages in a real browser (Debian's chromium, driven by playwright-core).
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { SseParser } from '@mummy/sse'
import { chromium } from 'playwright-core'
import WebSocket from 'ws'

export async function freePort() {
  const server = net.createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits until `predicate()` is true (polling), or fails after `ms`. */
export async function until(predicate, ms = 5000, what = 'condition') {
  const end = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/**
 * Starts `node <script>` with `PORT` set and waits until it answers HTTP. Returns the child
 * and its output so far; `stop()` kills it (SIGKILL: no graceful shutdown) and waits.
 */
export async function startProcess(script, { port, env = {}, path = '/' } = {}) {
  port ??= await freePort()
  let output = ''
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}${path}`)
      break
    } catch {
      if (child.exitCode !== null) throw new Error(`${script} exited: ${output}`)
      if (Date.now() > deadline) throw new Error(`${script} did not start: ${output}`)
      await sleep(50)
    }
  }
  return {
    port,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}

/** Opens a WebSocket; `messages` collects what arrives (text as strings, JSON parsed if asked). */
export function openSocket(url, { json = false, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options)
    const messages = []
    ws.on('message', (data, isBinary) => {
      if (isBinary) messages.push(data)
      else messages.push(json ? JSON.parse(String(data)) : String(data))
    })
    ws.once('open', () => resolve({ ws, messages }))
    ws.once('error', reject)
  })
}

/**
 * Opens an event stream at `target` on the server behind the WebSocket `url` with node:http;
 * events are parsed by `@mummy/sse` as an EventSource would.
 */
export function openEvents(url, target, headers = {}) {
  const { port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path: target, headers, agent: false },
      (res) => {
        const events = []
        const parser = new SseParser((event) => events.push(event))
        res.on('data', (chunk) => parser.feed(chunk))
        res.on('error', () => {})
        resolve({ headers: res.headers, events, parser, close: () => req.destroy() })
      },
    )
    req.on('error', reject)
  })
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Launches headless chromium (CHROMIUM_PATH, default /usr/bin/chromium); fails if it is missing. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM_PATH)`)
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
}

/** Opens `base` in a new context of `browser`; `errors` collects the page's uncaught errors. */
export async function openPage(browser, base) {
  // One context each: two separate visitors (their own localStorage).
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } })
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (error) => errors.push(error.message))
  await page.goto(base)
  return { page, errors }
}

/** Joins `room` as `nick` with the page's form and waits until the room is open. */
export async function joinRoom(page, nick, room) {
  await page.fill('#nick', nick)
  await page.fill('#room', room)
  await page.click('#join-button')
  await page.locator('#room-title', { hasText: `#${room}` }).waitFor()
  await page.locator('#text:not([disabled])').waitFor()
}
