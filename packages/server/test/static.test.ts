// serveStatic with real files and curl, on both transports: media types from mime-types, an
// index file for folders and a redirect to the folder's URL, conditional requests and ranges
// through respondFile, and nothing a folder should keep: parents, dotfiles, symbolic links
// leading out, encoded tricks.
import { execFile } from 'node:child_process'
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createServer, serveStatic, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const run = promisify(execFile)
let dir: string
let root: string

beforeAll(() => {
  // (The app module finds the folder by the process id: jest's process.env is not the workers'.)
  dir = path.join(os.tmpdir(), `mummy-static-${process.pid}`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir)
  root = path.join(dir, 'public')
  mkdirSync(path.join(root, 'docs', 'empty'), { recursive: true })
  writeFileSync(path.join(root, 'index.html'), '<h1>home</h1>')
  writeFileSync(path.join(root, 'docs', 'index.html'), '<h1>docs</h1>')
  writeFileSync(path.join(root, 'app.webmanifest'), '{}')
  writeFileSync(path.join(root, 'style.css'), 'body{}')
  writeFileSync(path.join(root, 'mod.wasm'), Buffer.from([0, 97, 115, 109]))
  writeFileSync(path.join(root, 'notes.md'), '# notes\n')
  writeFileSync(path.join(root, 'blob.unknownext'), 'x')
  writeFileSync(path.join(root, 'a b.txt'), 'spaced')
  writeFileSync(path.join(root, '.env'), 'SECRET=1')
  mkdirSync(path.join(root, '.git'))
  writeFileSync(path.join(root, '.git', 'config'), '[core]')
  writeFileSync(path.join(dir, 'outside.txt'), 'secret outside')
  symlinkSync(path.join(dir, 'outside.txt'), path.join(root, 'leak.txt'))
  symlinkSync(dir, path.join(root, 'up'))
  symlinkSync(path.join(root, 'style.css'), path.join(root, 'inside-link.css'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function curl(...args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await run('curl', ['-s', '-i', '--path-as-is', ...args])
  const split = stdout.indexOf('\r\n\r\n')
  const headers = stdout.slice(0, split)
  return { status: Number(headers.split(' ')[1]), headers, body: stdout.slice(split + 4) }
}
const header = (headers: string, name: string): string | undefined =>
  new RegExp(`^${name}: (.*)\\r?$`, 'im').exec(headers)?.[1]

describe.each(TRANSPORTS)('serveStatic (%s transport)', (transport) => {
  let server: Server
  let base: string
  beforeAll(async () => {
    server = createServer({
      app: new URL('./fixtures/static-app.js', import.meta.url),
      workers: 2,
      transport,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
    base = `http://127.0.0.1:${server.port}`
  })
  afterAll(() => server.close())

  it('media types come from mime-types; the options headers are added', async () => {
    for (const [file, type] of [
      ['style.css', 'text/css; charset=utf-8'],
      ['app.webmanifest', 'application/manifest+json; charset=utf-8'],
      ['mod.wasm', 'application/wasm'],
      ['notes.md', 'text/markdown; charset=utf-8'],
      ['blob.unknownext', 'application/octet-stream'],
    ]) {
      const a = await curl(`${base}/files/${file}`)
      expect([file, a.status, header(a.headers, 'content-type')]).toEqual([file, 200, type])
      expect(header(a.headers, 'x-static')).toBe('1')
    }
    expect((await curl(`${base}/files/a%20b.txt`)).body).toBe('spaced')
  })

  it('a folder: its index file; without the final slash, a 301 to it (query kept)', async () => {
    expect((await curl(`${base}/files/`)).body).toBe('<h1>home</h1>')
    expect((await curl(`${base}/files/docs/`)).body).toBe('<h1>docs</h1>')
    const moved = await curl(`${base}/files/docs?x=1`)
    expect(moved.status).toBe(301)
    expect(header(moved.headers, 'location')).toBe('/files/docs/?x=1')
    expect((await curl(`${base}/files/docs/empty/`)).status).toBe(404)
  })

  it('conditional requests and ranges work through respondFile', async () => {
    const first = await curl(`${base}/files/notes.md`)
    const etag = header(first.headers, 'etag')!
    expect((await curl('-H', `If-None-Match: ${etag}`, `${base}/files/notes.md`)).status).toBe(304)
    const part = await curl('-r', '2-6', `${base}/files/notes.md`)
    expect([part.status, part.body]).toEqual([206, 'notes'])
  })

  it('keeps what a folder should keep: parents, dotfiles, links leading out, encoded tricks', async () => {
    for (const sneaky of [
      '/files/../outside.txt',
      '/files/%2e%2e/outside.txt',
      '/files/..%2foutside.txt',
      '/files/docs/..%2f..%2foutside.txt',
      '/files/.env',
      '/files/%2eenv',
      '/files/.git/config',
      '/files/docs/../.git/config',
      '/files/leak.txt',
      '/files/up/outside.txt',
      '/files/%00.css',
      '/files/..%5coutside.txt',
      '/filesx/style.css',
    ])
      expect([sneaky, (await curl(`${base}${sneaky}`)).status]).toEqual([sneaky, 404])
    // A link that stays inside is served.
    expect((await curl(`${base}/files/inside-link.css`)).body).toBe('body{}')
  })

  it('dotfiles: allow serves them; index: false answers a folder 404', async () => {
    expect((await curl(`${base}/dots/.env`)).body).toBe('SECRET=1')
    expect((await curl(`${base}/dots/docs/`)).status).toBe(404)
  })

  it('only GET and HEAD: others get 405 with Allow', async () => {
    const post = await curl('-X', 'POST', `${base}/files/style.css`)
    expect([post.status, header(post.headers, 'allow')]).toEqual([405, 'GET, HEAD'])
    const head = await curl('-I', `${base}/files/style.css`)
    expect([head.status, header(head.headers, 'content-length')]).toEqual([200, '6'])
  })
})

describe('serveStatic arguments', () => {
  it('refuses a root that is not a folder', () => {
    expect(() => serveStatic(path.join(root, 'style.css'))).toThrow(
      'serveStatic root must be a folder',
    )
    expect(() => serveStatic(path.join(dir, 'nope'))).toThrow('serveStatic root must be a folder')
  })
})
