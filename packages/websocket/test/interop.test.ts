// Interoperability with the `ws` client: a plain node:net echo server built only from this
// package's pieces (handshake helpers, FrameReceiver, encoders, PerMessageDeflate), and a real
// `ws` client talking to it over loopback.
import { afterEach, describe, expect, it } from '@jest/globals'
import net from 'node:net'
import WebSocket from 'ws'
import {
  FrameReceiver,
  Opcode,
  PerMessageDeflate,
  acceptKey,
  buildUpgradeResponse,
  checkUpgradeRequest,
  chooseSubprotocol,
  encodeClose,
  encodeFrame,
  encodeMessage,
  negotiateDeflate,
  type DeflateOptions,
} from '../dist/index.js'

interface EchoServer {
  port: number
  /** Close codes/reasons the server's receiver reported, in order. */
  closes: Array<[number | null, string]>
  /** Error codes the server's receiver reported. */
  errors: string[]
  /** Bytes received after the handshakes, all connections together. */
  bytesIn: () => number
  close(): Promise<void>
}

const servers: EchoServer[] = []
const clients: WebSocket[] = []

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate()
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

function startEchoServer(options: {
  deflate?: DeflateOptions | null
  maxMessageLen?: number
}): Promise<EchoServer> {
  const maxMessageLen = options.maxMessageLen ?? 4 * 1024 * 1024
  const closes: EchoServer['closes'] = []
  const errors: string[] = []
  const sockets = new Set<net.Socket>()
  let bytesIn = 0
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let head: Buffer = Buffer.alloc(0)
    let receiver: FrameReceiver | null = null
    let failed = false
    const feed = (chunk: Buffer): void => {
      bytesIn += chunk.length
      // After an error execute() keeps returning false; report it once.
      if (!receiver!.execute(chunk) && !failed) {
        failed = true
        errors.push(receiver!.error!.code)
        socket.end(encodeClose(receiver!.error!.closeCode))
      }
    }
    socket.on('data', (chunk: Buffer) => {
      if (receiver !== null) return feed(chunk)
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const [requestLine = '', ...lines] = head.subarray(0, end).toString('latin1').split('\r\n')
      const rest = head.subarray(end + 4)
      const [method = '', , version] = requestLine.split(' ')
      const fields = new Map<string, string>()
      for (const line of lines) {
        const colon = line.indexOf(':')
        const name = line.slice(0, colon).trim().toLowerCase()
        const value = line.slice(colon + 1).trim()
        const prev = fields.get(name)
        fields.set(name, prev === undefined ? value : `${prev}, ${value}`)
      }
      const check = checkUpgradeRequest(method, version === 'HTTP/1.1' ? 1 : 0, {
        get: (name) => fields.get(name.toLowerCase()),
      })
      if (!check.ok) {
        const extra = []
        for (let i = 0; i < check.headers.length; i += 2)
          extra.push(`${check.headers[i]}: ${check.headers[i + 1]}\r\n`)
        socket.end(
          `HTTP/1.1 ${check.status} ${check.reason}\r\nConnection: close\r\n${extra.join('')}\r\n`,
        )
        return
      }
      const agreed =
        options.deflate === undefined || options.deflate === null
          ? null
          : negotiateDeflate(check.extensions || undefined, options.deflate)
      const pmd = agreed === null ? null : new PerMessageDeflate(agreed.params, { maxMessageLen })
      const protocol = chooseSubprotocol(check.protocols.join(', '), ['echo.v2', 'echo'])
      socket.write(
        buildUpgradeResponse(acceptKey(check.key), protocol, agreed?.response ?? null),
        'latin1',
      )
      receiver = new FrameReceiver(
        {
          onMessage(kind, data) {
            socket.write(Buffer.concat(encodeMessage(kind, data, pmd)))
          },
          onPing(data) {
            socket.write(Buffer.concat(encodeFrame(Opcode.Pong, data)))
          },
          onPong() {},
          onClose(code, reason) {
            closes.push([code, reason])
            socket.end(code === null ? encodeClose() : encodeClose(code, reason))
          },
        },
        { maxMessageLen, deflate: pmd },
      )
      if (rest.length > 0) feed(rest)
    })
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port
      const s: EchoServer = {
        port,
        closes,
        errors,
        bytesIn: () => bytesIn,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      }
      servers.push(s)
      resolve(s)
    })
  })
}

/** The `Sec-WebSocket-Extensions` response header each client saw. */
const agreedExtensions = new WeakMap<WebSocket, string>()

