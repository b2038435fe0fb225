// Autobahn section 6: UTF-8 handling. Valid text is echoed (however it is fragmented), invalid
// text fails the connection with 1007 — at once when the bad byte arrives (OK) or only at the
// end of the message (NON-STRICT).
import { describe } from '@jest/globals'
import { TRANSPORTS } from '../fixtures/transports.js'
import { Op, encodeFrame } from './client.js'
import { Code, autobahnSuite, ev, type CaseRun, type ExpectedClose } from './harness.js'
import { utf8TestSequences } from './utf8-sequences.js'

const normalClose: ExpectedClose = {
  closedByMe: true,
  closeCode: [Code.Normal],
  requireClean: true,
}
const invalid: ExpectedClose = {
  closedByMe: false,
  closeCode: [Code.InvalidPayload],
  requireClean: false,
}

const KAPPA = Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5])
const EDITED = Buffer.from('edited')
/** 6.3: invalid exactly at the 13th byte (0xa0: a UTF-16 surrogate). */
const BAD_SURROGATE = Buffer.concat([KAPPA, Buffer.from([0xed, 0xa0, 0x80]), EDITED])
/** 6.4: 0xf4 0x90 0x80 0x80 encodes U+110000, out of range: invalid at the 13th byte (0x90). */
const BAD_RANGE = Buffer.concat([KAPPA, Buffer.from([0xf4, 0x90, 0x80, 0x80]), EDITED])

/** Case 6.4.x: three parts, a second's wait after each of the first two. */
async function failFast(t: CaseRun, parts: Buffer[], frames: boolean): Promise<void> {
  t.expected.OK = [ev.timeout('A')]
  t.expected['NON-STRICT'] = [ev.timeout('A'), ev.timeout('B')]
  t.expectedClose = invalid
  // Either three frames, or three chops of one frame (same bytes, the header says the total).
  let chops: Buffer[]
  if (frames) {
    chops = parts.map((payload, i) =>
      encodeFrame({
        opcode: i === 0 ? Op.Text : Op.Continuation,
        fin: i === parts.length - 1,
        payload,
      }),
    )
  } else {
    const whole = encodeFrame({ opcode: Op.Text, payload: Buffer.concat(parts) })
    const head = whole.length - parts.reduce((n, p) => n + p.length, 0)
    chops = []
    let at = 0
    parts.forEach((p, i) => {
      const start = i === 0 ? 0 : at
      at = (i === 0 ? head : at) + p.length
      chops.push(whole.subarray(start, at))
    })
  }
  t.c.send(chops[0]!)
  await t.continueLater(1)
  if (!t.open) return t.killAfter(1)
  t.timeout('A')
  t.c.send(chops[1]!)
  // Part 3 only goes out if the connection is still open after a second: stop waiting sooner
  // once it is not.
  await t.c.flushed()
  await t.c.waitUntil(() => !t.open, 1000)
  if (!t.open) return t.killAfter(1)
  t.timeout('B')
  t.c.send(chops[2]!)
  await t.killAfter(1)
}

