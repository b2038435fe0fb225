// Runs conformance cases the way Autobahn|Testsuite's fuzzing client judges them: a case lists
// the expected event sequences per verdict and the expected closing behaviour; what actually
// came back decides OK / NON-STRICT / INFORMATIONAL / UNIMPLEMENTED or FAILED.
import { afterAll, beforeAll, expect, it } from '@jest/globals'
import { createServer, type Server } from '../../dist/index.js'
import type { TransportName } from '../fixtures/transports.js'
import {
  RawClient,
  closePayload,
  encodeFrame,
  Op,
  type ConnectOptions,
  type FrameSpec,
  type Received,
  type WriteOptions,
} from './client.js'

/** Verdicts of a case's events, as Autobahn names them. */
export type Behavior = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED'
/** Verdicts of a case's closing behaviour, as Autobahn names them. */
export type CloseBehavior =
  'OK' | 'INFORMATIONAL' | 'FAILED' | 'WRONG CODE' | 'UNCLEAN' | 'FAILED BY CLIENT'

/** How the connection is expected to end. */
export interface ExpectedClose {
  /** `true`: we start the closing handshake; `false`: the server fails the connection. */
  closedByMe: boolean
  /** Close codes the server may send (no close code at all is accepted too). */
  closeCode: number[]
  /** The closing handshake must complete (close frames both ways). */
  requireClean: boolean
}

/** Close codes used by the cases. */
export const Code = {
  Normal: 1000,
  ProtocolError: 1002,
  InvalidPayload: 1007,
  TooBig: 1009,
} as const

/** What a case produced. */
export interface CaseResult {
  id: string
  description: string
  /** The verdict counted for the case: FAILED when either Autobahn verdict is a failure. */
  verdict: Behavior
  behavior: Behavior
  behaviorClose: CloseBehavior
  /** Why, in words. */
  result: string
  ms: number
  received: string[]
  remoteCloseCode: number | null
  closedByMe: boolean
  wasClean: boolean
  serverDroppedTcp: boolean
  violation: string | null
}

const PASSING: readonly Behavior[] = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED']
/** How long the server gets to close TCP after the closing handshake. */
const DROP_TIMEOUT = 2000
/** A case that already has its expected events closes after this long without new ones. */
const QUIET_MS = 150

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function sameEvents(a: readonly Received[], b: readonly Received[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!
    const y = b[i]!
    if (x.type !== y.type) return false
    if (x.type === 'timeout') {
      if (x.label !== (y as typeof x).label) return false
    } else if (x.type === 'message') {
      const m = y as typeof x
      if (x.binary !== m.binary || !x.data.equals(m.data)) return false
    } else if (!x.data.equals((y as typeof x).data)) return false
  }
  return true
}

/** A short, readable form of an event for reports. */
export function describeEvent(e: Received): string {
  if (e.type === 'timeout') return `timeout ${e.label}`
  const hex = e.data.subarray(0, 24).toString('hex') + (e.data.length > 24 ? '…' : '')
  if (e.type === 'message')
    return `${e.binary ? 'binary' : 'text'} message ${e.data.length} B ${hex}`
  return `${e.type} ${e.data.length} B ${hex}`
}

/** Shorthands for expected events. */
export const ev = {
  text: (data: Buffer | string): Received => ({
    type: 'message',
    binary: false,
    data: Buffer.from(data),
  }),
  binary: (data: Buffer | string): Received => ({
    type: 'message',
    binary: true,
    data: Buffer.from(data),
  }),
  pong: (data: Buffer | string = ''): Received => ({ type: 'pong', data: Buffer.from(data) }),
  timeout: (label: string): Received => ({ type: 'timeout', label }),
}

/**
 * One running case: the connection, the expectations, and the actions Autobahn's cases use
 * (`sendFrame`, `sendClose`, `continueLater`, `closeAfter`, `killAfter`).
 */
