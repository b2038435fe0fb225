// tus 1.0 resumable uploads end to end: tus-js-client (the reference client) against the
// server on both transports, an interrupted upload resumed, and the protocol's answers to
// every kind of bad request, on real sockets and real files.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { exchange, sleep, waitFor } from '@mummy/test-kit'
import * as tus from 'tus-js-client'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)
const MiB = 1024 * 1024
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')
const b64 = (text: string): string => Buffer.from(text).toString('base64')

/** Uploads `data` with tus-js-client; resolves with the upload URL. */
function upload(
  endpoint: string,
  data: Buffer,
  options: Partial<tus.UploadOptions> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const u: tus.Upload = new tus.Upload(data, {
      endpoint,
      retryDelays: [],
      metadata: { filename: 'ünïcödé name.bin', filetype: 'application/octet-stream' },
      ...options,
      onError: reject,
      onSuccess: () => resolve(u.url!),
    })
    u.start()
  })
}

describe.each(TRANSPORTS)('tus uploads (%s transport)', (transport) => {
  let server: Server
  let base: string
  let port: number
  let work: string
  let tusDir: string
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-tus-test-'))
    server = createServer({
      transport,
      app: APP,
      workers: 2,
      logHandler: () => {},
      uploads: { dir: work, tus: { maxSize: 64 * MiB } },
    })
    await server.listen(0, '127.0.0.1')
    port = server.port
    base = `http://127.0.0.1:${port}`
    tusDir = path.join(work, 'tus')
  })
  afterAll(async () => {
    await server.close()
    fs.rmSync(work, { recursive: true, force: true })
  })

  /** The completed upload, as the app's handler moved it away (it does so after answering). */
  const done = async (url: string): Promise<{ bytes: Buffer; metadata: unknown }> => {
    const file = path.join(work, `done-${url.slice(url.lastIndexOf('/') + 1)}`)
    await waitFor(() => fs.existsSync(`${file}.json`), 5000, 'the handler to move the upload')
    return {
      bytes: fs.readFileSync(file),
      metadata: JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as unknown,
    }
  }
  const tusRequest = (
    method: string,
    url: string,
    headers: Record<string, string> = {},
    body?: Buffer,
  ): Promise<Response> =>
    fetch(url.startsWith('/') ? base + url : url, {
      method,
      headers: { 'Tus-Resumable': '1.0.0', ...headers },
      ...(body === undefined ? {} : { body }),
    })
  const create = async (length: number, extra: Record<string, string> = {}): Promise<string> => {
    const res = await tusRequest('POST', '/tus/files', {
      'Upload-Length': String(length),
      ...extra,
    })
    expect(res.status).toBe(201)
    return res.headers.get('location')!
  }
  const offsetOf = async (url: string): Promise<number> =>
    Number((await tusRequest('HEAD', url)).headers.get('upload-offset'))

  it('tus-js-client uploads a 24 MiB file in one PATCH; the handler gets it whole, with its metadata', async () => {
    const data = randomBytes(24 * MiB)
    const url = await upload(`${base}/tus/files`, data)
    expect(url).toMatch(new RegExp(`^${base}/tus/files/[0-9a-f-]{36}$`))
    const got = await done(url)
    expect(got.bytes.length).toBe(data.length)
    expect(sha256(got.bytes)).toBe(sha256(data))
    expect(got.metadata).toEqual({
      filename: 'ünïcödé name.bin',
      filetype: 'application/octet-stream',
    })
    // Completed: HEAD still says so (a client that lost the last answer can tell).
    const head = await tusRequest('HEAD', url)
    expect(head.status).toBe(200)
    expect(head.headers.get('upload-offset')).toBe(String(data.length))
    expect(head.headers.get('upload-length')).toBe(String(data.length))
    expect(head.headers.get('cache-control')).toBe('no-store')
    expect(head.headers.get('tus-resumable')).toBe('1.0.0')
    expect(head.headers.get('upload-metadata')).toContain(`filename ${b64('ünïcödé name.bin')}`)
  }, 60_000)

  it('tus-js-client in 1 MiB chunks: one PATCH per chunk, the same file', async () => {
    const data = randomBytes(5 * MiB + 12345)
    const url = await upload(`${base}/tus/files`, data, { chunkSize: MiB })
    expect(sha256((await done(url)).bytes)).toBe(sha256(data))
  }, 60_000)

  it('a connection lost mid-PATCH keeps what arrived; tus-js-client resumes from there', async () => {
    const data = randomBytes(8 * MiB)
    const url = await create(data.length, { 'Upload-Metadata': `filename ${b64('resumed.bin')}` })
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(
      `PATCH ${url} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n` +
        `Content-Length: ${data.length}\r\n\r\n`,
    )
    const sent = 3 * MiB + 777
    await new Promise((resolve) => socket.write(data.subarray(0, sent), resolve))
    await waitFor(async () => (await offsetOf(url)) === sent, 5000, 'the bytes on disk')
    socket.destroy()
    // Still there after the connection is gone (and the lock is released: a PATCH may go on).
    await sleep(100)
    expect(await offsetOf(url)).toBe(sent)
    const resumed = await upload(`${base}/tus/files`, data, { uploadUrl: base + url })
    expect(resumed).toBe(base + url)
    const got = await done(url)
    expect(sha256(got.bytes)).toBe(sha256(data))
    expect(got.metadata).toEqual({ filename: 'resumed.bin' })
  }, 60_000)

  it('OPTIONS tells the version, the extensions and the largest upload', async () => {
    const res = await fetch(`${base}/tus/files`, { method: 'OPTIONS' })
    expect(res.status).toBe(204)
    expect(res.headers.get('tus-version')).toBe('1.0.0')
    expect(res.headers.get('tus-extension')).toBe('creation,termination,expiration')
    expect(res.headers.get('tus-max-size')).toBe(String(64 * MiB))
    // The handler's extra headers (here CORS) are added; the protocol's own win.
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('tus-resumable')).toBe('1.0.0')
  })

  it('creation: 412 without Tus-Resumable, 400 for a missing or bad length or metadata, 413 over the maximum', async () => {
    const before = fs.readdirSync(tusDir).length
    const noVersion = await fetch(`${base}/tus/files`, {
      method: 'POST',
      headers: { 'Upload-Length': '10' },
    })
    expect(noVersion.status).toBe(412)
    expect(noVersion.headers.get('tus-version')).toBe('1.0.0')
    expect((await tusRequest('POST', '/tus/files', { 'Tus-Resumable': '0.2.2' })).status).toBe(412)
    expect((await tusRequest('POST', '/tus/files')).status).toBe(400)
    expect((await tusRequest('POST', '/tus/files', { 'Upload-Defer-Length': '1' })).status).toBe(
      400,
    )
    expect((await tusRequest('POST', '/tus/files', { 'Upload-Length': '-1' })).status).toBe(400)
    expect((await tusRequest('POST', '/tus/files', { 'Upload-Length': '1e3' })).status).toBe(400)
    for (const metadata of ['a b c', 'a YQ==,a YQ==', 'k not*base64', 'a YQ==,', 'k YQ'])
      expect(
        (
          await tusRequest('POST', '/tus/files', {
            'Upload-Length': '1',
            'Upload-Metadata': metadata,
          })
        ).status,
      ).toBe(400)
    const tooBig = await tusRequest('POST', '/tus/files', { 'Upload-Length': String(64 * MiB + 1) })
    expect(tooBig.status).toBe(413)
    // The application decides who may create uploads.
    expect(
      (await tusRequest('POST', '/tus/files', { 'Upload-Length': '1', 'X-Deny': 'yes' })).status,
    ).toBe(403)
    // Nothing was created by any of these.
    expect(fs.readdirSync(tusDir).length).toBe(before)
  })

  it('a zero-length upload is complete when created', async () => {
    const url = await create(0)
    expect((await done(url)).bytes.length).toBe(0)
    expect(await offsetOf(url)).toBe(0)
  })

  it('PATCH: 415 without the offset+octet-stream type, 400 for a bad offset, 404 for an unknown upload, 409 for the wrong offset', async () => {
    const url = await create(100)
    const patch = (
      headers: Record<string, string>,
      body = Buffer.alloc(10, 1),
    ): Promise<Response> =>
      tusRequest(
        'PATCH',
        url,
        { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0', ...headers },
        body,
      )
    expect((await patch({ 'Content-Type': 'application/octet-stream' })).status).toBe(415)
    expect((await patch({ 'Upload-Offset': 'x' })).status).toBe(400)
    expect((await patch({ 'Tus-Resumable': '2.0.0' })).status).toBe(412)
    const unknown = await tusRequest(
      'PATCH',
      '/tus/files/00000000-0000-4000-8000-000000000000',
      { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' },
      Buffer.alloc(10),
    )
    expect(unknown.status).toBe(404)
    expect((await tusRequest('HEAD', '/tus/files/not-an-id')).status).toBe(404)
    const first = await patch({})
    expect(first.status).toBe(204)
    expect(first.headers.get('upload-offset')).toBe('10')
    expect(first.headers.get('upload-expires')).toMatch(/GMT$/)
    const stale = await patch({ 'Upload-Offset': '0' })
    expect(stale.status).toBe(409)
    expect(stale.headers.get('upload-offset')).toBe('10')
    // An empty PATCH is checked the same way, and changes nothing.
    const empty = await patch({ 'Upload-Offset': '10' }, Buffer.alloc(0))
    expect(empty.status).toBe(204)
    expect(empty.headers.get('upload-offset')).toBe('10')
    expect((await patch({ 'Upload-Offset': '3' }, Buffer.alloc(0))).status).toBe(409)
    expect(await offsetOf(url)).toBe(10)
  })

  it('PATCH past Upload-Length: 413, and the upload keeps only its own bytes', async () => {
    const url = await create(100)
    const over = await tusRequest(
      'PATCH',
      url,
      { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' },
      Buffer.alloc(101, 7),
    )
    expect(over.status).toBe(413)
    expect(await offsetOf(url)).toBe(0)
    // Chunked (no length known up front): stopped at the first chunk that goes past.
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
    socket.write(
      `PATCH ${url} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n` +
        `Transfer-Encoding: chunked\r\n\r\n3c\r\n${'a'.repeat(60)}\r\n`,
    )
    await sleep(100)
    socket.write(`3c\r\n${'b'.repeat(60)}\r\n0\r\n\r\n`)
    await waitFor(() => answer.includes('\r\n\r\n'), 5000, 'the answer')
    socket.destroy()
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer.toLowerCase()).toContain('tus-resumable: 1.0.0')
    await waitFor(async () => (await offsetOf(url)) === 60, 5000, 'the first chunk kept')
  })

  it('two PATCHes at once: the second gets 423 while the first is writing', async () => {
    const url = await create(2 * MiB)
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
    socket.write(
      `PATCH ${url} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n` +
        `Content-Length: ${2 * MiB}\r\n\r\n`,
    )
    socket.write(Buffer.alloc(MiB, 1))
    await waitFor(async () => (await offsetOf(url)) === MiB, 5000, 'the first half')
    const second = await tusRequest(
      'PATCH',
      url,
      { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(MiB) },
      Buffer.alloc(MiB, 2),
    )
    expect(second.status).toBe(423)
    socket.write(Buffer.alloc(MiB, 1))
    await waitFor(() => answer.includes('\r\n\r\n'), 5000, 'the first answer')
    socket.destroy()
    expect(answer).toMatch(/^HTTP\/1\.1 204 /)
    expect(answer.toLowerCase()).toContain(`upload-offset: ${2 * MiB}`)
    expect((await done(url)).bytes.equals(Buffer.alloc(2 * MiB, 1))).toBe(true)
  })

  it('a disk error answers 500 and frees the upload (the next PATCH is not locked out)', async () => {
    const url = await create(MiB)
    const id = url.slice(url.lastIndexOf('/') + 1)
    // Every write to /dev/full fails with ENOSPC.
    fs.rmSync(path.join(tusDir, id))
    fs.symlinkSync('/dev/full', path.join(tusDir, id))
    const patch = (): Promise<Response> =>
      tusRequest(
        'PATCH',
        url,
        { 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': '0' },
        Buffer.alloc(256 * 1024, 3),
      )
    const first = await patch()
    expect(first.status).toBe(500)
    expect(first.headers.get('tus-resumable')).toBe('1.0.0')
    expect((await patch()).status).toBe(500)
    fs.rmSync(path.join(tusDir, id))
    fs.writeFileSync(path.join(tusDir, id), '')
    expect((await patch()).status).toBe(204)
  })

  it('termination: DELETE removes the upload; then 404', async () => {
    const url = await create(50)
    const id = url.slice(url.lastIndexOf('/') + 1)
    expect(fs.existsSync(path.join(tusDir, id))).toBe(true)
    expect((await tusRequest('DELETE', url)).status).toBe(204)
    expect(fs.existsSync(path.join(tusDir, id))).toBe(false)
    expect(fs.existsSync(path.join(tusDir, `${id}.json`))).toBe(false)
    expect((await tusRequest('HEAD', url)).status).toBe(404)
    expect((await tusRequest('DELETE', url)).status).toBe(404)
  })

  it('an upload URL only answers under the path it was created at; other methods get 405', async () => {
    const url = await create(10)
    const id = url.slice(url.lastIndexOf('/') + 1)
    const { responses } = await exchange(
      port,
      `PATCH /other/${id} HTTP/1.1\r\nHost: x\r\nTus-Resumable: 1.0.0\r\n` +
        'Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 3\r\n\r\nabc',
      { responses: 1, timeout: 5000 },
    )
    expect(responses[0]?.status).toBe(404)
    expect(await offsetOf(url)).toBe(0)
    const put = await tusRequest('PUT', url)
    expect(put.status).toBe(405)
    expect(put.headers.get('allow')).toBe('OPTIONS, POST, HEAD, PATCH, DELETE')
  })
})

describe('tus uploads: expiration', () => {
  let server: Server
  let base: string
  let work: string
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-tus-expiry-'))
    server = createServer({
      app: APP,
      workers: 1,
      logHandler: () => {},
      uploads: { dir: work, tus: { expires: 400 } },
    })
    await server.listen(0, '127.0.0.1')
    base = `http://127.0.0.1:${server.port}`
  })
  afterAll(async () => {
    await server.close()
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('says when an upload expires; afterwards it is gone (410 or 404) and its files are removed', async () => {
    const res = await fetch(`${base}/tus/files`, {
      method: 'POST',
      headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' },
    })
    expect(res.status).toBe(201)
    const expires = Date.parse(res.headers.get('upload-expires')!)
    expect(expires).toBeGreaterThan(Date.now() - 1000)
    expect(expires).toBeLessThan(Date.now() + 2000)
    const url = res.headers.get('location')!
    await sleep(600)
    const head = await fetch(base + url, { method: 'HEAD', headers: { 'Tus-Resumable': '1.0.0' } })
    expect([404, 410]).toContain(head.status)
    await waitFor(
      () => fs.readdirSync(path.join(work, 'tus')).length === 0,
      5000,
      'the expired upload removed',
    )
  })
})
