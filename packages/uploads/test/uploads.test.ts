// UploadSink on a real transport (node:net and uWebSockets.js), fed by curl.
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { waitFor } from '@mummy/test-kit'
import {
  NodeTransport,
  type ResponseWriter,
  type Transport,
  type TransportRequest,
} from '@mummy/io-loop'
import { UwsTransport } from '@mummy/uws'
import { UploadSink, resolveUploads, uploadSink } from '../dist/index.js'

const run = promisify(execFile)

describe.each(['node', 'uws'])('UploadSink on the %s transport', (kind) => {
  let transport: Transport
  let port: number
  let work: string
  let dir: string
  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-uploads-pkg-'))
    dir = path.join(work, 'in')
    fs.mkdirSync(dir)
    const settings = resolveUploads({ dir, maxFileSize: 1024 * 1024 })!
    const onRequest = (req: TransportRequest, res: ResponseWriter): void => {
      if (!(req.sink instanceof UploadSink)) {
        res.end(200, [], 'not an upload')
        return
      }
      void req.sink.done.then((upload) => {
        if (upload === null) return // refused: already answered
        const files = upload.files.map((f) => ({
          ...f,
          path: path.dirname(f.path),
          sha256: createHash('sha256').update(fs.readFileSync(f.path)).digest('hex'),
        }))
        res.end(
          200,
          ['Content-Type', 'application/json'],
          JSON.stringify({ files, fields: upload.fields }),
        )
      })
    }
    const options = {
      maxStreamedBodyLen: settings.maxSize,
      onBodyStart: (
        head: { headers: readonly string[] },
        res: ResponseWriter,
        control: { pause(): void; resume(): void },
      ) => uploadSink(head.headers, settings, res, control),
      onRequest,
    }
    transport = kind === 'uws' ? new UwsTransport(options) : new NodeTransport(options)
    port = await transport.listen(0, '127.0.0.1')
  })
  afterAll(async () => {
    await transport.close(500)
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('writes the files to the folder and reports them with the fields', async () => {
    const file = path.join(work, 'a.bin')
    const bytes = randomBytes(300_000)
    fs.writeFileSync(file, bytes)
    const { stdout } = await run('curl', [
      '-sS',
      '-F',
      'note=hi',
      '-F',
      `data=@${file};filename=a.bin`,
      `http://127.0.0.1:${port}/`,
    ])
    const result = JSON.parse(stdout) as {
      files: { field: string; filename: string; size: number; path: string; sha256: string }[]
      fields: [string, string][]
    }
    expect(result.fields).toEqual([['note', 'hi']])
    expect(result.files).toMatchObject([
      { field: 'data', filename: 'a.bin', size: 300_000, path: dir },
    ])
    expect(result.files[0]!.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    // The sink does not delete files itself: that is its user's decision (the server deletes
    // them when the handler is done).
    expect(fs.readdirSync(dir)).toHaveLength(1)
    for (const f of fs.readdirSync(dir)) fs.unlinkSync(path.join(dir, f))
  })

  it('answers 413 for a file over maxFileSize and deletes what it wrote', async () => {
    const file = path.join(work, 'big.bin')
    fs.writeFileSync(file, Buffer.alloc(3 * 1024 * 1024))
    const { stdout } = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-F',
      `f=@${file}`,
      `http://127.0.0.1:${port}/`,
    ]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
    expect(stdout).toBe('413')
    await waitFor(() => fs.readdirSync(dir).length === 0, 5000, 'the partial file deleted')
  })
})
