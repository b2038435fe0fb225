// respondFile's descriptors, on both transports: the worker opens the file and hands its
// descriptor to the IO thread (an 'f' command), which reads it and must close it on every path —
// the whole file sent, a client gone mid-file (its reader paused, so the sender waits on
// backpressure; or reset; or half-closed), a client gone before the answer, a HEAD or an empty
// body (never handed over), the server closing under paused readers. The IO thread runs in this
// process and the workers are its threads, so every descriptor shows in /proc/self/fd: after
// each test the count must come back to what it was, exactly.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readResponses, sleep, waitFor } from '@mummy/test-kit'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/file-app.js', import.meta.url)
const MiB = 1024 * 1024
const SIZE = 32 * MiB
const FD_DIR = '/proc/self/fd'

/** Open descriptors of this process, number → what it points at. */
function descriptors(): Map<string, string> {
  const out = new Map<string, string>()
  for (const fd of fs.readdirSync(FD_DIR)) {
    try {
      out.set(fd, fs.readlinkSync(path.join(FD_DIR, fd)))
    } catch {
      // (The directory's own descriptor, closed once it was read.)
    }
  }
  return out
}

const fdCount = (): number => fs.readdirSync(FD_DIR).length

/** Descriptors open on `file`. */
const openOn = (file: string): number =>
  [...descriptors().values()].filter((link) => link === file).length

/**
 * The count of open descriptors once it has held still for a while (connections of earlier
 * requests finish closing on both sides first).
 */
async function steadyCount(): Promise<{ count: number; fds: Map<string, string> }> {
  let last = -1
  let still = 0
  const until = Date.now() + 10_000
  while (still < 10 && Date.now() < until) {
    const now = fdCount()
    still = now === last ? still + 1 : 0
    last = now
    await sleep(30)
  }
  return { count: fdCount(), fds: descriptors() }
}

/** Waits (polling, up to `timeout` ms) for the descriptor count to be `baseline` again. */
async function expectBackTo(
  baseline: { count: number; fds: Map<string, string> },
  file: string,
  timeout = 15_000,
): Promise<void> {
  const until = Date.now() + timeout
  while (fdCount() !== baseline.count && Date.now() < until) await sleep(50)
  const now = descriptors()
  const added = [...now].filter(([fd, link]) => baseline.fds.get(fd) !== link)
  const removed = [...baseline.fds].filter(([fd, link]) => now.get(fd) !== link)
  // What differs, when it does: which descriptors, pointing where.
  expect({ count: fdCount(), onFile: openOn(file), added, removed }).toEqual({
    count: baseline.count,
    onFile: 0,
    added: [],
    removed: [],
  })
}

/** A request for `file` through the fixture's route. */
const request = (route: string, file: string, extra = '', method = 'GET'): string =>
  `${method} ${route}?path=${encodeURIComponent(file)} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`

/** Resolves once `socket` has closed (whoever closed it). */
const closed = (socket: net.Socket): Promise<void> =>
  new Promise((resolve) => {
    if (socket.destroyed && socket.closed) resolve()
    else socket.once('close', () => resolve())
  })

/**
 * Downloads `file` whole over a connection of its own (`Connection: close`); resolves with the
 * status, the declared length, and the length and hash of the body once the server closed.
 */
function download(
  port: number,
  file: string,
): Promise<{ status: number; declared: number; length: number; sha: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const hash = createHash('sha256')
    let head: Buffer | null = Buffer.alloc(0)
    let status = 0
    let declared = -1
    let length = 0
    socket.on('data', (d: Buffer) => {
      if (head === null) {
        hash.update(d)
        length += d.length
        return
      }
      head = Buffer.concat([head, d])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const text = head.toString('latin1', 0, end)
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)
      declared = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? -1)
      const rest = head.subarray(end + 4)
      head = null
      hash.update(rest)
      length += rest.length
    })
    socket.on('error', reject)
    socket.on('close', () => resolve({ status, declared, length, sha: hash.digest('hex') }))
    socket.write(request('/file', file, 'Connection: close\r\n'))
  })
}

/** The ways a client leaves in the middle of a file. */
const LEAVINGS = ['at-once', 'first-bytes', 'paused', 'paused-reset', 'half-close'] as const
type Leaving = (typeof LEAVINGS)[number]

/**
 * Starts downloading `file` and leaves as `how` says: at once (before any answer), at the first
 * bytes, after `after` bytes with the reader paused for a while (backpressure: the server stops
 * reading the file and waits for the client), the same ending in a reset, or by closing its
 * side after the first bytes. Resolves with the bytes received once the socket has closed.
 */
