import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { exchange, pushBody, waitFor } from '@mummy/test-kit'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)
const run = promisify(execFile)

/** curl with its output; `-w` appends the status on the last line. */
async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run(
    'curl',
    ['-sS', '--max-time', '60', '-w', '\n%{http_code}', ...args],
    {
      maxBuffer: 16 * 1024 * 1024,
    },
  )
  const at = stdout.lastIndexOf('\n')
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) }
}

const sha256 = (file: string): string =>
  createHash('sha256').update(fs.readFileSync(file)).digest('hex')

describe.each(TRANSPORTS)('uploads (%s transport)', (transport) => {
  let server: Server
  let base: string
  let dir: string
  let work: string
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-upload-test-'))
    dir = path.join(work, 'incoming')
    server = createServer({
      transport,
      app: APP,
      workers: 2,
      logHandler: () => {},
      uploads: {
        dir,
        maxFileSize: 64 * 1024 * 1024,
        maxSize: 300 * 1024 * 1024,
        maxParts: 10,
        maxFieldsSize: 1024,
        raw: ['application/octet-stream', 'image/*'],
      },
    })
    await server.listen(0, '127.0.0.1')
    base = `http://127.0.0.1:${server.port}`
  })
  afterAll(async () => {
    await server.close()
    fs.rmSync(work, { recursive: true, force: true })
  })

  const dirEmpty = (): boolean => fs.readdirSync(dir).length === 0

  it('serves uploads one after another on one keep-alive connection (also when the disk was behind at the end)', async () => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1')
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')))
    for (let i = 1; i <= 3; i++) {
      const file = randomBytes(12 * 1024 * 1024)
      const head = `--BB\r\nContent-Disposition: form-data; name="f"; filename="${i}.bin"\r\n\r\n`
      const body = Buffer.concat([Buffer.from(head), file, Buffer.from('\r\n--BB--\r\n')])
      socket.write(
        'POST /upload/sizes HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\n' +
          `Content-Length: ${body.length}\r\n\r\n`,
      )
      socket.write(body)
      await waitFor(
        () =>
          (answer.match(/HTTP\/1\.1 200/g) ?? []).length === i &&
          answer.endsWith(String(file.length)),
        15_000,
        `answer ${i}`,
      )
    }
    socket.destroy()
  }, 60_000)

  it('streams files to disk: the handler gets paths, sizes and fields; the files are gone after', async () => {
    const file = path.join(work, 'random.bin')
    fs.writeFileSync(file, randomBytes(20 * 1024 * 1024))
    const { status, body } = await curl([
      '-F',
      'title=Holiday photos',
      '-F',
      'tag=a',
      '-F',
      'tag=b',
      '-F',
      `photo=@${file};type=image/jpeg;filename=beach.jpg`,
      '-F',
      `notes=@${path.join(work, 'random.bin')};filename=copy.bin`,
      `${base}/upload/inspect`,
    ])
    expect(status).toBe(200)
    const result = JSON.parse(body) as {
      files: {
        field: string
        filename: string
        contentType: string
        size: number
        sha256: string
        inDir: string
      }[]
      fields: [string, string][]
      body: number
    }
    expect(result.fields).toEqual([
      ['title', 'Holiday photos'],
      ['tag', 'a'],
      ['tag', 'b'],
    ])
    expect(result.body).toBe(0)
    const hash = sha256(file)
    expect(result.files).toEqual([
      {
        field: 'photo',
        filename: 'beach.jpg',
        contentType: 'image/jpeg',
        size: 20 * 1024 * 1024,
        sha256: hash,
        inDir: dir,
      },
      {
        field: 'notes',
        filename: 'copy.bin',
        contentType: 'application/octet-stream',
        size: 20 * 1024 * 1024,
        sha256: hash,
        inDir: dir,
      },
    ])
    await waitFor(dirEmpty, 5000, 'the uploaded files to be deleted')
  })

  it('a handler keeps a file by moving it', async () => {
    const file = path.join(work, 'keep.txt')
    fs.writeFileSync(file, 'keep me\n')
    const name = `mummy-kept-${randomBytes(4).toString('hex')}.txt`
    const { status, body } = await curl(['-F', `doc=@${file}`, `${base}/upload/keep/${name}`])
    expect(status).toBe(200)
    expect(fs.readFileSync(body, 'utf8')).toBe('keep me\n')
    fs.unlinkSync(body)
    await waitFor(dirEmpty, 5000, 'nothing left behind')
  })

  it('streams 180 MiB (3 files of 60 MiB) with bounded memory', async () => {
    const file = path.join(work, 'big.bin')
    const fd = fs.openSync(file, 'w')
    const block = Buffer.alloc(1024 * 1024, 0x5a)
    for (let i = 0; i < 60; i++) fs.writeSync(fd, block)
    fs.closeSync(fd)
    const rss0 = process.memoryUsage().rss
    let peak = rss0
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    const { status, body } = await curl([
      '-F',
      `a=@${file}`,
      '-F',
      `b=@${file}`,
      '-F',
      `c=@${file}`,
      `${base}/upload/sizes`,
    ])
    clearInterval(sampler)
    expect(status).toBe(200)
    expect(body).toBe(
      Array(3)
        .fill(60 * 1024 * 1024)
        .join(','),
    )
    const grown = (peak - rss0) / 1024 / 1024
    console.log(`${transport}: peak RSS growth during a 180 MiB upload: ${grown.toFixed(1)} MiB`)
    expect(grown).toBeLessThan(64)
    fs.unlinkSync(file)
    await waitFor(dirEmpty, 5000, 'the upload deleted')
  }, 60_000)

  it('answers 413 for a file over maxFileSize, deletes what it wrote, keeps serving', async () => {
    const file = path.join(work, 'too-big.bin')
    fs.writeFileSync(file, Buffer.alloc(70 * 1024 * 1024))
    const { status } = await curl(['-F', `f=@${file}`, `${base}/upload/inspect`]).catch(
      (error: { stdout?: string }) => ({
        status: Number((error.stdout ?? '').trim().split('\n').pop()),
        body: '',
      }),
    )
    expect(status).toBe(413)
    fs.unlinkSync(file)
    await waitFor(dirEmpty, 5000, 'the partial file deleted')
    expect((await curl([`${base}/fast`])).body).toBe('fast')
  }, 60_000)

  it('answers 413 for fields over maxFieldsSize and for too many parts; 400 for a malformed body', async () => {
    expect((await curl(['-F', `big=${'x'.repeat(2000)}`, `${base}/upload/inspect`])).status).toBe(
      413,
    )
    const many = Array.from({ length: 11 }, (_, i) => ['-F', `f${i}=v`]).flat()
    expect((await curl([...many, `${base}/upload/inspect`])).status).toBe(413)
    const bad =
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 12\r\n\r\n--XXjunk\r\n\r\n'
    const { responses } = await exchange(Number(new URL(base).port), bad, {
      responses: 1,
      timeout: 5000,
    })
    expect(responses[0]?.status).toBe(400)
    const noBoundary =
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 4\r\n\r\nabcd'
    const second = await exchange(Number(new URL(base).port), noBoundary, {
      responses: 1,
      timeout: 5000,
    })
    expect(second.responses[0]?.status).toBe(400)
    await waitFor(dirEmpty, 5000, 'nothing left behind')
  })

  it('answers 413 for a body over maxSize: declared (nothing written) or chunked (what was written is deleted)', async () => {
    const port = Number(new URL(base).port)
    const declared = await exchange(
      port,
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\n' +
        `Content-Length: ${400 * 1024 * 1024}\r\n\r\n`,
      { responses: 1, timeout: 5000 },
    )
    expect(declared.responses[0]?.status).toBe(413)
    // Chunked: the limit is met on the way, after a file was started; the client goes on
    // sending until it sees the answer (or has sent 80 MiB).
    const start = '--BB\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n'
    const pushed = await pushBody(
      port,
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\n' +
        `Transfer-Encoding: chunked\r\n\r\n${start.length.toString(16)}\r\n${start}\r\n`,
      { chunked: true, piece: Buffer.alloc(4 * 1024 * 1024, 0x41), pieces: 20, timeout: 10_000 },
    )
    expect(pushed.error).toBeNull()
    expect(pushed.answer).toMatch(/^HTTP\/1\.1 413 /)
    await waitFor(dirEmpty, 10_000, 'the partial file deleted')
  }, 60_000)

  it('raw uploads: a body of a listed media type goes to disk whole as request.files[0], named by Content-Disposition', async () => {
    const file = path.join(work, 'raw.bin')
    fs.writeFileSync(file, randomBytes(9 * 1024 * 1024 + 7))
    const { status, body } = await curl([
      '-H',
      'Content-Type: application/octet-stream',
      '-H',
      `Content-Disposition: attachment; filename*=UTF-8''${encodeURIComponent('naïve.bin')}`,
      '--data-binary',
      `@${file}`,
      `${base}/upload/inspect`,
    ])
    expect(status).toBe(200)
    const result = JSON.parse(body) as {
      files: {
        field: string
        filename: string
        contentType: string
        size: number
        sha256: string
      }[]
      body: number
    }
    expect(result.body).toBe(0)
    expect(result.files).toEqual([
      {
        field: '',
        filename: 'naïve.bin',
        contentType: 'application/octet-stream',
        size: 9 * 1024 * 1024 + 7,
        sha256: sha256(file),
        inDir: dir,
      },
    ])
    // A wildcard type, parameters and all; no Content-Disposition: no name.
    const png = await curl([
      '-H',
      'Content-Type: image/png; foo=bar',
      '--data-binary',
      'not really a png',
      `${base}/upload/inspect`,
    ])
    expect(JSON.parse(png.body)).toMatchObject({
      files: [{ field: '', filename: '', contentType: 'image/png; foo=bar', size: 16 }],
      body: 0,
    })
    await waitFor(dirEmpty, 5000, 'the files deleted after the handler')
  })

  it('raw uploads: over maxFileSize answers 413, declared (nothing written) or streamed (what was written is deleted)', async () => {
    const port = Number(new URL(base).port)
    const declared = await exchange(
      port,
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n' +
        `Content-Length: ${100 * 1024 * 1024}\r\n\r\n`,
      { responses: 1, timeout: 5000 },
    )
    expect(declared.responses[0]?.status).toBe(413)
    const pushed = await pushBody(
      port,
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: video/mp4\r\nTransfer-Encoding: chunked\r\n\r\n',
      { chunked: true, piece: Buffer.alloc(4 * 1024 * 1024, 0x42), pieces: 20, timeout: 10_000 },
    )
    expect(pushed.error).toBeNull()
    // video/* is not listed: that body stays in memory, so maxBodyLen (1 MiB here) refuses it.
    expect(pushed.answer).toMatch(/^HTTP\/1\.1 413 /)
    const image = await pushBody(
      port,
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n',
      { chunked: true, piece: Buffer.alloc(4 * 1024 * 1024, 0x42), pieces: 20, timeout: 10_000 },
    )
    expect(image.error).toBeNull()
    expect(image.answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(image.answer).toContain('exceeds 67108864 bytes')
    await waitFor(dirEmpty, 10_000, 'the partial file deleted')
  }, 60_000)

  it('leaves other bodies alone: a JSON POST is a body, still limited by maxBodyLen', async () => {
    const { status, body } = await curl([
      '-H',
      'Content-Type: application/json',
      '--data-binary',
      '{"a":1}',
      `${base}/echo`,
    ])
    expect(status).toBe(200)
    expect(body).toBe('{"a":1}')
    const tooBig = await curl([
      '-H',
      'Content-Type: text/plain',
      '--data-binary',
      `@${writeBig(work)}`,
      `${base}/echo`,
    ]).catch((error: { stdout?: string }) => ({
      status: Number((error.stdout ?? '').trim().split('\n').pop()),
      body: '',
    }))
    expect(tooBig.status).toBe(413)
  })

  it('a client that leaves mid-upload: its partial file is deleted', async () => {
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1')
    socket.on('error', () => {})
    socket.write(
      'POST /upload/inspect HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=BB\r\n' +
        'Content-Length: 10000000\r\n\r\n--BB\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n',
    )
    socket.write(Buffer.alloc(1024 * 1024, 1))
    await waitFor(() => fs.readdirSync(dir).length === 1, 5000, 'the file to be started')
    socket.destroy()
    await waitFor(dirEmpty, 10_000, 'the partial file deleted')
  })
})

