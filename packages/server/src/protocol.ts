/**
 * The messages between the IO thread and the workers. Tuples, not objects: they are
 * structured-cloned on every request and every WebSocket event.
 */
import type { CompressionOptions } from './compression.js'
import type { DeflateOptions, DeflateParams } from '@mummy/websocket'

/** Job tags. */
export const JOB_HTTP = 0
/** A WebSocket event job. */
export const JOB_WS = 1

/** IO → worker: one request. `wsId` is non-zero when the request may be upgraded to a WebSocket. */
export type HttpJob = [
  tag: typeof JOB_HTTP,
  method: string,
  target: string,
  versionMinor: 0 | 1,
  headers: readonly string[],
  body: Uint8Array,
  remoteAddress: string,
  wsId: number,
]

/** One WebSocket event. */
export type WsEvent =
  | [event: 'open']
  | [event: 'message', kind: 'text' | 'binary' | 'ping' | 'pong', data: Uint8Array]
  | [event: 'close', code: number, reason: string]
  | [event: 'error', code: string, message: string]

/**
 * IO → worker: the WebSocket events of one connection that queued up since its last job, run
 * in order. A connection has at most one job in the pool at a time, so its events never run
 * concurrently, and a busy connection's events travel in batches rather than one round trip each.
 */
export type WsJob = [tag: typeof JOB_WS, wsId: number, events: WsEvent[]]

/** Any job payload. */
export type JobPayload = HttpJob | WsJob

/** Worker → IO: the response to the job it is posted for. */
export type ResponseMessage = [tag: 'r', status: number, headers: string[], body: Uint8Array]
/** Worker → IO: accept the WebSocket upgrade of the job's request. */
export type UpgradeMessage = [tag: 'u', wsId: number, head: string, deflate: DeflateParams | null]
/** Worker → IO: send a message on a WebSocket. */
export type SendMessage = [tag: 's', wsId: number, kind: 'text' | 'binary', data: Uint8Array]
/** Worker → IO: close a WebSocket. */
export type CloseMessage = [tag: 'c', wsId: number, code: number, reason: string]
/** Worker → IO: subscribe / unsubscribe a WebSocket to a topic. */
export type TopicMessage = [tag: 'S' | 'U', wsId: number, topic: string]
/** Worker → IO: publish to a topic (`except`: a WebSocket id not to send to, or 0). */
export type PublishMessage = [
  tag: 'p',
  topic: string,
  kind: 'text' | 'binary',
  data: Uint8Array,
  except: number,
]
/** Worker → IO: a log line. */
export type LogMessage = [tag: 'l', level: 'debug' | 'info' | 'warn' | 'error', message: string]
/** Any worker → IO message. */
export type WorkerMessage =
  | ResponseMessage
  | UpgradeMessage
  | SendMessage
  | CloseMessage
  | TopicMessage
  | PublishMessage
  | LogMessage

/** WebSocket settings the workers need to know. */
export interface WorkerWebSocketConfig {
  maxBackpressure: number
  backpressurePolicy: 'close' | 'drop'
  /** permessage-deflate offered by default on upgrades (`false` = off). */
  compression: false | DeflateOptions
  /** The shared status table (see {@link StatusTable}). */
  status: SharedArrayBuffer
}

/** What every worker is told at start (its `workerData`). */
export interface WorkerConfig {
  /** `app`: the module's default export is the handler; `script`: the module calls createServer(). */
  mode: 'app' | 'script'
  /** URL of the module to import. */
  module: string
  compression: CompressionOptions
  websocket: WorkerWebSocketConfig
}

/** The transfer list for `bytes` when it owns its whole buffer (never a pooled slab). */
export function transferList(bytes: Uint8Array): ArrayBuffer[] | undefined {
  const buffer = bytes.buffer
  if (bytes.byteLength === 0 || bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength)
    return undefined
  if (!(buffer instanceof ArrayBuffer)) return undefined
  return [buffer]
}

/**
 * A table in shared memory that lets any worker see, without a round trip, whether a
 * WebSocket is still open and how many bytes wait to be sent to it — so `ws.send()` can say
 * `sent`, `buffered` or `dropped` at once. Per slot: the id that owns it, the bytes the socket
 * has not sent yet (written by the IO thread), and the bytes workers have posted that the IO
 * thread has not taken yet (added by workers, subtracted by the IO thread).
 * Ids are `generation × SLOTS + slot` with a generation per slot, bumped at every reuse, so a
 * stale id never reads (or receives) another connection's traffic.
 */
export class StatusTable {
  /** Connections that can be tracked at once. */
  static readonly SLOTS = 1 << 18
  static readonly #CELLS = 3
  readonly buffer: SharedArrayBuffer
  readonly #cells: Int32Array
  readonly #generations: Uint16Array
  #free: number[] = []
  #next = 1

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(StatusTable.SLOTS * StatusTable.#CELLS * 4)
    this.#cells = new Int32Array(this.buffer)
    this.#generations = new Uint16Array(buffer === undefined ? StatusTable.SLOTS : 0)
  }

  /** IO thread: a new id, marked open with nothing buffered. */
  allocate(): number {
    let slot = this.#free.pop()
    if (slot === undefined) {
      if (this.#next >= StatusTable.SLOTS)
        throw new Error('more than 262,143 WebSockets open at once')
      slot = this.#next++
    }
    const generation = (this.#generations[slot] = ((this.#generations[slot] ?? 0) % 0x7fff) + 1)
    const id = generation * StatusTable.SLOTS + slot
    const at = slot * StatusTable.#CELLS
    Atomics.store(this.#cells, at + 1, 0)
    Atomics.store(this.#cells, at + 2, 0)
    Atomics.store(this.#cells, at, id | 0)
    return id
  }

  /** IO thread: the connection is gone (sends to it are dropped from now on). */
  release(id: number): void {
    const at = (id % StatusTable.SLOTS) * StatusTable.#CELLS
    if (Atomics.load(this.#cells, at) !== (id | 0)) return
    Atomics.store(this.#cells, at, 0)
    this.#free.push(id % StatusTable.SLOTS)
  }

  /** IO thread: bytes waiting in the socket of `id`. */
  setBuffered(id: number, bytes: number): void {
    const at = (id % StatusTable.SLOTS) * StatusTable.#CELLS
    if (Atomics.load(this.#cells, at) === (id | 0)) Atomics.store(this.#cells, at + 1, bytes)
  }

  /** Worker: `bytes` were posted to the IO thread for `id`. */
  posted(id: number, bytes: number): void {
    const at = (id % StatusTable.SLOTS) * StatusTable.#CELLS
    Atomics.add(this.#cells, at + 2, bytes)
  }

  /** IO thread: a posted message of `bytes` for `id` was taken. */
  taken(id: number, bytes: number): void {
    const at = (id % StatusTable.SLOTS) * StatusTable.#CELLS
    Atomics.sub(this.#cells, at + 2, bytes)
  }

  /** Any thread: bytes buffered or on their way for `id`, or -1 when it is closed (or unknown). */
  buffered(id: number): number {
    const at = (id % StatusTable.SLOTS) * StatusTable.#CELLS
    if (Atomics.load(this.#cells, at) !== (id | 0)) return -1
    return Atomics.load(this.#cells, at + 1) + Math.max(0, Atomics.load(this.#cells, at + 2))
  }
}