export class CaseRun {
  readonly c: RawClient
  /** Expected event sequences per verdict; empty: the case sets {@link CaseRun.behavior} itself. */
  expected: Partial<Record<'OK' | 'NON-STRICT' | 'INFORMATIONAL', Received[]>> = {}
  expectedClose: ExpectedClose = { closedByMe: true, closeCode: [Code.Normal], requireClean: true }
  /** The case sends bad close frames itself: no automatic close when the events match. */
  suppressClose = false
  /** For cases that judge themselves (sections 9, 12, 13). */
  behavior: Behavior = 'FAILED'
  result = ''
  /** Runs after the connection is gone, like Autobahn's per-case `onConnectionLost`. */
  onConnectionLost: ((r: { behavior: Behavior; behaviorClose: CloseBehavior }) => void) | null =
    null
  readonly #started = Date.now()
  #lastEventAt = Date.now()

  constructor(client: RawClient) {
    this.c = client
    let seen = 0
    client.onChange(() => {
      if (client.received.length === seen) return
      seen = client.received.length
      this.#lastEventAt = Date.now()
      this.#finishWhenDone()
    })
  }

  /** The connection is open: no close frame either way, TCP up. */
  get open(): boolean {
    return !this.c.closeSent && !this.c.closeReceived && !this.c.tcpClosed
  }

  sendFrame(spec: FrameSpec & WriteOptions): void {
    if (this.c.tcpClosed) return
    this.c.sendFrame(spec)
  }

  /** A well-formed close (code and UTF-8 reason). */
  sendClose(code?: number, reason?: string): void {
    this.c.sendClose(code, reason)
  }

  /** A close frame with any code and reason bytes, valid or not. */
  sendCloseFrame(code?: number, reason?: Buffer | string): void {
    if (this.c.tcpClosed) return
    if (!this.c.closeSent && !this.c.closeReceived) this.c.closedByMe = true
    this.c.closeSent = true
    this.c.send(encodeFrame({ opcode: Op.Close, payload: closePayload(code, reason) }))
  }

  /** Records a "timeout" event (the peer was still open when a wait ended). */
  timeout(label: string): void {
    this.c.received.push({ type: 'timeout', label })
  }

  /** Waits `seconds` before the next step (after the queued writes went out). */
  async continueLater(seconds: number): Promise<void> {
    await this.c.flushed()
    await delay(seconds * 1000)
  }

  /**
   * Sends a normal close after `seconds` at the latest; earlier once the events match an
   * expected sequence and nothing more arrived for a moment. Then waits for the end.
   */
  async closeAfter(seconds: number): Promise<void> {
    const deadline = Date.now() + seconds * 1000
    await this.c.flushed()
    for (;;) {
      if (!this.open) break
      const now = Date.now()
      if (now >= deadline) break
      if (this.#matches() !== null && now - this.#lastEventAt >= QUIET_MS) break
      await this.c.waitUntil(() => !this.open, Math.min(QUIET_MS, deadline - now))
    }
    if (this.open) this.c.sendClose(Code.Normal)
    await this.#awaitEnd(DROP_TIMEOUT)
  }

  /** Drops TCP after `seconds` if it is still up. */
  async killAfter(seconds: number): Promise<void> {
    await this.#awaitEnd(seconds * 1000)
  }

  /** Waits for the server to close TCP; gives up (dropping it ourselves) after `ms`. */
  async #awaitEnd(ms: number): Promise<void> {
    const c = this.c
    const deadline = Date.now() + ms
    await c.waitUntil(() => c.tcpClosed, ms)
    // After a completed closing handshake the server gets its own time to drop TCP.
    if (!c.tcpClosed && c.closeSent && c.closeReceived) {
      await c.waitUntil(() => c.tcpClosed, Math.max(DROP_TIMEOUT, deadline - Date.now()))
    }
    if (!c.tcpClosed) {
      c.drop()
      await c.closed
    }
    await c.settled()
  }

