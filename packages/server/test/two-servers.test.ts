// Two servers in one process keep to themselves: each one's WebSockets, topics and handles go
// to that server, with workers and with handlers inline on the IO thread.
import { describe, expect, it } from '@jest/globals'
import { waitFor } from '@mummy/test-kit'
import WebSocketClient from 'ws'
import type { MummyError } from '@mummy/errors'
import { createServer, publish, type Server } from '../dist/index.js'
import { TRANSPORTS } from './fixtures/transports.js'

const APP = new URL('./fixtures/app.js', import.meta.url)

function open(port: number): Promise<{ ws: WebSocketClient; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocketClient(`ws://127.0.0.1:${port}/ws`, ['echo.v1'])
    const messages: string[] = []
    ws.on('message', (data) => messages.push(String(data)))
    ws.once('open', () => resolve({ ws, messages }))
    ws.once('error', reject)
  })
}

describe.each(TRANSPORTS)('two servers in one process (%s transport)', (transport) => {
  for (const workers of [1, 0]) {
    it(`keep their WebSockets apart (workers: ${workers})`, async () => {
      const servers: Server[] = []
      const clients: WebSocketClient[] = []
      try {
        for (let i = 0; i < 2; i++) {
          const server = createServer({ transport, app: APP, workers, logHandler: () => {} })
          await server.listen(0, '127.0.0.1')
          servers.push(server)
        }
        const [a, b] = [await open(servers[0]!.port), await open(servers[1]!.port)]
        clients.push(a.ws, b.ws)
        await waitFor(
          () => a.messages.includes('welcome') && b.messages.includes('welcome'),
          5000,
          'welcomes',
        )
        // Echo through each server's handler: each client hears its own, and only that.
        a.ws.send('from a')
        b.ws.send('from b')
        await waitFor(
          () => a.messages.includes('from a') && b.messages.includes('from b'),
          5000,
          'echoes',
        )
        // Topics are per server: a publish on one reaches its subscribers only.
        a.ws.send('sub:room')
        b.ws.send('sub:room')
        await waitFor(
          () => a.messages.includes('subscribed room') && b.messages.includes('subscribed room'),
          5000,
          'subscriptions',
        )
        expect(servers[0]!.publish('room', 'to a only')).toBe(1)
        expect(servers[1]!.publish('room', 'to b only')).toBe(1)
        // A publish from a handler (pub:topic:text) stays on the handler's server.
        b.ws.send('pub:room:via b')
        await waitFor(() => b.messages.includes('via b'), 5000, 'publish from a handler')
        await new Promise((r) => setTimeout(r, 100))
        expect(a.messages.filter((m) => m !== 'welcome')).toEqual([
          'from a',
          'subscribed room',
          'to a only',
        ])
        expect(b.messages.filter((m) => m !== 'welcome')).toEqual([
          'from b',
          'subscribed room',
          'to b only',
          'via b',
        ])
        // On the IO thread, the exported publish() cannot tell which server is meant.
        let error: unknown = null
        try {
          publish('room', 'which?')
        } catch (e) {
          error = e
        }
        expect((error as MummyError).code).toBe('ERR_MUMMY_AMBIGUOUS_SERVER')
      } finally {
        for (const c of clients) c.terminate()
        for (const s of servers) await s.close()
      }
    })
  }

  it('the exported publish() on the IO thread reaches the only server again once the other closed', async () => {
    const one = createServer({ transport, app: APP, workers: 1, logHandler: () => {} })
    const two = createServer({ transport, app: APP, workers: 1, logHandler: () => {} })
    await one.listen(0, '127.0.0.1')
    await two.listen(0, '127.0.0.1')
    await two.close()
    const a = await open(one.port)
    try {
      a.ws.send('sub:t')
      await waitFor(() => a.messages.includes('subscribed t'), 5000, 'subscription')
      publish('t', 'hello')
      await waitFor(() => a.messages.includes('hello'), 5000, 'publish')
    } finally {
      a.ws.terminate()
      await one.close()
    }
  })
})