describe.each(TRANSPORTS)('Autobahn 6: UTF-8 handling (%s transport)', (transport) => {
  const suite = autobahnSuite(transport)

  suite.case('6.1.1', 'Send text message of length 0', async (t) => {
    t.expected.OK = [ev.text('')]
    t.expectedClose = normalClose
    t.sendFrame({ opcode: Op.Text, payload: '' })
    await t.closeAfter(1)
  })
  suite.case('6.1.2', 'Send fragmented text message, 3 fragments each of length 0', async (t) => {
    t.expected.OK = [ev.text('')]
    t.expectedClose = normalClose
    t.sendFrame({ opcode: Op.Text, fin: false, payload: '' })
    t.sendFrame({ opcode: Op.Continuation, fin: false, payload: '' })
    t.sendFrame({ opcode: Op.Continuation, fin: true, payload: '' })
    await t.closeAfter(1)
  })
  suite.case(
    '6.1.3',
    'Send fragmented text message, 3 fragments, first and last of length 0, middle non-empty',
    async (t) => {
      t.expected.OK = [ev.text('middle frame payload')]
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Text, fin: false, payload: '' })
      t.sendFrame({ opcode: Op.Continuation, fin: false, payload: 'middle frame payload' })
      t.sendFrame({ opcode: Op.Continuation, fin: true, payload: '' })
      await t.closeAfter(1)
    },
  )

  const HELLO = 'Hello-µ@ßöäüàá-UTF-8!!'
  suite.case('6.2.1', 'Send a valid UTF-8 text message in one fragment', async (t) => {
    t.expected.OK = [ev.text(HELLO)]
    t.expectedClose = normalClose
    await t.c.sendMessage(HELLO)
    await t.closeAfter(1)
  })
  suite.case(
    '6.2.2',
    'Send a valid UTF-8 text message in two fragments, split on a code point boundary',
    async (t) => {
      t.expected.OK = [ev.text(HELLO)]
      t.expectedClose = normalClose
      t.sendFrame({ opcode: Op.Text, fin: false, payload: 'Hello-µ@ßöä' })
      t.sendFrame({ opcode: Op.Continuation, fin: true, payload: 'üàá-UTF-8!!' })
      await t.closeAfter(1)
    },
  )
  for (const [id, payload] of [
    ['6.2.3', Buffer.from(HELLO)],
    ['6.2.4', KAPPA],
  ] as const) {
    suite.case(
      id,
      `Send a valid UTF-8 text message in fragments of 1 octet (${payload.toString('hex')})`,
      async (t) => {
        t.expected.OK = [ev.text(payload)]
        t.expectedClose = normalClose
        await t.c.sendMessage(payload, { fragmentSize: 1 })
        await t.closeAfter(1)
      },
    )
  }

  suite.case(
    '6.3.1',
    `Send invalid UTF-8 text message unfragmented (${BAD_SURROGATE.toString('hex')})`,
    async (t) => {
      t.expected.OK = []
      t.expectedClose = invalid
      await t.c.sendMessage(BAD_SURROGATE)
      await t.killAfter(1)
    },
  )
  suite.case('6.3.2', 'Send invalid UTF-8 text message in fragments of 1 octet', async (t) => {
    t.expected.OK = []
    t.expectedClose = invalid
    await t.c.sendMessage(BAD_SURROGATE, { fragmentSize: 1 })
    await t.killAfter(1)
  })

  const split641 = [KAPPA, BAD_RANGE.subarray(11, 15), EDITED]
  const split642 = [BAD_RANGE.subarray(0, 12), BAD_RANGE.subarray(12, 13), BAD_RANGE.subarray(13)]
  suite.case('6.4.1', 'Invalid UTF-8 in 3 frames, the second makes it invalid: fail fast', (t) =>
    failFast(t, split641, true),
  )
  suite.case(
    '6.4.2',
    'Invalid UTF-8 in 3 frames, the second is the one invalid octet: fail fast',
    (t) => failFast(t, split642, true),
  )
  suite.case('6.4.3', 'As 6.4.1, in 3 chops of one frame: fail fast', (t) =>
    failFast(t, split641, false),
  )
  suite.case('6.4.4', 'As 6.4.2, in 3 chops of one frame: fail fast', (t) =>
    failFast(t, split642, false),
  )

  utf8TestSequences().forEach((group, g) => {
    group.vectors.forEach(([valid, bytes], v) => {
      const id = `6.${g + 5}.${v + 1}`
      const what = valid ? 'valid' : 'invalid'
      suite.case(
        id,
        `${group.title}: ${what} UTF-8 in one fragment (${bytes.toString('hex')})`,
        async (t) => {
          if (valid) {
            t.expected.OK = [ev.text(bytes)]
            t.expectedClose = normalClose
          } else {
            t.expected.OK = []
            t.expectedClose = invalid
          }
          await t.c.sendMessage(bytes)
          await t.killAfter(0.5)
        },
      )
    })
  })

  suite.summary('6')
})
