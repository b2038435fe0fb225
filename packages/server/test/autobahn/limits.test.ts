// Autobahn sections 9 (limits and performance) and 10 (auto-fragmentation), with Autobahn's
// sizes, fragment sizes, chop sizes and message counts (the whole of section 9 takes about ten
// seconds here). The server's maxMessageLen is 16 MiB, the largest message of 9.1 / 9.2.
import { describe } from '@jest/globals'
import { TRANSPORTS } from '../fixtures/transports.js'
import { Op, encodeFrame, repeatTo } from './client.js'
import { Code, autobahnSuite, ev, type CaseRun } from './harness.js'

const KiB = 1024
const MiB = 1024 * KiB

function size(n: number): string {
  return n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`
}

/** Section 9's own judgement: OK once the expected message came back, then a normal close. */
async function expectEcho(
  t: CaseRun,
  binary: boolean,
  len: number,
  waitSecs: number,
): Promise<void> {
  t.expectedClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
  t.result = `Did not receive the message within ${waitSecs} s.`
  const c = t.c
  await c.waitUntil(() => c.received.length > 0 || !t.open, waitSecs * 1000)
  const got = c.received[0]
  if (got?.type === 'message') {
    if (got.binary !== binary)
      t.result = `Expected a ${binary ? 'binary' : 'text'} message, got the other kind.`
    else if (got.data.length !== len) t.result = `Expected ${len} bytes, got ${got.data.length}.`
    else {
      t.behavior = 'OK'
      t.result = `Received a message of ${len} bytes.`
    }
  }
  t.sendClose(Code.Normal)
  await t.killAfter(2)
}

describe.each(TRANSPORTS)(
  'Autobahn 9 and 10: limits, performance, auto-fragmentation (%s transport)',
  (transport) => {
    const suite = autobahnSuite(transport)

    // 9.1 text / 9.2 binary: one message of 64 KiB … 16 MiB (the server's maxMessageLen here).
    const single = [64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB, 8 * MiB, 16 * MiB]
    for (const [sub, binary] of [
      [1, false],
      [2, true],
    ] as const) {
      const unit = binary ? Buffer.from([0x00, 0xfe, 0x23, 0xfa, 0xf0]) : 'BAsd7&jh23'
      single.forEach((len, i) => {
        suite.case(
          `9.${sub}.${i + 1}`,
          `Send ${binary ? 'binary' : 'text'} message of ${size(len)}`,
          async (t) => {
            t.sendFrame({ opcode: binary ? Op.Binary : Op.Text, payload: unit, payloadLen: len })
            await expectEcho(t, binary, len, 10)
          },
          { timeout: 30_000 },
        )
      })
    }

    // 9.3 text / 9.4 binary: one 4 MiB message in fragments of 64 B … 4 MiB.
    const FRAGMENTED = 4 * MiB
    const fragSizes = [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB]
    for (const [sub, binary] of [
      [3, false],
      [4, true],
    ] as const) {
      const payload = repeatTo(binary ? Buffer.from([0xfe]) : '*', FRAGMENTED)
      fragSizes.forEach((frag, i) => {
        suite.case(
          `9.${sub}.${i + 1}`,
          `Send fragmented ${binary ? 'binary' : 'text'} message of ${size(FRAGMENTED)} in fragments of ${size(frag)}`,
          async (t) => {
            await t.c.sendMessage(payload, { binary, fragmentSize: frag })
            await expectEcho(t, binary, FRAGMENTED, 20)
          },
          { timeout: 30_000 },
        )
      })
    }

    // 9.5 text / 9.6 binary: one 1 MiB message written in chops of 64 … 2048 B.
    const CHOPPED = 1 * MiB
    const chopSizes = [64, 128, 256, 512, 1024, 2048]
    for (const [sub, binary] of [
      [5, false],
      [6, true],
    ] as const) {
      const unit = binary ? Buffer.from([0x00, 0xfe, 0x23, 0xfa, 0xf0]) : 'BAsd7&jh23'
      chopSizes.forEach((chopsize, i) => {
        suite.case(
          `9.${sub}.${i + 1}`,
          `Send ${binary ? 'binary' : 'text'} message of ${size(CHOPPED)} in chops of ${chopsize} B`,
          async (t) => {
            t.sendFrame({
              opcode: binary ? Op.Binary : Op.Text,
              payload: unit,
              payloadLen: CHOPPED,
              chopsize,
            })
            await expectEcho(t, binary, CHOPPED, 20)
          },
          { timeout: 30_000 },
        )
      })
    }

    // 9.7 text / 9.8 binary: 1000 round trips each, one message at a time.
    const COUNT = 1000
    const rtSizes = [0, 16, 64, 256, 1024, 4096]
    for (const [sub, binary] of [
      [7, false],
      [8, true],
    ] as const) {
      rtSizes.forEach((len, i) => {
        suite.case(
          `9.${sub}.${i + 1}`,
          `Send ${COUNT} ${binary ? 'binary' : 'text'} messages of ${len} B one after another`,
          async (t) => {
            t.expectedClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
            t.result = 'Case did not finish in time.'
            const frame = (): Buffer =>
              encodeFrame({
                opcode: binary ? Op.Binary : Op.Text,
                payload: binary ? Buffer.from([0xfe]) : '*',
                payloadLen: len,
              })
            const started = Date.now()
            for (let n = 0; n < COUNT; n++) {
              t.c.send(frame())
              const ok = await t.c.waitUntil(() => t.c.received.length > n || !t.open, 10_000)
              const got = t.c.received[n]
              if (
                !ok ||
                got?.type !== 'message' ||
                got.binary !== binary ||
                got.data.length !== len
              ) {
                t.result = `Message ${n + 1}: the echo was missing, of the wrong kind or length.`
                break
              }
              if (n === COUNT - 1) {
                t.behavior = 'OK'
                t.result = `${COUNT} round trips in ${Date.now() - started} ms.`
              }
            }
            t.sendClose(Code.Normal)
            await t.killAfter(2)
          },
          { timeout: 30_000 },
        )
      })
    }

    suite.case(
      '10.1.1',
      'Send text message of 65536 B auto-fragmented into frames of 1300 B',
      async (t) => {
        const payload = repeatTo('*', 65536)
        t.expected.OK = [ev.text(payload)]
        t.expectedClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
        await t.c.sendMessage(payload, { fragmentSize: 1300 })
        // Autobahn also checks the frames that went out: 50 of 1300 bytes and one of 536.
        const frames = t.c.lastMessageFrames
        t.onConnectionLost = (r) => {
          if (frames !== 51) r.behavior = 'FAILED'
        }
        await t.killAfter(10)
      },
    )

    suite.summary('9', '10')
  },
)
