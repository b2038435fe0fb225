// The node:net transport's own behaviour: what the Transport contract does not promise and the
// uWebSockets.js transport does not have (its README: "not used: uWebSockets.js reads one request
// at a time per connection and buffers a response's unsent bytes itself"). Everything the
// contract promises is asserted for both transports by contract.test.ts.
import { afterEach, describe, expect, it } from '@jest/globals'
import { exchange, get, readResponses, sleep, waitFor } from '@mummy/test-kit'
import net from 'node:net'
import { NodeTransport } from '../dist/node-transport.js'
import type { ResponseWriter, TransportOptions, TransportRequest } from '../dist/transport.js'

const open: NodeTransport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(500)))
})

async function start(
  onRequest: (req: TransportRequest, res: ResponseWriter) => void,
  options: Partial<TransportOptions> = {},
): Promise<{ transport: NodeTransport; port: number }> {
  const transport = new NodeTransport({ ...options, onRequest })
  open.push(transport)
  const port = await transport.listen(0, '127.0.0.1')
  return { transport, port }
}

const echoTarget = (req: TransportRequest, res: ResponseWriter): void =>
  res.end(200, ['Content-Type', 'text/plain'], req.target)

// maxPipelinedRequests: uWebSockets.js reads one request at a time (its README table), so the
// read-ahead limit is this transport's own. (Order of pipelined answers: contract.test.ts.)
describe('NodeTransport: pipelining', () => {
  it('reads no further than maxPipelinedRequests ahead', async () => {
    const pending: ResponseWriter[] = []
    const { port } = await start((_req, res) => void pending.push(res), { maxPipelinedRequests: 4 })
    const socket = net.connect(port, '127.0.0.1')
    let bytes = ''
    for (let i = 0; i < 20; i++) bytes += get(`/r${i}`)
    socket.write(bytes)
    await waitFor(() => pending.length === 4, 2000, '4 dispatched')
    await sleep(100)
    expect(pending).toHaveLength(4)
    for (const res of pending.splice(0)) res.end(200, [], 'ok')
    await waitFor(() => pending.length === 4, 2000, 'next 4 dispatched')
    socket.destroy()
  })
})

// Expect: 100-continue is not part of the Transport contract; the node:net transport's README
// promises "100 Continue only when the body will be accepted […]; a declared body over maxBodyLen
// gets 413 instead". (uWebSockets.js sends 100 Continue before that 413.) The limits themselves:
// contract.test.ts.
describe('NodeTransport: Expect: 100-continue', () => {
  it('sends 100 Continue before reading an accepted body', async () => {
    const { port } = await start((req, res) => res.end(200, [], req.body))
    const socket = net.connect(port, '127.0.0.1')
    const got: Buffer[] = []
    socket.on('data', (c: Buffer) => got.push(c))
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n')
    await waitFor(
      () => Buffer.concat(got).toString().includes('100 Continue'),
      2000,
      '100 Continue',
    )
    socket.write('hello')
    await waitFor(
      () => readResponses(Buffer.concat(got)).responses.length === 2,
      2000,
      'final response',
    )
    const { responses } = readResponses(Buffer.concat(got))
    expect(responses.map((r) => r.status)).toEqual([100, 200])
    expect(responses[1]?.body.toString()).toBe('hello')
    socket.destroy()
  })

  it('answers 413 instead of 100 when the declared body is too large', async () => {
    const { port } = await start(echoTarget, { maxBodyLen: 10 })
    const { responses, closed } = await exchange(
      port,
      'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n',
    )
    expect(responses.map((r) => r.status)).toEqual([413])
    expect(responses[0]?.headers['connection']).toBe('close')
    expect(closed).toBe(true)
  })
})

// writeHighWaterMark: uWebSockets.js buffers a response's unsent bytes itself and has no such
// option (its README table), so reading that stops behind unread output is this transport's own.
describe('NodeTransport: backpressure', () => {
  it('stops reading from a connection that does not read its responses', async () => {
    let dispatched = 0
    const big = Buffer.alloc(1024 * 1024, 'x')
    const { port } = await start(
      (_req, res) => {
        dispatched++
        res.end(200, [], big)
      },
      { writeHighWaterMark: 64 * 1024 },
    )
    const socket = net.connect(port, '127.0.0.1')
    socket.pause() // never read
    let bytes = ''
    for (let i = 0; i < 200; i++) bytes += get('/')
    socket.write(bytes)
    await sleep(500)
    // Unsent output passed the high-water mark after the first responses: reading stopped.
    expect(dispatched).toBeLessThan(10)
    socket.destroy()
  })
})
