// request.respondFile on both transports, with curl and raw requests: the whole file, HEAD,
// validators and conditional requests, byte ranges (and curl resuming a download), and a
// reader that stops reading a large file.
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { exchange, get, readResponses, sleep, waitFor } from '@mummy/test-kit'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)
const run = promisify(execFile)
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')

describe.each(TRANSPORTS)('respondFile (%s transport)', (transport) => {
  let server: Server
  let port: number
  let work: string
  let file: string
  let data: Buffer
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-file-test-'))
    file = path.join(work, 'data.bin')
    data = randomBytes(5 * 1024 * 1024 + 17)
    fs.writeFileSync(file, data)
    server = createServer({ transport, app: APP, workers: 2, logHandler: () => {} })
    await server.listen(0, '127.0.0.1')
    port = server.port
  })
  afterAll(async () => {
    await server.close()
    fs.rmSync(work, { recursive: true, force: true })
  })

  const target = (p: string, query = ''): string =>
    `/file?path=${encodeURIComponent(p)}${query === '' ? '' : `&${query}`}`
  const ask = async (
    p: string,
    headers: Record<string, string> = {},
    method = 'GET',
    query = '',
  ): Promise<{ status: number; headers: Headers; body: Buffer }> => {
    const res = await fetch(`http://127.0.0.1:${port}${target(p, query)}`, { method, headers })
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) }
  }

  it('sends the whole file with Content-Length, type, validators and Accept-Ranges', async () => {
    const res = await ask(file)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(data.length))
    expect(res.headers.get('transfer-encoding')).toBeNull()
    expect(res.headers.get('content-type')).toBe('application/octet-stream')
    expect(res.headers.get('accept-ranges')).toBe('bytes')
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/)
    expect(res.headers.get('last-modified')).toBe(fs.statSync(file).mtime.toUTCString())
    expect(res.headers.get('cache-control')).toBe('no-cache')
    expect(sha(res.body)).toBe(sha(data))
    const html = path.join(work, 'page.HTML')
    fs.writeFileSync(html, '<p>hi</p>')
    expect((await ask(html)).headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect((await ask(html, {}, 'GET', 'type=text/x-mine')).headers.get('content-type')).toBe(
      'text/x-mine',
    )
  })

  it('HEAD: the same head, no body; the connection is kept', async () => {
    const { responses, closed } = await exchange(
      port,
      `HEAD ${target(file)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      { responses: 1, head: [true], timeout: 2000 },
    )
    expect(responses[0]!.status).toBe(200)
    expect(responses[0]!.headers['content-length']).toBe(String(data.length))
    expect(responses[0]!.body.length).toBe(0)
    expect(closed).toBe(false)
  })

  it('conditional requests: If-None-Match / If-Modified-Since → 304; If-Match / If-Unmodified-Since → 412', async () => {
    const { headers } = await ask(file)
    const etag = headers.get('etag')!
    const modified = headers.get('last-modified')!
    const notModified = await ask(file, { 'If-None-Match': `"nope", ${etag}` })
    expect(notModified.status).toBe(304)
    expect(notModified.body.length).toBe(0)
    expect(notModified.headers.get('etag')).toBe(etag)
    expect((await ask(file, { 'If-None-Match': `W/${etag}` })).status).toBe(304)
    expect((await ask(file, { 'If-None-Match': '*' })).status).toBe(304)
    expect((await ask(file, { 'If-None-Match': '"other"' })).status).toBe(200)
    expect((await ask(file, { 'If-Modified-Since': modified })).status).toBe(304)
    expect((await ask(file, { 'If-Modified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status).toBe(
      200,
    )
    // If-None-Match wins over If-Modified-Since.
    expect(
      (await ask(file, { 'If-None-Match': '"other"', 'If-Modified-Since': modified })).status,
    ).toBe(200)
    expect((await ask(file, { 'If-Match': '"other"' })).status).toBe(412)
    expect((await ask(file, { 'If-Match': `W/${etag}` })).status).toBe(412)
    expect((await ask(file, { 'If-Match': etag })).status).toBe(200)
    expect(
      (await ask(file, { 'If-Unmodified-Since': 'Thu, 01 Jan 1970 00:00:00 GMT' })).status,
    ).toBe(412)
  })

  it('ranges: 206 with Content-Range for one range, the whole file for several, 416 past the end; If-Range', async () => {
    const size = data.length
    const one = await ask(file, { Range: 'bytes=100-199' })
    expect(one.status).toBe(206)
    expect(one.headers.get('content-range')).toBe(`bytes 100-199/${size}`)
    expect(one.headers.get('content-length')).toBe('100')
    expect(one.body.equals(data.subarray(100, 200))).toBe(true)
    const suffix = await ask(file, { Range: 'bytes=-1000' })
    expect(suffix.status).toBe(206)
    expect(suffix.body.equals(data.subarray(size - 1000))).toBe(true)
    const open = await ask(file, { Range: `bytes=${size - 10}-` })
    expect(open.body.equals(data.subarray(size - 10))).toBe(true)
    const clipped = await ask(file, { Range: `bytes=${size - 5}-${size + 1000}` })
    expect(clipped.headers.get('content-range')).toBe(`bytes ${size - 5}-${size - 1}/${size}`)
    const several = await ask(file, { Range: 'bytes=0-0,10-20' })
    expect(several.status).toBe(200)
    expect(several.body.length).toBe(size)
    const past = await ask(file, { Range: `bytes=${size}-` })
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`)
    expect((await ask(file, { Range: 'lines=1-2' })).status).toBe(200)
    expect((await ask(file, { Range: 'bytes=5-1' })).status).toBe(200)
    const etag = one.headers.get('etag')!
    expect((await ask(file, { Range: 'bytes=0-9', 'If-Range': etag })).status).toBe(206)
    expect((await ask(file, { Range: 'bytes=0-9', 'If-Range': '"old"' })).status).toBe(200)
    expect(
      (await ask(file, { Range: 'bytes=0-9', 'If-Range': one.headers.get('last-modified')! }))
        .status,
    ).toBe(206)
    // HEAD ignores Range.
    expect((await ask(file, { Range: 'bytes=0-9' }, 'HEAD')).status).toBe(200)
  })

  it('curl resumes an interrupted download (-C -) and gets the same bytes', async () => {
    const out = path.join(work, 'download.bin')
    fs.writeFileSync(out, data.subarray(0, 1234567))
    await run('curl', ['-s', '-f', '-C', '-', '-o', out, `http://127.0.0.1:${port}${target(file)}`])
    expect(sha(fs.readFileSync(out))).toBe(sha(data))
  })

  it('download: Content-Disposition attachment with the file name (RFC 8187 for non-ASCII)', async () => {
    const named = path.join(work, 'résumé "final".pdf')
    fs.writeFileSync(named, 'pdf')
    const res = await ask(named, {}, 'GET', 'download=true')
    expect(res.headers.get('content-type')).toBe('application/pdf')
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="r_sum_ _final_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf`,
    )
    const plain = await ask(named, {}, 'GET', 'download=report.pdf')
    expect(plain.headers.get('content-disposition')).toBe('attachment; filename="report.pdf"')
  })

  it('precompressed: the .gz beside the file for a client that takes gzip, with its own ETag; Vary either way', async () => {
    const css = path.join(work, 'site.css')
    const text = 'body { color: red }\n'.repeat(500)
    fs.writeFileSync(css, text)
    fs.writeFileSync(`${css}.gz`, gzipSync(text))
    const zipped = await ask(css, { 'Accept-Encoding': 'gzip, br' }, 'GET', 'precompressed')
    // (fetch decodes gzip itself: the body is the text again.)
    expect(zipped.body.toString()).toBe(text)
    expect(zipped.headers.get('content-encoding')).toBe('gzip')
    expect(zipped.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(zipped.headers.get('vary')).toBe('Accept-Encoding')
    expect(zipped.headers.get('etag')).toMatch(/-gzip"$/)
    const plain = await ask(css, { 'Accept-Encoding': 'identity' }, 'GET', 'precompressed')
    expect(plain.body.toString()).toBe(text)
    expect(plain.headers.get('content-encoding')).toBeNull()
    expect(plain.headers.get('content-length')).toBe(String(text.length))
    expect(plain.headers.get('vary')).toBe('Accept-Encoding')
    // Two representations, two tags: one does not validate the other.
    expect(
      (
        await ask(
          css,
          { 'Accept-Encoding': 'gzip', 'If-None-Match': plain.headers.get('etag')! },
          'GET',
          'precompressed',
        )
      ).status,
    ).toBe(200)
    expect(
      (
        await ask(
          css,
          { 'Accept-Encoding': 'gzip', 'If-None-Match': zipped.headers.get('etag')! },
          'GET',
          'precompressed',
        )
      ).status,
    ).toBe(304)
    // The exact bytes on the wire are the .gz file's (a range of them, too).
    const { responses } = await exchange(
      port,
      `GET ${target(css, 'precompressed')} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nRange: bytes=0-9\r\n\r\n`,
      { responses: 1, timeout: 2000 },
    )
    expect(responses[0]!.status).toBe(206)
    expect(responses[0]!.body.equals(fs.readFileSync(`${css}.gz`).subarray(0, 10))).toBe(true)
    // Without the option, or without a .gz, the file as it is.
    expect(
      (await ask(css, { 'Accept-Encoding': 'gzip' })).headers.get('content-encoding'),
    ).toBeNull()
    expect(
      (await ask(file, { 'Accept-Encoding': 'gzip' }, 'GET', 'precompressed')).headers.get(
        'content-encoding',
      ),
    ).toBeNull()
  })

  it('404 for a missing file or a directory; an empty file is a 200 with length 0', async () => {
    expect((await ask(path.join(work, 'missing'))).status).toBe(404)
    expect((await ask(work)).status).toBe(404)
    const empty = path.join(work, 'empty.txt')
    fs.writeFileSync(empty, '')
    const res = await ask(empty)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe('0')
    expect((await ask(empty, { Range: 'bytes=0-' })).status).toBe(416)
  })

  it('keeps under a small maxBackpressure (a write over it would close the connection)', async () => {
    const small = createServer({
      transport,
      app: APP,
      workers: 1,
      logHandler: () => {},
      maxBackpressure: 64 * 1024,
    })
    await small.listen(0, '127.0.0.1')
    try {
      const res = await fetch(`http://127.0.0.1:${small.port}${target(file)}`)
      expect(sha(Buffer.from(await res.arrayBuffer()))).toBe(sha(data))
    } finally {
      await small.close()
    }
  })

  it('a client that stops reading a 96 MiB file holds the worker back, not the memory; then gets it whole', async () => {
    const big = path.join(work, 'big.bin')
    const chunk = randomBytes(1024 * 1024)
    const fd = fs.openSync(big, 'w')
    for (let i = 0; i < 96; i++) fs.writeSync(fd, chunk)
    fs.closeSync(fd)
    const socket = net.connect(port, '127.0.0.1')
    const parts: Buffer[] = []
    let received = 0
    socket.on('data', (d: Buffer) => {
      parts.push(d)
      received += d.length
    })
    socket.write(get(target(big)))
    await waitFor(() => received > 0, 5000, 'the first bytes')
    socket.pause()
    global.gc?.()
    const before = process.memoryUsage().rss
    let peak = before
    for (let i = 0; i < 20; i++) {
      await sleep(50)
      peak = Math.max(peak, process.memoryUsage().rss)
    }
    socket.resume()
    await waitFor(() => received >= 96 * 1024 * 1024, 30_000, 'the whole file')
    socket.destroy()
    const { responses } = readResponses(Buffer.concat(parts))
    expect(responses[0]!.body.length).toBe(96 * 1024 * 1024)
    const hash = createHash('sha256')
    for (let i = 0; i < 96; i++) hash.update(chunk)
    expect(sha(responses[0]!.body)).toBe(hash.digest('hex'))
    console.log(
      `${transport}: RSS growth while a reader of a 96 MiB file paused: ${((peak - before) / 1048576).toFixed(1)} MiB`,
    )
    expect(peak - before).toBeLessThan(48 * 1024 * 1024)
  }, 60_000)
})