async function leave(port: number, file: string, how: Leaving, after: number): Promise<number> {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  const gone = closed(socket)
  let received = 0
  let first!: () => void
  let enough!: () => void
  const firstBytes = new Promise<void>((resolve) => (first = resolve))
  const reached = new Promise<void>((resolve) => (enough = resolve))
  socket.on('data', (d: Buffer) => {
    received += d.length
    first()
    if (received >= after && !socket.isPaused()) {
      socket.pause()
      enough()
    }
  })
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  socket.write(request('/file', file))
  switch (how) {
    case 'at-once':
      socket.destroy()
      break
    case 'first-bytes':
      await firstBytes
      socket.destroy()
      break
    case 'paused':
    case 'paused-reset':
      await reached
      // Long enough for the sender to fill the socket and stop on backpressure.
      await sleep(150)
      if (how === 'paused') socket.destroy()
      else socket.resetAndDestroy()
      break
    case 'half-close':
      await firstBytes
      socket.end()
      // Reading on until the server closes, or giving up.
      await waitFor(() => socket.closed, 5000).catch(() => {})
      socket.destroy()
      break
  }
  await gone
  return received
}

describe.each(TRANSPORTS)('respondFile closes every descriptor (%s transport)', (transport) => {
  let server: Server
  let port: number
  let work: string
  let big: string
  let bigSha: string
  let empty: string
  beforeAll(async () => {
    work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-file-fd-')))
    big = path.join(work, 'big.bin')
    empty = path.join(work, 'empty.bin')
    const hash = createHash('sha256')
    const fd = fs.openSync(big, 'w')
    for (let i = 0; i < SIZE / MiB; i++) {
      const chunk = randomBytes(MiB)
      hash.update(chunk)
      fs.writeSync(fd, chunk)
    }
    fs.closeSync(fd)
    bigSha = hash.digest('hex')
    fs.writeFileSync(empty, '')
    // (concurrency: the late handlers of one test wait side by side, not one after another.)
    server = createServer({
      transport,
      app: APP,
      workers: 2,
      concurrency: 16,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
    port = server.port
    // Warm up (whatever is opened once, on first use, is part of the baseline).
    const small = path.join(work, 'small.txt')
    fs.writeFileSync(small, 'warm')
    for (let i = 0; i < 4; i++) expect((await download(port, small)).length).toBe(4)
  }, 60_000)
  afterAll(async () => {
    await server?.close()
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('20 clients that leave mid-file (paused, reset, half-closed, at once) and 4 that read it whole: every descriptor is closed', async () => {
    const baseline = await steadyCount()
    let peakOnFile = 0
    let watching = true
    const watch = (async () => {
      while (watching) {
        peakOnFile = Math.max(peakOnFile, openOn(big))
        await sleep(20)
      }
    })()
    const leavers = Array.from({ length: 20 }, (_, i) =>
      leave(port, big, LEAVINGS[i % LEAVINGS.length]!, 64 * 1024 + i * 512 * 1024),
    )
    const readers = Array.from({ length: 4 }, () => download(port, big))
    const whole = await Promise.all(readers)
    const received = await Promise.all(leavers)
    watching = false
    await watch
    for (const r of whole)
      expect(r).toEqual({ status: 200, declared: SIZE, length: SIZE, sha: bigSha })
    // They did leave mid-file: none got the whole body (head included, it would be more).
    for (const bytes of received) expect(bytes).toBeLessThan(SIZE)
    // And the server held the file open meanwhile (it was sending it when they left).
    expect(peakOnFile).toBeGreaterThan(0)
    await expectBackTo(baseline, big)
  }, 120_000)

  it('HEAD, an empty file, 304, 416, a one-byte range and a directory: nothing is handed over, nothing stays open', async () => {
    const baseline = await steadyCount()
    const socket = net.connect(port, '127.0.0.1')
    let data = Buffer.alloc(0)
    socket.on('data', (d: Buffer) => (data = Buffer.concat([data, d])))
    const heads: boolean[] = []
    const ask = async (bytes: string, isHead = false): Promise<void> => {
      heads.push(isHead)
      socket.write(bytes)
      await waitFor(
        () => readResponses(data, heads).responses.length === heads.length,
        10_000,
        `answer ${heads.length}`,
      )
    }
    await ask(request('/file', big, '', 'HEAD'), true)
    const etag = readResponses(data, heads).responses[0]!.headers['etag']!
    for (let i = 0; i < 10; i++) {
      await ask(request('/file', big, '', 'HEAD'), true)
      await ask(request('/file', empty))
      await ask(request('/file', big, `If-None-Match: ${etag}\r\n`))
      await ask(request('/file', big, `Range: bytes=${SIZE}-\r\n`))
      await ask(request('/file', empty, 'Range: bytes=0-\r\n'))
      await ask(request('/file', big, `Range: bytes=${i}-${i}\r\n`))
      await ask(request('/file', work))
    }
    const { responses } = readResponses(data, heads)
    const kinds = responses.slice(1, 8).map((r) => [r.status, r.headers['content-length']])
    expect(kinds).toEqual([
      [200, String(SIZE)],
      [200, '0'],
      [304, undefined],
      [416, expect.any(String)],
      [416, expect.any(String)],
      [206, '1'],
      [404, expect.any(String)],
    ])
    const first = Buffer.alloc(10)
    const fd = fs.openSync(big, 'r')
    fs.readSync(fd, first, 0, 10, 0)
    fs.closeSync(fd)
    const ranged = Array.from({ length: 10 }, (_, i) => responses[1 + i * 7 + 5]!.body)
    expect(Buffer.concat(ranged)).toEqual(first)
    socket.destroy()
    await closed(socket)
    await expectBackTo(baseline, big)
  }, 60_000)

  it('clients gone before the answer: the descriptor opened after they left is closed too', async () => {
    const mark = path.join(work, `late-${Date.now()}`)
    fs.writeFileSync(mark, '')
    const marks = (c: string): number => fs.readFileSync(mark, 'latin1').split(c).length - 1
    const baseline = await steadyCount()
    const sockets = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const socket = net.connect(port, '127.0.0.1')
        socket.on('error', () => {})
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()))
        socket.write(
          request('/late-file', big).replace('?', `?ms=1000&mark=${encodeURIComponent(mark)}&`),
        )
        return socket
      }),
    )
    // Every handler has started (and waits 1 s before respondFile): now the clients leave,
    // with a reset or a FIN. (After a FIN — a half-close — the node:net transport still
    // answers, and finds the client gone when it writes.)
    await waitFor(() => marks('s') === 12, 15_000, 'the 12 handlers to start')
    for (const [i, socket] of sockets.entries()) {
      if (i % 2 === 0) socket.resetAndDestroy()
      else socket.destroy()
    }
    await Promise.all(sockets.map(closed))
    // Every handler has answered (to no one).
    await waitFor(() => marks('x') === 12, 15_000, 'the 12 handlers to end')
    await expectBackTo(baseline, big)
    // The server still serves (nothing it needs was closed by mistake).
    const r = await download(port, big)
    expect([r.status, r.length, r.sha]).toEqual([200, SIZE, bigSha])
    await expectBackTo(baseline, big)
  }, 60_000)

  it('close() under paused readers mid-file: the server and its descriptors are all gone', async () => {
    const before = await steadyCount()
    const other = createServer({ transport, app: APP, workers: 2, logHandler: () => {} })
    await other.listen(0, '127.0.0.1')
    const sockets: net.Socket[] = []
    let received = 0
    for (let i = 0; i < 5; i++) {
      const socket = net.connect(other.port, '127.0.0.1')
      socket.on('error', () => {})
      sockets.push(socket)
      socket.on('data', (d: Buffer) => {
        received += d.length
        socket.pause()
      })
      socket.write(request('/file', big))
    }
    await waitFor(() => received > 0 && openOn(big) > 0, 10_000, 'the files being sent')
    await sleep(150)
    await other.close({ timeout: 500 })
    for (const socket of sockets) socket.destroy()
    await Promise.all(sockets.map(closed))
    await expectBackTo(before, big)
  }, 60_000)

  // The worker opens the descriptor with fs.openSync and the IO thread closes it. Node's Worker
  // would track the descriptors a worker opens (`trackUnmanagedFds`) and close those still on
  // its list when it exits — numbers that by then belong to whatever opened them next in this
  // process. The pool turns that off: its threads share their descriptors with the IO thread.
  it('a worker that exits does not close the numbers respondFile handed over (now reused)', async () => {
    const other = createServer({ transport, app: APP, workers: 1, logHandler: () => {} })
    await other.listen(0, '127.0.0.1')
    const small = path.join(work, 'handed.txt')
    fs.writeFileSync(small, 'handed over')
    const probe = path.join(work, 'probe.txt')
    fs.writeFileSync(probe, 'mine')
    const mine: number[] = []
    let lost: number[] = []
    const valid = (fd: number): boolean => {
      try {
        fs.fstatSync(fd)
        return true
      } catch {
        return false
      }
    }
    try {
      for (let i = 0; i < 4; i++) expect((await download(other.port, small)).length).toBe(11)
      await waitFor(() => openOn(small) === 0, 10_000, 'the handed-over descriptors closed')
      // Whatever numbers were freed, this process takes them again.
      for (let i = 0; i < 16; i++) mine.push(fs.openSync(probe, 'r'))
      // (Resolves once the worker has exited.)
      await other.close()
      lost = mine.filter((fd) => !valid(fd))
    } finally {
      // At once, before anything else may take a lost number: close only what is still ours.
      for (const fd of mine) if (!lost.includes(fd)) fs.closeSync(fd)
      await other.close()
    }
    expect(lost).toEqual([])
  }, 60_000)
})