function writeBig(work: string): string {
  const file = path.join(work, 'body.txt')
  fs.writeFileSync(file, Buffer.alloc(2 * 1024 * 1024, 0x61))
  return file
}

describe('uploads with handlers inline (workers: 0)', () => {
  it('streams to disk, runs the handler on the IO thread, deletes the file after', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-upload-inline-'))
    const dir = path.join(work, 'in')
    const server = createServer({ app: APP, workers: 0, logHandler: () => {}, uploads: { dir } })
    await server.listen(0, '127.0.0.1')
    try {
      const file = path.join(work, 'a.txt')
      fs.writeFileSync(file, 'inline upload')
      const { status, body } = await curl([
        '-F',
        'who=me',
        '-F',
        `doc=@${file}`,
        `http://127.0.0.1:${server.port}/upload/inspect`,
      ])
      expect(status).toBe(200)
      const result = JSON.parse(body) as { files: { size: number }[]; fields: [string, string][] }
      expect(result.files.map((f) => f.size)).toEqual([13])
      expect(result.fields).toEqual([['who', 'me']])
      await waitFor(() => fs.readdirSync(dir).length === 0, 5000, 'the file deleted')
    } finally {
      await server.close()
      fs.rmSync(work, { recursive: true, force: true })
    }
  })
})