function connect(
  server: EchoServer,
  options: WebSocket.ClientOptions = {},
  protocols: string[] = ['echo'],
): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}`, protocols, options)
  clients.push(ws)
  ws.once('upgrade', (res) => {
    agreedExtensions.set(ws, String(res.headers['sec-websocket-extensions'] ?? ''))
  })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

/** Collects the next `n` messages. */
function messages(ws: WebSocket, n: number): Promise<Array<{ data: Buffer; binary: boolean }>> {
  const out: Array<{ data: Buffer; binary: boolean }> = []
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData, binary: boolean): void => {
      out.push({ data: Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), binary })
      if (out.length === n) {
        ws.off('message', onMessage)
        resolve(out)
      }
    }
    ws.on('message', onMessage)
    ws.once('close', (code) =>
      reject(new Error(`closed with ${code} after ${out.length} messages`)),
    )
  })
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }))
  })
}

function payload(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = 0x61 + ((x >>> 16) % 6) // compressible but not trivial
  }
  return b
}

async function echoSuite(ws: WebSocket): Promise<void> {
  const big = payload(1024 * 1024, 7)
  const bigBinary = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < bigBinary.length; i++) bigBinary[i] = (i * 7 + (i >> 10)) & 0xff
  const got = messages(ws, 7)
  ws.send('hello')
  ws.send(Buffer.from([0, 1, 2, 255]))
  ws.send('κόσμε 😀')
  ws.send(big.toString('latin1'))
  ws.send(bigBinary)
  ws.send('')
  // Fragmented by the client: three frames, one message.
  ws.send('frag', { fin: false })
  ws.send('men', { fin: false })
  ws.send('ted', { fin: true })
  const r = await got
  expect(r.map((m) => m.binary)).toEqual([false, true, false, false, true, false, false])
  expect(r[0]!.data.toString()).toBe('hello')
  expect(r[1]!.data.toString('hex')).toBe('000102ff')
  expect(r[2]!.data.toString()).toBe('κόσμε 😀')
  expect(r[3]!.data.equals(big)).toBe(true)
  expect(r[4]!.data.equals(bigBinary)).toBe(true)
  expect(r[5]!.data.length).toBe(0)
  expect(r[6]!.data.toString()).toBe('fragmented')
}

describe('interop with the ws client', () => {
  it('without permessage-deflate: echoes text, binary, 1 MiB and fragmented messages', async () => {
    const server = await startEchoServer({})
    const ws = await connect(server, { perMessageDeflate: false })
    expect(ws.protocol).toBe('echo')
    expect(ws.extensions).toBe('')
    expect(agreedExtensions.get(ws)).toBe('')
    await echoSuite(ws)
    expect(server.errors).toEqual([])
  })

  it('answers pings with pongs, between fragments too', async () => {
    const server = await startEchoServer({})
    const ws = await connect(server, { perMessageDeflate: false })
    const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve))
    const got = messages(ws, 1)
    ws.send('a', { fin: false })
    ws.ping(Buffer.from('are you there'))
    ws.send('b', { fin: true })
    expect((await pong).toString()).toBe('are you there')
    expect((await got)[0]!.data.toString()).toBe('ab')
  })

  it('picks the subprotocol by server preference', async () => {
    const server = await startEchoServer({})
    const ws = await connect(server, { perMessageDeflate: false }, ['echo', 'echo.v2'])
    expect(ws.protocol).toBe('echo.v2')
  })

  it('with permessage-deflate and context takeover both ways', async () => {
    const server = await startEchoServer({ deflate: { threshold: 0 } })
    const ws = await connect(server, { perMessageDeflate: { threshold: 0 } })
    expect(ws.extensions).toBe('permessage-deflate')
    expect(agreedExtensions.get(ws)).toBe('permessage-deflate')
    await echoSuite(ws)
    // Many similar small messages: each side refers back into earlier ones.
    const n = 50
    const got = messages(ws, n)
    for (let i = 0; i < n; i++) ws.send(JSON.stringify({ seq: i, text: 'the same chatter again' }))
    const r = await got
    for (let i = 0; i < n; i++)
      expect(JSON.parse(r[i]!.data.toString())).toEqual({ seq: i, text: 'the same chatter again' })
    expect(server.errors).toEqual([])
  })

  it('compresses on the wire in both directions', async () => {
    const server = await startEchoServer({ deflate: {} })
    const ws = await connect(server, { perMessageDeflate: true })
    const before = server.bytesIn()
    const socket = (ws as unknown as { _socket: net.Socket })._socket
    const readBefore = socket.bytesRead
    const text = 'a fairly repetitive line of text\n'.repeat(30000) // ~1 MiB
    const got = messages(ws, 1)
    ws.send(text)
    expect((await got)[0]!.data.toString()).toBe(text)
    expect(server.bytesIn() - before).toBeLessThan(text.length / 20)
    expect(socket.bytesRead - readBefore).toBeLessThan(text.length / 20)
  })

  it('compressed fragmented messages', async () => {
    const server = await startEchoServer({ deflate: { threshold: 0 } })
    const ws = await connect(server, { perMessageDeflate: { threshold: 0 } })
    const got = messages(ws, 2)
    ws.send('compressed ', { fin: false, compress: true })
    ws.send('and ', { fin: false, compress: true })
    ws.send('fragmented', { fin: true, compress: true })
    ws.send(payload(300000, 3), { fin: false, compress: true, binary: true })
    ws.send(payload(300000, 4), { fin: true, compress: true, binary: true })
    const r = await got
    expect(r[0]!.data.toString()).toBe('compressed and fragmented')
    expect(r[1]!.data.equals(Buffer.concat([payload(300000, 3), payload(300000, 4)]))).toBe(true)
  })

  it('with no context takeover and limited windows', async () => {
    const server = await startEchoServer({
      deflate: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 11,
        threshold: 0,
      },
    })
    const ws = await connect(server, { perMessageDeflate: { threshold: 0 } })
    expect(agreedExtensions.get(ws)).toBe(
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_no_context_takeover; client_max_window_bits=11',
    )
    await echoSuite(ws)
  })

  it('honours client_max_window_bits and server_max_window_bits offered by the client', async () => {
    const server = await startEchoServer({ deflate: { threshold: 0 } })
    const ws = await connect(server, {
      perMessageDeflate: { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
    })
    expect(agreedExtensions.get(ws)).toBe(
      'permessage-deflate; server_max_window_bits=9; client_max_window_bits=9',
    )
    await echoSuite(ws)
  })

  it('close codes: the client closes with a code and reason, and without a code', async () => {
    const server = await startEchoServer({})
    const ws = await connect(server, { perMessageDeflate: false })
    const done = closed(ws)
    ws.close(4000, 'bye now')
    expect(await done).toEqual({ code: 4000, reason: 'bye now' })
    const ws2 = await connect(server, { perMessageDeflate: false })
    const done2 = closed(ws2)
    ws2.close()
    expect(await done2).toEqual({ code: 1005, reason: '' })
    expect(server.closes).toEqual([
      [4000, 'bye now'],
      [null, ''],
    ])
  })

  it('a message over maxMessageLen closes with 1009 (plain and compressed)', async () => {
    const server = await startEchoServer({ maxMessageLen: 1000, deflate: { threshold: 0 } })
    const plain = await connect(server, { perMessageDeflate: false })
    const done = closed(plain)
    plain.send(Buffer.alloc(1001))
    expect((await done).code).toBe(1009)
    const compressed = await connect(server, { perMessageDeflate: { threshold: 0 } })
    const done2 = closed(compressed)
    compressed.send(Buffer.alloc(100000)) // compresses to ~100 bytes, inflates past the limit
    expect((await done2).code).toBe(1009)
    expect(server.errors).toEqual([
      'ERR_MUMMY_WS_MESSAGE_TOO_LARGE',
      'ERR_MUMMY_WS_MESSAGE_TOO_LARGE',
    ])
  })

  it('invalid UTF-8 in a text message closes with 1007', async () => {
    const server = await startEchoServer({})
    const ws = await connect(server, { perMessageDeflate: false })
    const done = closed(ws)
    ws.send(Buffer.from([0x68, 0x69, 0xed, 0xa0, 0x80]), { binary: false })
    expect((await done).code).toBe(1007)
    expect(server.errors).toEqual(['ERR_MUMMY_WS_INVALID_UTF8'])
  })

  it('the handshake rejects a bad version with 426', async () => {
    const server = await startEchoServer({})
    const response = await new Promise<string>((resolve) => {
      const socket = net.connect(server.port, '127.0.0.1', () => {
        socket.write(
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n',
        )
      })
      let text = ''
      socket.on('data', (d) => (text += d.toString('latin1')))
      socket.on('end', () => resolve(text))
    })
    expect(response).toMatch(/^HTTP\/1\.1 426 /)
    expect(response).toContain('\r\nSec-WebSocket-Version: 13\r\n')
  })
})
