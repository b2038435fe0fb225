// Autobahn sections 12 and 13 (permessage-deflate, RFC 7692), a subset: messages cut from
// realistic data are sent compressed (the client compresses with its own zlib stream,
// context takeover as agreed), optionally auto-fragmented, and must come back identical.
// 12.x use Autobahn's default offer on four data sets; 13.x vary the offer. Autobahn sends
// 1000 messages per case; here at most 250 and at most 2 MiB of payload (at least 16) per case.
import { describe } from '@jest/globals'
import { TRANSPORTS } from '../fixtures/transports.js'
import { Code, autobahnSuite, type CaseRun } from './harness.js'
import { compressionTestData, type TestData } from './testdata.js'

/** Autobahn's (payload length, auto-fragment size) list; case x.y.N uses entry N. */
const MSG_SIZES: ReadonlyArray<readonly [len: number, autoFragment: number]> = [
  [16, 0],
  [64, 0],
  [256, 0],
  [1024, 0],
  [4096, 0],
  [8192, 0],
  [16384, 0],
  [32768, 0],
  [65536, 0],
  [131072, 0],
  [8192, 256],
  [16384, 256],
  [32768, 256],
  [65536, 256],
  [131072, 256],
  [131072, 1024],
  [131072, 4096],
  [131072, 32768],
]

function messageCount(len: number): number {
  return Math.min(250, Math.max(16, Math.floor((2 * 1024 * 1024) / len)))
}

/** `len` bytes of `data` starting at `from`, wrapping around. */
function slice(data: Buffer, from: number, len: number): Buffer {
  const out = Buffer.allocUnsafe(len)
  let at = 0
  let i = from % data.length
  while (at < len) {
    const n = data.copy(out, at, i, Math.min(data.length, i + len - at))
    at += n
    i = (i + n) % data.length
  }
  return out
}

/** Sends the messages one at a time, each after the previous echo, and judges the echoes. */
async function roundTrips(
  t: CaseRun,
  data: TestData,
  len: number,
  autoFragment: number,
): Promise<void> {
  t.expectedClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
  const c = t.c
  if (c.deflate === null) {
    t.behavior = 'UNIMPLEMENTED'
    t.result = 'permessage-deflate was not agreed (the server declined the offer).'
    t.sendClose(Code.Normal)
    await t.killAfter(2)
    return
  }
  const count = messageCount(len)
  t.result = 'Case did not finish in time.'
  let ptr = 0
  for (let n = 0; n < count; n++) {
    const msg = slice(data.bytes, ptr, len)
    ptr = (ptr + len) % data.bytes.length
    await c.sendMessage(msg, {
      binary: data.binary,
      ...(autoFragment > 0 ? { fragmentSize: autoFragment } : {}),
    })
    await c.waitUntil(() => c.received.length > n || !t.open, 20_000)
    const got = c.received[n]
    if (got?.type !== 'message') {
      t.result = `Message ${n + 1}: no echo (${c.violation ?? 'connection ended or timed out'}).`
      break
    }
    if (got.binary !== data.binary) {
      t.result = `Message ${n + 1}: echoed as ${got.binary ? 'binary' : 'text'}.`
      break
    }
    if (!got.data.equals(msg)) {
      t.result = `Message ${n + 1}: echo differs (${got.data.length} bytes, expected ${len}).`
      break
    }
    if (n === count - 1) {
      t.behavior = 'OK'
      t.result = `Received all ${count} echoed messages.`
    }
  }
  t.sendClose(Code.Normal)
  await t.killAfter(2)
}

/** `permessage-deflate` offers as Autobahn's client writes them. */
function offer(o: { noContext?: boolean; maxWindowBits?: number } = {}): string {
  let s = 'permessage-deflate; client_no_context_takeover; client_max_window_bits'
  if (o.noContext === true) s += '; server_no_context_takeover'
  if (o.maxWindowBits !== undefined) s += `; server_max_window_bits=${o.maxWindowBits}`
  return s
}

describe.each(TRANSPORTS)('Autobahn 12 and 13: permessage-deflate (%s transport)', (transport) => {
  const suite = autobahnSuite(transport)
  const data = compressionTestData()

  // 12.x: the default offer, four data sets, a spread of sizes and auto-fragment sizes.
  const sizes12 = [1, 3, 5, 9, 10, 11, 16, 18]
  data.forEach((set, d) => {
    for (const i of sizes12) {
      const [len, frag] = MSG_SIZES[i - 1]!
      suite.case(
        `12.${d + 1}.${i}`,
        `${set.title}: ${messageCount(len)} compressed messages of ${len} B, auto-fragment ${frag}`,
        (t) => roundTrips(t, set, len, frag),
        { path: '/deflate', extensions: offer(), timeout: 30_000 },
      )
    }
  })

  // 13.x: the offers of Autobahn's 13.1 … 13.7 (JSON data), then two offers beyond Autobahn's
  // (13.8, 13.9) that leave context takeover on in both directions.
  const offers13: ReadonlyArray<readonly [string, string]> = [
    ['default offer', offer()],
    ['server_no_context_takeover', offer({ noContext: true })],
    ['server_max_window_bits=8', offer({ maxWindowBits: 8 })],
    ['server_max_window_bits=15', offer({ maxWindowBits: 15 })],
    [
      'server_no_context_takeover, server_max_window_bits=8',
      offer({ noContext: true, maxWindowBits: 8 }),
    ],
    [
      'server_no_context_takeover, server_max_window_bits=15',
      offer({ noContext: true, maxWindowBits: 15 }),
    ],
    [
      '3 offers: (no context, 8 bits), (no context), default',
      [offer({ noContext: true, maxWindowBits: 8 }), offer({ noContext: true }), offer()].join(
        ', ',
      ),
    ],
    ['not in Autobahn: bare offer, context takeover both ways', 'permessage-deflate'],
    [
      'not in Autobahn: server_max_window_bits=10, context takeover both ways',
      'permessage-deflate; server_max_window_bits=10',
    ],
  ]
  const sizes13 = [1, 5, 10, 15, 18]
  offers13.forEach(([said, extensions], j) => {
    for (const i of sizes13) {
      const [len, frag] = MSG_SIZES[i - 1]!
      suite.case(
        `13.${j + 1}.${i}`,
        `${said}: ${messageCount(len)} compressed messages of ${len} B, auto-fragment ${frag}`,
        (t) => roundTrips(t, data[0]!, len, frag),
        { path: '/deflate', extensions, timeout: 30_000 },
      )
    }
  })

  suite.summary('12', '13')
})
