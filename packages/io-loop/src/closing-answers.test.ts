// A closing answer given while the request's body still arrives (a refused upload), on both
// transports: the peer must read it whole. Closing a socket with unread input resets it, and
// a reset peer often loses what it was sent.
import { afterEach, describe, expect, it } from '@jest/globals'
import { pushBody, readResponses, waitFor } from '@mummy/test-kit'
import { NodeTransport } from './node-transport.js'
import type { Transport } from './transport.js'
import { UwsTransport } from './uws-transport.js'

const open: Transport[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close(500)))
})

const KINDS: [string, typeof NodeTransport | typeof UwsTransport][] = [
  ['node', NodeTransport],
  ['uws', UwsTransport],
]

describe.each(KINDS)('closing answers (%s transport)', (_name, Kind) => {
  it('a refusal given while the body still arrives reaches the peer whole, without a reset', async () => {
    const transport = new Kind({
      onRequest: (_req, res) => res.end(200, [], 'ok'),
      maxBodyLen: 1000,
    })
    open.push(transport)
    const port = await transport.listen(0, '127.0.0.1')
    for (let i = 0; i < 10; i++) {
      const chunked = i % 2 === 0
      // (uWebSockets.js drops a Content-Length of 1e9 or more by itself: stay under it.)
      const framing = chunked ? 'Transfer-Encoding: chunked' : 'Content-Length: 67108864'
      const pushed = await pushBody(port, `POST / HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n`, {
        chunked,
        pieces: 16,
      })
      expect(pushed.error).toBeNull()
      const { responses } = readResponses(Buffer.from(pushed.answer, 'latin1'))
      expect(responses.map((r) => [r.status, r.headers['connection']])).toEqual([[413, 'close']])
    }
    await waitFor(() => transport.connections === 0, 5000, 'every connection closed')
  })
})
