// Where a server listens: TLS (HTTPS and WSS), a unix domain socket, IPv6, and several listeners
// at once — with real clients (curl --cacert / --unix-socket / -6, the ws client over TLS), on
// both transports. The certificate is made for the test by openssl.
import { execFile, execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import WebSocketClient from 'ws'
import { createServer, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)
const run = promisify(execFile)
let dir: string
let key: string
let cert: string

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-listeners-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    ],
    { stdio: 'ignore' },
  )
  key = readFileSync(path.join(dir, 'key.pem'), 'utf8')
  cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function curl(...args: string[]): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', '10', ...args])
  return stdout
}

function echo(url: string, options: WebSocketClient.ClientOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(url, options)
    ws.once('open', () => ws.send('over tls'))
    // (The fixture's /ws says 'welcome' first.)
    ws.on('message', (data) => {
      if (String(data) === 'welcome') return
      resolve(String(data))
      ws.close()
    })
    ws.once('error', reject)
  })
}

describe.each(TRANSPORTS)('listeners (%s transport)', (transport) => {
  let tls: Server
  let many: Server
  let socketPath: string
  beforeAll(async () => {
    tls = createServer({
      app: APP,
      workers: 2,
      transport,
      tls: { key, cert },
      logHandler: () => {},
    })
    await tls.listen([
      { port: 0, host: '127.0.0.1' },
      { port: 0, host: '::1' },
    ])
    socketPath = path.join(dir, `${transport}.sock`)
    many = createServer({ app: APP, workers: 2, transport, logHandler: () => {} })
    await many.listen([
      { port: 0, host: '127.0.0.1' },
      { port: 0, host: '::1' },
      { path: socketPath },
    ])
  })
  afterAll(async () => {
    await Promise.all([tls?.close(), many?.close()])
  })

  it('reports every listener, and the URL of the first', () => {
    expect(many.addresses).toEqual([
      { address: '127.0.0.1', port: expect.any(Number), family: 'IPv4', tls: false },
      { address: '::1', port: expect.any(Number), family: 'IPv6', tls: false },
      { path: socketPath, tls: false },
    ])
    expect(many.url).toBe(`http://127.0.0.1:${many.port}`)
    expect(tls.url).toBe(`https://127.0.0.1:${tls.port}`)
    expect(tls.addresses.every((a) => a.tls)).toBe(true)
  })

  it('curl gets Hello, World! over IPv4, IPv6 and a unix socket, all from one server', async () => {
    const [v4, v6] = many.addresses as unknown as Array<{ port: number }>
    expect(await curl(`http://127.0.0.1:${v4!.port}/`)).toBe('Hello, World!')
    expect(await curl('-6', `http://[::1]:${v6!.port}/`)).toBe('Hello, World!')
    expect(await curl('--unix-socket', socketPath, 'http://localhost/')).toBe('Hello, World!')
  })

  it('curl gets Hello, World! over TLS (IPv4 and IPv6), verifying the certificate', async () => {
    const [v4, v6] = tls.addresses as unknown as Array<{ port: number }>
    const ca = path.join(dir, 'cert.pem')
    expect(await curl('--cacert', ca, `https://localhost:${v4!.port}/`)).toBe('Hello, World!')
    expect(await curl('--cacert', ca, '-6', `https://[::1]:${v6!.port}/`)).toBe('Hello, World!')
  })

  it('a WebSocket over TLS echoes', async () => {
    expect(await echo(`wss://localhost:${tls.port}/ws`, { ca: cert })).toBe('over tls')
  })

  it('a plain-HTTP client on the TLS port costs its connection only', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(tls.port, '127.0.0.1', () =>
        socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n'),
      )
      let got = ''
      socket.on('data', (d) => (got += d.toString('latin1')))
      socket.on('close', () => resolve(got))
      socket.on('error', () => {})
    })
    expect(answer).not.toContain('Hello, World!')
    expect(
      await curl('--cacert', path.join(dir, 'cert.pem'), `https://localhost:${tls.port}/`),
    ).toBe('Hello, World!')
  })

  it('refuses a unix socket path in use, and leaves nothing listening', async () => {
    const other = createServer({ app: APP, workers: 1, transport, logHandler: () => {} })
    const error = await other
      .listen([{ port: 0, host: '127.0.0.1' }, { path: socketPath }])
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MummyError)
    expect((error as MummyError).code).toBe('ERR_MUMMY_LISTEN')
    expect(other.addresses).toEqual([])
    // The server that holds the path still answers on it.
    expect(await curl('--unix-socket', socketPath, 'http://localhost/')).toBe('Hello, World!')
  })

  it('removes its unix socket file on close', async () => {
    const p = path.join(dir, `${transport}-close.sock`)
    const s = createServer({ app: APP, workers: 1, transport, logHandler: () => {} })
    await s.listen({ path: p })
    expect(existsSync(p)).toBe(true)
    await s.close()
    expect(existsSync(p)).toBe(false)
  })
})

describe('listen() and tls arguments', () => {
  it.each([
    [[{ port: -1 }], 'listen() port must be an integer 0…65535, got -1'],
    [
      [{ path: '' }],
      'listen() target { path } needs a non-empty path and nothing else, got an object',
    ],
    [
      [{ port: 0, hots: 'x' }],
      'listen() target has an unknown key hots (a target is { port, host? } or { path })',
    ],
    [[[]], 'listen() needs at least one target'],
    [['8080'], 'listen() port must be an integer 0…65535, got "8080"'],
  ])('refuses %j', async (args, message) => {
    const s = createServer({ app: APP, workers: 1, logHandler: () => {} })
    const error = await (s.listen as (...a: unknown[]) => Promise<void>)(...args).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(MummyError)
    expect((error as MummyError).message).toBe(message)
  })

  it('refuses tls without a key or with unknown fields', () => {
    expect(() => createServer({ app: APP, tls: { cert: 'x' } as never })).toThrow(
      'option tls must be an object { key, cert, ca?, passphrase? } with PEM strings or bytes',
    )
    expect(() =>
      createServer({ app: APP, tls: { key: 'k', cert: 'c', ciphers: 'x' } as never }),
    ).toThrow('option tls must be')
  })

  it.each(TRANSPORTS)(
    'a key that is not PEM fails at listen() with ERR_MUMMY_LISTEN (%s)',
    async (transport) => {
      const s = createServer({
        app: APP,
        workers: 1,
        transport,
        tls: { key: 'nope', cert: 'nope' },
        logHandler: () => {},
      })
      const error = await s.listen(0, '127.0.0.1').catch((e: unknown) => e)
      expect((error as MummyError).code).toBe('ERR_MUMMY_LISTEN')
      expect((error as MummyError).message).toMatch(/^cannot use the tls key and certificate/)
    },
  )
})