  /** The verdict whose expected events equal what was received, or `null`. */
  #matches(): Behavior | null {
    for (const key of ['OK', 'NON-STRICT', 'INFORMATIONAL'] as const) {
      const want = this.expected[key]
      if (want !== undefined && sameEvents(this.c.received, want)) return key
    }
    return null
  }

  /** Autobahn's finishWhenDone: when the events equal every expectation, start closing. */
  #finishWhenDone(): void {
    const outcomes = Object.values(this.expected)
    if (outcomes.length === 0) return
    if (!outcomes.every((want) => sameEvents(this.c.received, want))) return
    if (this.expectedClose.closedByMe && !this.suppressClose && this.open) {
      this.c.sendClose(this.expectedClose.closeCode[0])
    }
  }

  /** Ends the connection if the case did not, and judges the case. */
  async finish(id: string, description: string): Promise<CaseResult> {
    await this.#awaitEnd(DROP_TIMEOUT)
    const c = this.c
    let behavior: Behavior
    let result: string
    if (Object.keys(this.expected).length > 0) {
      behavior = this.#matches() ?? 'FAILED'
      result =
        behavior === 'FAILED'
          ? 'Actual events differ from any expected.'
          : 'Actual events match at least one expected.'
    } else {
      behavior = this.behavior
      result = this.result
    }
    const wasClean = c.closeSent && c.closeReceived && c.violation === null
    const want = this.expectedClose
    let behaviorClose: CloseBehavior
    if (want.closedByMe !== c.closedByMe) behaviorClose = 'FAILED'
    else if (want.requireClean && !wasClean) behaviorClose = 'UNCLEAN'
    else if (c.remoteCloseCode !== null && !want.closeCode.includes(c.remoteCloseCode)) {
      behaviorClose = 'WRONG CODE'
    } else if (c.droppedByMe) behaviorClose = 'FAILED BY CLIENT'
    else behaviorClose = 'OK'
    const verdicts: { behavior: Behavior; behaviorClose: CloseBehavior } = {
      behavior,
      behaviorClose,
    }
    this.onConnectionLost?.(verdicts)
    behavior = verdicts.behavior
    const finalClose: CloseBehavior = verdicts.behaviorClose
    if (c.violation !== null) {
      behavior = 'FAILED'
      result = `the server broke the protocol: ${c.violation}`
    }
    const closeOk = finalClose === 'OK' || finalClose === 'INFORMATIONAL'
    const verdict: Behavior = PASSING.includes(behavior) && closeOk ? behavior : 'FAILED'
    if (verdict === 'FAILED' && behavior !== 'FAILED') {
      result = `closing behaviour ${finalClose}: ${closeExplanation(finalClose, want)}`
    }
    return {
      id,
      description,
      verdict,
      behavior,
      behaviorClose: finalClose,
      result,
      ms: Date.now() - this.#started,
      received: c.received.map(describeEvent),
      remoteCloseCode: c.remoteCloseCode,
      closedByMe: c.closedByMe,
      wasClean,
      serverDroppedTcp: c.serverDroppedTcp,
      violation: c.violation,
    }
  }
}

function closeExplanation(b: CloseBehavior, want: ExpectedClose): string {
  switch (b) {
    case 'FAILED':
      return 'the connection was failed by the wrong endpoint'
    case 'UNCLEAN':
      return 'the closing handshake did not complete'
    case 'WRONG CODE':
      return `the close code should have been ${want.closeCode.join(',')} or empty`
    case 'FAILED BY CLIENT':
      return 'the server did not close the TCP connection'
    default:
      return ''
  }
}

/** Counts verdicts per section and prints one line per section. */
export class Tally {
  readonly #counts = new Map<string, Record<Behavior, number>>()
  readonly #results: CaseResult[] = []

  add(result: CaseResult): void {
    this.#results.push(result)
    const section = result.id.split('.')[0]!
    let counts = this.#counts.get(section)
    if (counts === undefined) {
      counts = { OK: 0, 'NON-STRICT': 0, INFORMATIONAL: 0, UNIMPLEMENTED: 0, FAILED: 0 }
      this.#counts.set(section, counts)
    }
    counts[result.verdict]++
  }

