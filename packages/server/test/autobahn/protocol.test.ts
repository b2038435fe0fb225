// Autobahn sections 3 (reserved bits), 4 (reserved opcodes) and 5 (fragmentation), against the
// echo app: bad frames fail the connection with 1002, good fragments are reassembled.
import { describe } from '@jest/globals'
import { TRANSPORTS } from '../fixtures/transports.js'
import { Op, type WriteOptions } from './client.js'
import { Code, autobahnSuite, ev, type CaseRun, type ExpectedClose } from './harness.js'

const failed: ExpectedClose = {
  closedByMe: false,
  closeCode: [Code.ProtocolError],
  requireClean: false,
}
const normalClose: ExpectedClose = {
  closedByMe: true,
  closeCode: [Code.Normal],
  requireClean: true,
}
const HELLO = 'Hello, world!'

/** Echo of a first good text frame expected, or nothing if the server failed before answering it. */
function echoThenFail(t: CaseRun): void {
  t.expected.OK = [ev.text(HELLO)]
  t.expected['NON-STRICT'] = []
  t.expectedClose = failed
}

describe.each(TRANSPORTS)(
  'Autobahn 3, 4 and 5: reserved bits, opcodes, fragmentation (%s transport)',
  (transport) => {
    const suite = autobahnSuite(transport)

    // ---- 3: reserved bits ----
    suite.case('3.1', 'Send small text message with RSV = 1', async (t) => {
      t.expected.OK = []
      t.expectedClose = failed
      t.sendFrame({ opcode: Op.Text, payload: HELLO, rsv: 1 })
      await t.killAfter(1)
    })
    for (const [id, rsv, how] of [
      ['3.2', 2, {}],
      ['3.3', 3, { sync: true }],
      ['3.4', 4, { chopsize: 1 }],
    ] as const) {
      const said =
        'sync' in how ? ', frame-wise chops' : 'chopsize' in how ? ', octet-wise chops' : ''
      suite.case(
        id,
        `Send small text message, then again with RSV = ${rsv}, then ping${said}`,
        async (t) => {
          echoThenFail(t)
          const w: WriteOptions = how
          t.sendFrame({ opcode: Op.Text, payload: HELLO, ...w })
          t.sendFrame({ opcode: Op.Text, payload: HELLO, rsv, ...w })
          t.sendFrame({ opcode: Op.Ping, ...w })
          await t.killAfter(1)
        },
      )
    }
    suite.case('3.5', 'Send small binary message with RSV = 5', async (t) => {
      t.expected.OK = []
      t.expectedClose = failed
      t.sendFrame({
        opcode: Op.Binary,
        payload: Buffer.from([0, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0, 0xff]),
        rsv: 5,
      })
      await t.killAfter(1)
    })
    suite.case('3.6', 'Send small message with RSV = 6', async (t) => {
      t.expected.OK = []
      t.expectedClose = failed
      // As in Autobahn's case: described as a ping, sent with opcode 2.
      t.sendFrame({ opcode: Op.Binary, payload: HELLO, rsv: 6 })
      await t.killAfter(1)
    })
    suite.case('3.7', 'Send close with RSV = 7', async (t) => {
      t.expected.OK = []
      t.expectedClose = failed
      t.sendFrame({ opcode: Op.Close, rsv: 7 })
      await t.killAfter(1)
    })

    // ---- 4: reserved opcodes ----
    for (const [group, first, kind] of [
      [1, 3, 'non-control'],
      [2, 11, 'control'],
    ] as const) {
      suite.case(
        `4.${group}.1`,
        `Send frame with reserved ${kind} opcode = ${first}`,
        async (t) => {
          t.expected.OK = []
          t.expectedClose = failed
          t.sendFrame({ opcode: first })
          await t.killAfter(1)
        },
      )
      suite.case(
        `4.${group}.2`,
        `Send frame with reserved ${kind} opcode = ${first + 1} and non-empty payload`,
        async (t) => {
          t.expected.OK = []
          t.expectedClose = failed
          t.sendFrame({ opcode: first + 1, payload: 'reserved opcode payload' })
          await t.killAfter(1)
        },
      )
      for (const [sub, delta, withPayload, how] of [
        [3, 2, false, {}],
        [4, 3, true, {}],
        [5, 4, true, { chopsize: 1 }],
      ] as const) {
        const opcode = first + delta
        const said = `${withPayload ? ' and non-empty payload' : ''}${'chopsize' in how ? ', octet-wise chops' : ''}`
        suite.case(
          `4.${group}.${sub}`,
          `Send small text message, then frame with reserved ${kind} opcode = ${opcode}${said}, then ping`,
          async (t) => {
            echoThenFail(t)
            const w: WriteOptions = how
            t.sendFrame({ opcode: Op.Text, payload: HELLO, ...w })
            t.sendFrame({ opcode, ...(withPayload ? { payload: HELLO } : {}), ...w })
            t.sendFrame({ opcode: Op.Ping, ...w })
            await t.killAfter(1)
          },
        )
      }
    }

    // ---- 5: fragmentation ----
    for (const [id, opcode, name] of [
      ['5.1', Op.Ping, 'ping'],
      ['5.2', Op.Pong, 'pong'],
    ] as const) {
      suite.case(id, `Send ${name} fragmented into 2 fragments`, async (t) => {
        t.expected.OK = []
        t.expectedClose = failed
        t.sendFrame({ opcode, fin: false, payload: 'fragment1' })
        t.sendFrame({ opcode: Op.Continuation, fin: true, payload: 'fragment2' })
        await t.killAfter(1)
      })
    }
    const chops: ReadonlyArray<readonly [string, WriteOptions]> = [
      ['in one chop', {}],
      ['in frame-wise chops', { sync: true }],
      ['in octet-wise chops', { chopsize: 1 }],
    ]
    chops.forEach(([said, w], i) => {
      suite.case(
        `5.${3 + i}`,
        `Send text message fragmented into 2 fragments, ${said}`,
        async (t) => {
          t.expected.OK = [ev.text('fragment1fragment2')]
          t.expectedClose = normalClose
          t.sendFrame({ opcode: Op.Text, fin: false, payload: 'fragment1', ...w })
          t.sendFrame({ opcode: Op.Continuation, fin: true, payload: 'fragment2', ...w })
          await t.closeAfter(1)
        },
      )
      suite.case(
        `5.${6 + i}`,
        `Send text message in 2 fragments with a ping in between, ${said}`,
        async (t) => {
          t.expected.OK = [ev.pong('ping payload'), ev.text('fragment1fragment2')]
          t.expectedClose = normalClose
          t.sendFrame({ opcode: Op.Text, fin: false, payload: 'fragment1', ...w })
          t.sendFrame({ opcode: Op.Ping, fin: true, payload: 'ping payload', ...w })
          t.sendFrame({ opcode: Op.Continuation, fin: true, payload: 'fragment2', ...w })
          await t.closeAfter(1)
        },
      )
      suite.case(
        `5.${9 + i}`,
        `Send continuation frame with FIN = true where there is nothing to continue, then text message, ${said}`,
        async (t) => {
          t.expected.OK = []
          t.expectedClose = failed
          t.sendFrame({
            opcode: Op.Continuation,
            fin: true,
            payload: 'non-continuation payload',
            ...w,
          })
          t.sendFrame({ opcode: Op.Text, fin: true, payload: HELLO, ...w })
          await t.killAfter(1)
        },
      )
      suite.case(
        `5.${12 + i}`,
        `Send continuation frame with FIN = false where there is nothing to continue, then text message, ${said}`,
        async (t) => {
          t.expected.OK = []
          t.expectedClose = failed
          t.sendFrame({
            opcode: Op.Continuation,
            fin: false,
            payload: 'non-continuation payload',
            ...w,
          })
          t.sendFrame({ opcode: Op.Text, fin: true, payload: HELLO, ...w })
          await t.killAfter(1)
        },
      )
    })
    suite.case(
      '5.15',
      'Send text message in 2 fragments, then continuation frame with FIN = false where there is nothing to continue, then text message',
      async (t) => {
        t.expected.OK = [ev.text('fragment1fragment2')]
        t.expected['NON-STRICT'] = []
        t.expectedClose = failed
        t.sendFrame({ opcode: Op.Text, fin: false, payload: 'fragment1' })
        t.sendFrame({ opcode: Op.Continuation, fin: true, payload: 'fragment2' })
        t.sendFrame({ opcode: Op.Continuation, fin: false, payload: 'fragment3' })
        t.sendFrame({ opcode: Op.Text, fin: true, payload: 'fragment4' })
        await t.killAfter(1)
      },
    )
    for (const [id, fin] of [
      ['5.16', false],
      ['5.17', true],
    ] as const) {
      suite.case(
        id,
        `Repeated 2x: continuation frame with FIN = ${fin} (nothing to continue), then text message in 2 fragments`,
        async (t) => {
          t.expected.OK = []
          t.expectedClose = failed
          for (let i = 0; i < 2; i++) {
            t.sendFrame({ opcode: Op.Continuation, fin, payload: 'fragment1' })
            t.sendFrame({ opcode: Op.Text, fin: false, payload: 'fragment2' })
            t.sendFrame({ opcode: Op.Continuation, fin: true, payload: 'fragment3' })
          }
          await t.killAfter(1)
        },
      )
    }
    suite.case('5.18', 'Send text message in 2 fragments, both with opcode text', async (t) => {
      t.expected.OK = []
      t.expectedClose = failed
      t.sendFrame({ opcode: Op.Text, fin: false, payload: 'fragment1' })
      t.sendFrame({ opcode: Op.Text, fin: true, payload: 'fragment2' })
      await t.killAfter(1)
    })
    for (const [id, sync] of [
      ['5.19', false],
      ['5.20', true],
    ] as const) {
      suite.case(
        id,
        `Fragmented text message in 5 frames with pings in between and a 1 s pause${sync ? ', all frames sync' : ''}`,
        async (t) => {
          const fragments = ['fragment1', 'fragment2', 'fragment3', 'fragment4', 'fragment5']
          const pings = ['pongme 1!', 'pongme 2!']
          t.expected.OK = [ev.pong(pings[0]!), ev.pong(pings[1]!), ev.text(fragments.join(''))]
          t.expectedClose = normalClose
          t.sendFrame({ opcode: Op.Text, fin: false, payload: fragments[0]!, sync })
          t.sendFrame({ opcode: Op.Continuation, fin: false, payload: fragments[1]!, sync })
          t.sendFrame({ opcode: Op.Ping, payload: pings[0]!, sync })
          await t.continueLater(1)
          t.sendFrame({ opcode: Op.Continuation, fin: false, payload: fragments[2]!, sync })
          t.sendFrame({ opcode: Op.Continuation, fin: false, payload: fragments[3]!, sync })
          t.sendFrame({ opcode: Op.Ping, payload: pings[1]!, sync })
          t.sendFrame({ opcode: Op.Continuation, fin: true, payload: fragments[4]!, sync })
          await t.closeAfter(1)
        },
      )
    }

    suite.summary('3', '4', '5')
  },
)
