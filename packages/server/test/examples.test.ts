// The runnable examples and the seed ports, run as real processes and asked with real clients.
import { afterEach, describe, expect, it } from '@jest/globals'
import { sleep, waitFor } from '@mummy/test-kit'
import WebSocketClient from 'ws'
import { spawn, type ChildProcess } from 'node:child_process'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'

const run = promisify(execFile)
const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url))
const children: ChildProcess[] = []

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null) {
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  }
})

async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise((resolve) => srv.close(resolve))
  return port
}

async function startExample(
  file: string,
  env: Record<string, string> = {},
): Promise<{ port: number; output: () => string }> {
  const port = await freePort()
  let output = ''
  const child = spawn(process.execPath, [path.join(EXAMPLES, file)], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  children.push(child)
  const until = Date.now() + 15_000
  for (;;) {
    try {
      await fetch(`http://127.0.0.1:${port}/`)
      break
    } catch {
      if (child.exitCode !== null) throw new Error(`${file} exited: ${output}`)
      if (Date.now() > until) throw new Error(`${file} did not start: ${output}`)
      await sleep(50)
    }
  }
  return { port, output: () => output }
}

async function curl(args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-s', '--max-time', '5', ...args])
  return stdout
}

describe('examples', () => {
  it('every example that prints its URL prints the one it listens on, once', async () => {
    const printing = [
      'backpressure.js',
      'basic_router.js',
      'basic_websockets.js',
      'broadcast.js',
      'chat.js',
      'sqlite.js',
      'sse.js',
      'static.js',
      'streaming.js',
      'tus.js',
      'uploads.js',
      'uws_transport.js',
    ]
    for (const file of printing) {
      const { port, output } = await startExample(file)
      const until = Date.now() + 5000
      while (!/localhost:\d+/.test(output()) && Date.now() < until) await sleep(20)
      await sleep(200) // (a worker that printed too would have done so by now)
      const printed = [...output().matchAll(/http:\/\/localhost:(\d+)/g)].map((m) => Number(m[1]))
      expect([file, printed]).toEqual([file, [port]])
    }
  }, 60_000)

  it('basic_router.js (the seed Router example) answers Hello, World! and prints once', async () => {
    const { port, output } = await startExample('basic_router.js')
    expect(await curl([`http://127.0.0.1:${port}/`])).toBe('Hello, World!')
    expect(
      await curl(['-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/nope`]),
    ).toBe('404')
    expect(output().match(/Serving on/g)).toHaveLength(1)
  })

  it('basic.js (the seed switch-on-uri example): 200, 405, 404', async () => {
    const { port } = await startExample('basic.js')
    expect(await curl([`http://127.0.0.1:${port}/`])).toBe('Hello, World!')
    expect(
      await curl([
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-X',
        'POST',
        `http://127.0.0.1:${port}/`,
      ]),
    ).toBe('405')
    expect(
      await curl(['-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/other`]),
    ).toBe('404')
  })

  it('path_params.js, query_params.js, redirect.js, custom_404.js, echo_headers.js', async () => {
    const a = await startExample('path_params.js')
    expect(await curl([`http://127.0.0.1:${a.port}/users/42/posts/hello`])).toBe(
      'user 42, post hello\n',
    )
    const b = await startExample('query_params.js')
    expect(JSON.parse(await curl([`http://127.0.0.1:${b.port}/search?q=mummy&page=2`]))).toEqual({
      q: 'mummy',
      page: 2,
    })
    const c = await startExample('redirect.js')
    expect(await curl(['-L', `http://127.0.0.1:${c.port}/old`])).toBe('you made it\n')
    const d = await startExample('custom_404.js')
    expect(await curl([`http://127.0.0.1:${d.port}/nope`])).toBe('<h1>Nothing at /nope</h1>')
    expect(
      await curl([
        '-s',
        '-D',
        '-',
        '-o',
        '/dev/null',
        '-X',
        'DELETE',
        `http://127.0.0.1:${d.port}/`,
      ]),
    ).toMatch(/^Allow: GET, HEAD\r$/m)
    const e = await startExample('echo_headers.js')
    const echoed = JSON.parse(
      await curl(['-H', 'X-Demo: 1', `http://127.0.0.1:${e.port}/a/b`]),
    ) as { headers: [string, string][] }
    expect(echoed.headers).toContainEqual(['x-demo', '1'])
  })

  it('blocking.js: /fast answers while /slow burns CPU on three workers', async () => {
    const { port } = await startExample('blocking.js')
    // (1.5 s rather than the default 200 ms: a loaded CI machine may take a while to run curl.)
    const slow = Promise.all(
      Array.from({ length: 3 }, () =>
        curl([`http://127.0.0.1:${port}/slow?ms=1500`]).then(() => Date.now()),
      ),
    )
    await sleep(30)
    const fastAt = await curl([`http://127.0.0.1:${port}/fast`]).then(() => Date.now())
    expect(fastAt).toBeLessThan(Math.min(...(await slow)))
  })

  it('sqlite.js: notes are written and read through a synchronous driver on the workers', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-notes-'))
    try {
      const { port } = await startExample('sqlite.js', { NOTES_DB: path.join(dir, 'notes.db') })
      for (let i = 0; i < 10; i++) await curl(['-d', `note ${i}`, `http://127.0.0.1:${port}/notes`])
      const notes = JSON.parse(await curl([`http://127.0.0.1:${port}/notes`])) as { text: string }[]
      expect(notes.map((n) => n.text)).toEqual(
        Array.from({ length: 10 }, (_, i) => `note ${9 - i}`),
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('uws_transport.js: the same handlers on uWebSockets.js (HTTP and a WebSocket echo)', async () => {
    const { port, output } = await startExample('uws_transport.js')
    expect(await curl([`http://127.0.0.1:${port}/`])).toBe('Hello, World!')
    await waitFor(() => /\(uws transport\)/.test(output()), 5000, 'the transport line')
    const ws = new WebSocketClient(`ws://127.0.0.1:${port}/ws`)
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))))
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send('over uWebSockets.js')
    expect(await echoed).toBe('over uWebSockets.js')
    ws.close()
  })

  it('streaming.js: curl receives the lines as they are written, and a 16 MiB download whole', async () => {
    const { port } = await startExample('streaming.js')
    const t0 = Date.now()
    // -N: no buffering in curl; each line is a chunk of its own.
    const lines = await curl(['-N', `http://127.0.0.1:${port}/count?n=4&delay=100`])
    expect(lines).toBe('1\n2\n3\n4\ndone\n')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300) // it really waited between pieces
    const head = await curl([
      '-sS',
      '-D',
      '-',
      '-o',
      '/dev/null',
      `http://127.0.0.1:${port}/download/16`,
    ])
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked')
    const size = await curl([
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{size_download}',
      `http://127.0.0.1:${port}/download/16`,
    ])
    expect(Number(size)).toBe(16 * 1024 * 1024)
  })

  it('sse.js: curl gets the welcome, ticks with ids, and a message posted in a worker; the close is logged', async () => {
    const { port, output } = await startExample('sse.js', { TICK_MS: '100' })
    const events = run('curl', [
      '-sN',
      '--max-time',
      '2.5',
      `http://127.0.0.1:${port}/events`,
    ]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
    // (Under CI load the stream may take a while to subscribe: post well after it has.)
    await sleep(1000)
    expect(await curl(['-d', 'hello board', `http://127.0.0.1:${port}/say`])).toBe('published\n')
    const { stdout } = await events
    expect(stdout).toContain('data: welcome (last event: none)\n\n')
    expect(stdout).toMatch(/event: tick\nid: \d+\ndata: \d{4}-\d\d-\d\dT/)
    expect(stdout).toContain('data: hello board\n\n')
    await waitFor(() => /stream \d+: close/.test(output()), 5000, 'the sseHandler log line')
  })

  it('uploads.js: curl -F sends a file and a field; the file is kept where the handler moved it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-example-uploads-'))
    try {
      const { port } = await startExample('uploads.js', { UPLOADS_DIR: dir })
      const source = path.join(dir, 'source.txt')
      writeFileSync(source, 'x'.repeat(100_000))
      const reply = JSON.parse(
        await curl([
          '-F',
          'title=notes',
          '-F',
          `file=@${source};type=text/plain`,
          `http://127.0.0.1:${port}/upload`,
        ]),
      ) as { title: string; saved: { name: string; size: number; type: string }[] }
      expect(reply.title).toBe('notes')
      expect(reply.saved).toHaveLength(1)
      expect(reply.saved[0]).toMatchObject({ size: 100_000, type: 'text/plain' })
      expect(readFileSync(path.join(dir, reply.saved[0]!.name), 'utf8')).toBe('x'.repeat(100_000))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('static.js: a file with validators and ranges, a 304 on revalidation, the .gz for gzip, nothing outside its folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-example-static-'))
    try {
      writeFileSync(path.join(dir, 'hello.txt'), 'hello, static world\n')
      writeFileSync(path.join(dir, 'app.js'), 'console.log(1)\n'.repeat(100))
      writeFileSync(path.join(dir, 'app.js.gz'), gzipSync('console.log(1)\n'.repeat(100)))
      writeFileSync(path.join(os.tmpdir(), 'mummy-outside.txt'), 'secret')
      writeFileSync(path.join(dir, '.env'), 'SECRET=1\n')
      mkdirSync(path.join(dir, '.git'))
      writeFileSync(path.join(dir, '.git', 'config'), '[core]\n')
      const { port } = await startExample('static.js', { STATIC_DIR: dir })
      const base = `http://127.0.0.1:${port}/static`
      const head = await curl(['-i', `${base}/hello.txt`])
      expect(head).toMatch(/^HTTP\/1\.1 200 /)
      expect(head).toMatch(/^content-length: 20\r$/im)
      expect(head).toMatch(/^content-type: text\/plain; charset=utf-8\r$/im)
      const etag = /^etag: (\S+)\r$/im.exec(head)![1]!
      expect(
        await curl([
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-H',
          `If-None-Match: ${etag}`,
          `${base}/hello.txt`,
        ]),
      ).toBe('304')
      expect(await curl(['-r', '0-4', `${base}/hello.txt`])).toBe('hello')
      const zipped = await curl(['-i', '--compressed', `${base}/app.js`])
      expect(zipped).toMatch(/^content-encoding: gzip\r$/im)
      expect(zipped.endsWith('console.log(1)\n'.repeat(100))).toBe(true)
      for (const sneaky of [
        '/../mummy-outside.txt',
        '/%2e%2e/mummy-outside.txt',
        '/..%2fmummy-outside.txt',
        '/.env',
        '/.git/config',
        '/%2egit/config',
      ])
        expect(
          await curl([
            '-s',
            '--path-as-is',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            `${base}${sneaky}`,
          ]),
        ).toBe('404')
    } finally {
      rmSync(dir, { recursive: true, force: true })
      rmSync(path.join(os.tmpdir(), 'mummy-outside.txt'), { force: true })
    }
  })

  it('tus.js: the curl commands in its header create and fill an upload; the finished file is kept', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-example-tus-'))
    try {
      const { port } = await startExample('tus.js', { UPLOADS_DIR: dir, UPLOAD_TOKEN: 'sesame' })
      const endpoint = `http://127.0.0.1:${port}/files`
      const tusHeaders = ['-H', 'Tus-Resumable: 1.0.0', '-H', 'Authorization: Bearer sesame']
      const denied = await curl(['-i', '-X', 'POST', endpoint, '-H', 'Upload-Length: 5'])
      expect(denied).toMatch(/^HTTP\/1\.1 401 /)
      const created = await curl([
        '-i',
        '-X',
        'POST',
        endpoint,
        ...tusHeaders,
        '-H',
        'Upload-Length: 5',
        '-H',
        `Upload-Metadata: filename ${Buffer.from('../greeting.txt').toString('base64')}`,
      ])
      expect(created).toMatch(/^HTTP\/1\.1 201 /)
      expect(created).toMatch(/access-control-expose-headers: Location/i)
      const location = /^location: (\S+)/im.exec(created)![1]!
      const patched = await curl([
        '-i',
        '-X',
        'PATCH',
        `http://127.0.0.1:${port}${location}`,
        ...tusHeaders,
        '-H',
        'Upload-Offset: 0',
        '-H',
        'Content-Type: application/offset+octet-stream',
        '--data-binary',
        'hello',
      ])
      expect(patched).toMatch(/^HTTP\/1\.1 204 /)
      expect(patched).toMatch(/^upload-offset: 5\r$/im)
      const id = location.slice(location.lastIndexOf('/') + 1)
      const kept = path.join(dir, `${id}-greeting.txt`)
      await waitFor(() => existsSync(kept), 5000, 'the finished file')
      expect(readFileSync(kept, 'utf8')).toBe('hello')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it.each(['node', 'uws'])(
    'close() under load lets the process exit on its own (%s transport)',
    async (transport) => {
      const script = fileURLToPath(new URL('./fixtures/close-exits.js', import.meta.url))
      const t0 = Date.now()
      const { stdout } = await run(process.execPath, [script], {
        timeout: 20_000,
        env: { ...process.env, TRANSPORT: transport },
      })
      const result = JSON.parse(stdout) as { ok: number; total: number }
      // Requests accepted before close() were answered; the rest were refused, none hung.
      expect(result.ok).toBeGreaterThan(0)
      expect(result.total).toBe(50)
      expect(Date.now() - t0).toBeLessThan(20_000)
    },
  )
})