  counts(section: string): Record<Behavior, number> {
    return (
      this.#counts.get(section) ?? {
        OK: 0,
        'NON-STRICT': 0,
        INFORMATIONAL: 0,
        UNIMPLEMENTED: 0,
        FAILED: 0,
      }
    )
  }

  /** One line per case of `section`: id, verdict, both Autobahn verdicts, why, duration. */
  details(section: string): string {
    return this.#results
      .filter((r) => r.id.split('.')[0] === section)
      .map((r) => {
        const line = `${r.id} ${r.verdict} (${r.behavior} / ${r.behaviorClose}, close code ${r.remoteCloseCode ?? '-'}, ${r.ms} ms) ${r.result}`
        return r.verdict === 'FAILED' ? `${line} received: [${r.received.join('; ')}]` : line
      })
      .join('\n')
  }

  line(section: string): string {
    const c = this.counts(section)
    const parts = [
      `${c.OK} OK`,
      `${c['NON-STRICT']} NON-STRICT`,
      `${c.INFORMATIONAL} INFORMATIONAL`,
    ]
    if (c.UNIMPLEMENTED > 0) parts.push(`${c.UNIMPLEMENTED} UNIMPLEMENTED`)
    parts.push(`${c.FAILED} FAILED`)
    return `section ${section}: ${parts.join(', ')}`
  }
}

/** Options of one case. */
export interface CaseOptions extends ConnectOptions {
  /** jest timeout for the case, ms (default 15 s). */
  timeout?: number
}

/** The case body: set expectations, send, then end with `closeAfter` / `killAfter` (or not). */
export type CaseBody = (t: CaseRun) => Promise<void> | void

/**
 * Declares the cases of one test file against one echo server (4 workers, 16 MiB messages),
 * plus a summary test per section that prints its counts and requires zero FAILED.
 *
 * @example
 * ```ts
 * const suite = autobahnSuite()
 * suite.case('2.2', 'Send ping with small text payload', (t) => { ... })
 * suite.summary('2')
 * ```
 */
export function autobahnSuite(transport: TransportName = 'node'): {
  case: (id: string, description: string, body: CaseBody, options?: CaseOptions) => void
  summary: (...sections: string[]) => void
  port: () => number
} {
  let server: Server
  const tally = new Tally()
  beforeAll(async () => {
    server = createServer({
      transport,
      app: new URL('../fixtures/echo-app.js', import.meta.url),
      workers: 4,
      maxMessageLen: 16 * 1024 * 1024,
      logHandler: () => {},
    })
    await server.listen(0, '127.0.0.1')
  })
  afterAll(() => server.close())

  return {
    port: () => server.port,
    case(id, description, body, options = {}) {
      it(
        `${id} ${description}`,
        async () => {
          const client = await RawClient.connect(server.port, options)
          const run = new CaseRun(client)
          let result: CaseResult
          try {
            await body(run)
          } finally {
            result = await run.finish(id, description)
            tally.add(result)
          }
          expect(result).toEqual(
            expect.objectContaining({
              verdict: expect.stringMatching(/^(OK|NON-STRICT|INFORMATIONAL|UNIMPLEMENTED)$/),
            }),
          )
        },
        options.timeout ?? 15_000,
      )
    },
    summary(...sections) {
      for (const section of sections) {
        it(`section ${section}: no case FAILED`, () => {
          // AUTOBAHN_VERBOSE=1 lists every case with its verdicts.
          const verbose = process.env.AUTOBAHN_VERBOSE === '1'
          const line = `[${transport}] ${tally.line(section)}`
          console.log(verbose ? `${line}\n${tally.details(section)}` : line)
          expect(tally.counts(section).FAILED).toBe(0)
        })
      }
    },
  }
}
