// Autobahn sections 1 (framing: text and binary messages of every length class) and 2 (pings
// and pongs), against the echo app.
import { describe } from '@jest/globals'
import { TRANSPORTS } from '../fixtures/transports.js'
import { Op, repeatTo } from './client.js'
import { Code, autobahnSuite, ev } from './harness.js'

describe.each(TRANSPORTS)(
  'Autobahn 1 and 2: framing, pings and pongs (%s transport)',
  (transport) => {
    const suite = autobahnSuite(transport)

    // 1.1.x text, 1.2.x binary: payload lengths around the 7-bit / 16-bit / 64-bit boundaries.
    const lengths = [0, 125, 126, 127, 128, 65535, 65536]
    for (const [sub, binary] of [
      [1, false],
      [2, true],
    ] as const) {
      const kind = binary ? 'binary' : 'text'
      const unit = binary ? Buffer.from([0xfe]) : Buffer.from('*')
      lengths.forEach((len, i) => {
        suite.case(
          `1.${sub}.${i + 1}`,
          `Send ${kind} message with payload of length ${len}`,
          async (t) => {
            const payload = repeatTo(unit, len)
            t.expected.OK = [binary ? ev.binary(payload) : ev.text(payload)]
            t.expectedClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
            t.sendFrame({ opcode: binary ? Op.Binary : Op.Text, payload })
            await t.killAfter(10)
          },
        )
      })
      suite.case(
        `1.${sub}.8`,
        `Send ${kind} message with payload of length 65536, in chops of 997 octets`,
        async (t) => {
          const payload = repeatTo(unit, 65536)
          t.expected.OK = [binary ? ev.binary(payload) : ev.text(payload)]
          t.expectedClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
          t.sendFrame({ opcode: binary ? Op.Binary : Op.Text, payload, chopsize: 997 })
          await t.killAfter(10)
        },
      )
    }

    const normalClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
    const failed = { closedByMe: false, closeCode: [Code.ProtocolError], requireClean: false }

    suite.case('2.1', 'Send ping without payload', async (t) => {
      t.expected.OK = [ev.pong('')]
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Ping })
      await t.closeAfter(1)
    })
    suite.case('2.2', 'Send ping with small text payload', async (t) => {
      const payload = 'Hello, world!'
      t.expected.OK = [ev.pong(payload)]
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Ping, payload })
      await t.closeAfter(1)
    })
    suite.case('2.3', 'Send ping with small binary (non UTF-8) payload', async (t) => {
      const payload = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])
      t.expected.OK = [ev.pong(payload)]
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Ping, payload })
      await t.closeAfter(1)
    })
    suite.case('2.4', 'Send ping with binary payload of 125 octets', async (t) => {
      const payload = Buffer.alloc(125, 0xfe)
      t.expected.OK = [ev.pong(payload)]
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Ping, payload })
      await t.closeAfter(1)
    })
    suite.case('2.5', 'Send ping with binary payload of 126 octets', async (t) => {
      t.expected.OK = []
      t.expectedClose = failed
      t.sendFrame({ opcode: Op.Ping, payload: Buffer.alloc(126, 0xfe) })
      await t.killAfter(1)
    })
    suite.case(
      '2.6',
      'Send ping with binary payload of 125 octets, in octet-wise chops',
      async (t) => {
        const payload = Buffer.alloc(125, 0xfe)
        t.expected.OK = [ev.pong(payload)]
        t.expectedClose = normalClose
        t.sendFrame({ opcode: Op.Ping, payload, chopsize: 1 })
        await t.closeAfter(2)
      },
    )
    suite.case('2.7', 'Send unsolicited pong without payload', async (t) => {
      t.expected.OK = []
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Pong })
      await t.closeAfter(1)
    })
    suite.case('2.8', 'Send unsolicited pong with payload', async (t) => {
      t.expected.OK = []
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Pong, payload: 'unsolicited pong payload' })
      await t.closeAfter(1)
    })
    suite.case('2.9', 'Send unsolicited pong with payload, then ping with payload', async (t) => {
      t.expected.OK = [ev.pong('ping payload')]
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Pong, payload: 'unsolicited pong payload' })
      t.sendFrame({ opcode: Op.Ping, payload: 'ping payload' })
      await t.closeAfter(1)
    })
    for (const [id, chopsize] of [
      ['2.10', undefined],
      ['2.11', 1],
    ] as const) {
      const how = chopsize === undefined ? '' : ', in octet-wise chops'
      suite.case(id, `Send 10 pings with payload${how}: a pong for every ping`, async (t) => {
        t.expected.OK = []
        for (let i = 0; i < 10; i++) {
          const payload = `payload-${i}`
          t.expected.OK.push(ev.pong(payload))
          t.sendFrame({ opcode: Op.Ping, payload, ...(chopsize === undefined ? {} : { chopsize }) })
        }
        t.expectedClose = normalClose
        await t.closeAfter(3)
      })
    }

    suite.summary('1', '2')
  },
)
