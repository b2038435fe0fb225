// Autobahn section 7: close handling. The server answers a close with a close (echoing the
// code, or 1000), ignores everything after it, rejects bad close frames with 1002 (1007 for a
// reason that is not UTF-8) and closes TCP itself.
import { describe } from '@jest/globals'
import { TRANSPORTS } from '../fixtures/transports.js'
import { Op, repeatTo } from './client.js'
import { Code, autobahnSuite, ev, type CaseRun, type ExpectedClose } from './harness.js'

const normalClose: ExpectedClose = {
  closedByMe: true,
  closeCode: [Code.Normal],
  requireClean: true,
}
const HELLO = 'Hello World!'

/** Section 7's own rule: a wrong close code fails the case, whatever the events. */
function wrongCodeFails(t: CaseRun): void {
  t.onConnectionLost = (r) => {
    if (r.behaviorClose === 'WRONG CODE') r.behavior = 'FAILED'
  }
}

/** Cases whose outcome the spec leaves open. */
function informational(t: CaseRun): void {
  t.onConnectionLost = (r) => {
    r.behavior = 'INFORMATIONAL'
    r.behaviorClose = 'INFORMATIONAL'
  }
}

describe.each(TRANSPORTS)('Autobahn 7: close handling (%s transport)', (transport) => {
  const suite = autobahnSuite(transport)

  suite.case('7.1.1', 'Send a message followed by a close frame', async (t) => {
    wrongCodeFails(t)
    t.expected.OK = [ev.text(HELLO)]
    t.expectedClose = normalClose
    t.sendFrame({ opcode: Op.Text, payload: HELLO })
    await t.killAfter(1)
  })
  suite.case('7.1.2', 'Send two close frames', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = normalClose
    t.sendClose(Code.Normal)
    t.sendFrame({ opcode: Op.Close })
    await t.killAfter(1)
  })
  suite.case('7.1.3', 'Send a ping after the close frame', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = normalClose
    t.sendClose(Code.Normal)
    t.sendFrame({ opcode: Op.Ping })
    await t.killAfter(1)
  })
  suite.case('7.1.4', 'Send a text message after the close frame', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = normalClose
    t.sendClose(Code.Normal)
    t.sendFrame({ opcode: Op.Text, payload: HELLO })
    await t.killAfter(1)
  })
  suite.case('7.1.5', 'Send message fragment 1, then close, then fragment 2', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = normalClose
    t.sendFrame({ opcode: Op.Text, fin: false, payload: 'fragment1' })
    t.sendClose(Code.Normal)
    t.sendFrame({ opcode: Op.Continuation, fin: true, payload: 'fragment2' })
    await t.killAfter(1)
  })
  suite.case(
    '7.1.6',
    'Send a 256 KiB message, then a small one, close and a ping, back to back',
    async (t) => {
      informational(t)
      t.suppressClose = true
      t.expected.OK = [ev.text(HELLO)]
      t.expected['NON-STRICT'] = []
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Text, payload: repeatTo('BAsd7&jh23', 256 * 1024) })
      t.sendFrame({ opcode: Op.Text, payload: HELLO })
      t.sendClose(Code.Normal)
      t.sendFrame({ opcode: Op.Ping })
      await t.killAfter(1)
    },
  )

  suite.case(
    '7.3.1',
    'Send a close frame with payload length 0 (no code, no reason)',
    async (t) => {
      wrongCodeFails(t)
      t.suppressClose = true
      t.expected.OK = []
      t.expectedClose = normalClose
      t.sendCloseFrame()
      await t.killAfter(1)
    },
  )
  suite.case('7.3.2', 'Send a close frame with payload length 1', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = { closedByMe: true, closeCode: [Code.ProtocolError], requireClean: false }
    t.sendCloseFrame(undefined, 'a')
    await t.killAfter(1)
  })
  suite.case('7.3.3', 'Send a close frame with payload length 2 (a code)', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = normalClose
    t.sendClose(Code.Normal)
    await t.killAfter(1)
  })
  suite.case('7.3.4', 'Send a close frame with a code and a reason', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = normalClose
    t.sendClose(Code.Normal, HELLO)
    await t.killAfter(1)
  })
  suite.case(
    '7.3.5',
    'Send a close frame with a code and a reason of maximum length (123)',
    async (t) => {
      wrongCodeFails(t)
      t.suppressClose = true
      t.expected.OK = []
      t.expectedClose = normalClose
      t.sendClose(Code.Normal, '*'.repeat(123))
      await t.killAfter(1)
    },
  )
  suite.case(
    '7.3.6',
    'Send a close frame with a reason too long (124): payload 126 octets',
    async (t) => {
      wrongCodeFails(t)
      t.suppressClose = true
      t.expected.OK = []
      t.expectedClose = { closedByMe: true, closeCode: [Code.ProtocolError], requireClean: false }
      t.sendCloseFrame(Code.Normal, '*'.repeat(124))
      await t.killAfter(1)
    },
  )
  suite.case('7.5.1', 'Send a close frame with an invalid UTF-8 reason', async (t) => {
    wrongCodeFails(t)
    t.suppressClose = true
    t.expected.OK = []
    t.expectedClose = {
      closedByMe: true,
      closeCode: [Code.ProtocolError, Code.InvalidPayload],
      requireClean: false,
    }
    const reason = Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex')
    t.sendCloseFrame(Code.Normal, reason)
    await t.killAfter(1)
  })

  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]
  valid.forEach((code, i) => {
    suite.case(`7.7.${i + 1}`, `Send close with valid close code ${code}`, async (t) => {
      wrongCodeFails(t)
      t.expected.OK = []
      t.expectedClose = { closedByMe: true, closeCode: [Code.Normal, code], requireClean: true }
      t.sendCloseFrame(code)
      await t.killAfter(1)
    })
  })
  const invalid = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999]
  invalid.forEach((code, i) => {
    suite.case(`7.9.${i + 1}`, `Send close with invalid close code ${code}`, async (t) => {
      wrongCodeFails(t)
      t.expected.OK = []
      t.expectedClose = { closedByMe: true, closeCode: [Code.ProtocolError], requireClean: false }
      t.sendCloseFrame(code)
      await t.killAfter(1)
    })
  })
  for (const [id, code] of [
    ['7.13.1', 5000],
    ['7.13.2', 65535],
  ] as const) {
    suite.case(
      id,
      `Send close with close code ${code} (outcome undefined by the spec)`,
      async (t) => {
        informational(t)
        t.suppressClose = true
        t.expected.OK = []
        t.expectedClose = {
          closedByMe: true,
          closeCode: [Code.Normal, code, Code.ProtocolError],
          requireClean: false,
        }
        t.sendCloseFrame(code)
        await t.killAfter(1)
      },
    )
  }

  suite.summary('7')
})
