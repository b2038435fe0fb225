/**
 * The messages between the IO thread and the workers. Tuples, not objects: they are
 * structured-cloned on every request and every WebSocket event.
 */
import type { CompressionOptions } from './compression.js'
import type { TusPatchResult, TusSettings, UploadedFile } from '@mummy/uploads'
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
  /** Files of an upload (`uploads` option), on disk; `null` otherwise. */
  files: UploadedFile[] | null,
  /** Fields of an upload, in order; `null` otherwise. */
  fields: [string, string][] | null,
  /** What the IO thread wrote of a tus PATCH body; `null` otherwise. */
  tus: TusPatchResult | null,
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

/** An event-stream event job. */
export const JOB_SSE = 2

/** IO → worker: an event stream is over; run the app's `sseHandler` for it. */
export type SseJob = [tag: typeof JOB_SSE, streamId: number, event: 'close']

/** Any job payload. */
export type JobPayload = HttpJob | WsJob | SseJob

/** Worker → IO: the response to the job it is posted for. */
export type ResponseMessage = [tag: 'r', status: number, headers: string[], body: Uint8Array]
/** Worker → IO: accept the WebSocket upgrade of the job's request. */
export type UpgradeMessage = [tag: 'u', wsId: number, head: string, deflate: DeflateParams | null]
/** Worker → IO: send a message on a WebSocket. */
export type SendMessage = [tag: 's', wsId: number, kind: 'text' | 'binary', data: Uint8Array]
/** Worker → IO: close a WebSocket. */
export type CloseMessage = [tag: 'c', wsId: number, code: number, reason: string]
/**
 * Worker → IO: subscribe / unsubscribe a WebSocket to a topic; `ids` (subscribe): take it with
 * ids, catching up after `since` where that is not `null`.
 */
export type TopicMessage = [
  tag: 'S' | 'U',
  wsId: number,
  topic: string,
  ids: { since: string | null } | null,
]
/** Worker → IO: publish to a topic (`except`: a WebSocket id not to send to, or 0). */
export type PublishMessage = [
  tag: 'p',
  topic: string,
  kind: 'text' | 'binary',
  data: Uint8Array,
  except: number,
]
/**
 * Worker → IO: answer the job's request with a streamed response; `streamId` was claimed in
 * the {@link StatusTable} by the worker.
 */
export type StreamStartMessage = [
  tag: 'h',
  streamId: number,
  status: number,
  headers: string[],
  sse: boolean,
  /** The body's exact length when known (`Content-Length`), else -1. */
  length: number,
]
/**
 * Worker → IO: an event for every event stream subscribed to `topic` (checked by the worker,
 * encoded once on the IO thread: it may cross instances and take a history id there).
 */
export type SsePublishMessage = [
  tag: 'P',
  topic: string,
  event: { event?: string; data: string; id?: string; retry?: number },
]
/**
 * Worker → IO: subscribe (`T`) / unsubscribe (`V`) an event stream to a topic; `since`: the
 * stream's `Last-Event-ID`, to catch up from where the topic keeps history.
 */
export type SseTopicMessage = [
  tag: 'T' | 'V',
  streamId: number,
  topic: string,
  since: string | null,
]
/** Worker → IO: one piece of a streamed response's body. */
export type StreamWriteMessage = [tag: 'w', streamId: number, data: Uint8Array]
/** Worker → IO: end a streamed response (`e`), or drop its connection (`x`: over its limit). */
export type StreamEndMessage = [tag: 'e' | 'x', streamId: number]
/**
 * Worker → IO: send `length` bytes of the open file `fd` from `position` as the body of
 * streamed response `streamId`, then end it; the IO thread reads the file and closes `fd`
 * (descriptors belong to the process, not to a thread).
 */
export type FileMessage = [tag: 'f', streamId: number, fd: number, position: number, length: number]
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
  | StreamStartMessage
  | StreamWriteMessage
  | StreamEndMessage
  | FileMessage
  | SseTopicMessage
  | SsePublishMessage
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
  /** tus uploads (`uploads.tus`), or `null` when off. */
  tus: TusSettings | null
}

/** The transfer list for `bytes` when it owns its whole buffer (never a pooled slab). */
export function transferList(bytes: Uint8Array): ArrayBuffer[] | undefined {
  const buffer = bytes.buffer
  if (bytes.byteLength === 0 || bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength)
    return undefined
  if (!(buffer instanceof ArrayBuffer)) return undefined
  return [buffer]
}

/** `Atomics.waitAsync` (ES2024; in every Node this package supports). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      timeout: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> }
  }
).waitAsync

/**
 * A table in shared memory that lets any worker see, without a round trip, whether a
 * WebSocket or a streamed response is still open and how many bytes wait to be sent to it —
 * so `ws.send()` and `stream.write()` can say `sent`, `buffered` or `dropped` at once. Per
 * slot: the id that owns it, the bytes the socket has not sent yet (written by the IO
 * thread), the bytes workers have posted that the IO thread has not taken yet (added by
 * workers, subtracted by the IO thread), the slot's generation, and a change counter the IO
 * thread bumps (and notifies) whenever the sent bytes or the open state change, which
 * `stream.drained()` waits on with `Atomics.waitAsync` instead of polling.
 * Ids are `generation × SLOTS + slot` with a generation per slot, bumped at every reuse, so a
 * stale id never reads (or receives) another connection's traffic. The lower half of the
 * slots is handed out by the IO thread (WebSockets, from a free list); the upper half is
 * claimed by any thread with a compare-and-swap (streamed responses, which a worker opens
 * without a round trip).
 */
export class StatusTable {
  /** Connections that can be tracked at once. */
  static readonly SLOTS = 1 << 18
  /** First slot of the half claimed with compare-and-swap. */
  static readonly #SHARED = (1 << 18) >>> 1
  static readonly #CELLS = 5
  readonly buffer: SharedArrayBuffer
  readonly #cells: Int32Array
  #free: number[] = []
  #next = 1
  /** Where this thread looks for a free shared slot next. */
  #cursor: number

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(StatusTable.SLOTS * StatusTable.#CELLS * 4)
    this.#cells = new Int32Array(this.buffer)
    const half = StatusTable.SLOTS - StatusTable.#SHARED
    this.#cursor = StatusTable.#SHARED + Math.floor(Math.random() * half)
  }

  /** Makes `slot` (reserved by the caller) live under a new generation; returns its id. */
  #open(slot: number): number {
    const at = slot * StatusTable.#CELLS
    // 1…16382: an id then stays below 2³² − 2¹⁸, so `id | 0` is never 0 or -1.
    const generation = ((Atomics.load(this.#cells, at + 3) % 0x3ffe) + 1) | 0
    Atomics.store(this.#cells, at + 3, generation)
    const id = generation * StatusTable.SLOTS + slot
    Atomics.store(this.#cells, at + 1, 0)
    Atomics.store(this.#cells, at + 2, 0)
    Atomics.store(this.#cells, at, id | 0)
    return id
  }

  /** IO thread: a new WebSocket id, marked open with nothing buffered. */
  allocate(): number {
    let slot = this.#free.pop()
    if (slot === undefined) {
      if (this.#next >= StatusTable.#SHARED)
        throw new Error('more than 131,071 WebSockets open at once')
      slot = this.#next++
    }
    return this.#open(slot)
  }

  /**
   * Any thread: a new stream id from the shared half, marked open with nothing buffered;
   * `0` when every shared slot is taken.
   */
  claim(): number {
    const first = StatusTable.#SHARED
    const span = StatusTable.SLOTS - first
    let slot = this.#cursor
    for (let tries = 0; tries < span; tries++) {
      if (++slot >= StatusTable.SLOTS) slot = first
      const at = slot * StatusTable.#CELLS
      // -1 marks a slot being claimed (no id is -1: generations are positive).
      if (
        Atomics.load(this.#cells, at) === 0 &&
        Atomics.compareExchange(this.#cells, at, 0, -1) === 0
      ) {
        this.#cursor = slot
        return this.#open(slot)
      }
    }
    return 0
  }

  /** IO thread: the connection is gone (sends to it are dropped from now on). */
  release(id: number): void {
    const slot = id % StatusTable.SLOTS
    const at = slot * StatusTable.#CELLS
    if (Atomics.load(this.#cells, at) !== (id | 0)) return
    Atomics.store(this.#cells, at, 0)
    this.#changed(at)
    if (slot < StatusTable.#SHARED) this.#free.push(slot)
  }

  /** Any thread: `true` while `id` is open. */
  isOpen(id: number): boolean {
    return Atomics.load(this.#cells, (id % StatusTable.SLOTS) * StatusTable.#CELLS) === (id | 0)
  }

  /** IO thread: bytes waiting in the socket of `id`. */
  setBuffered(id: number, bytes: number): void {
    const at = (id % StatusTable.SLOTS) * StatusTable.#CELLS
    if (Atomics.load(this.#cells, at) !== (id | 0)) return
    Atomics.store(this.#cells, at + 1, bytes)
    this.#changed(at)
  }

  /** Wakes whoever waits for a change of the slot at `at`. */
  #changed(at: number): void {
    Atomics.add(this.#cells, at + 4, 1)
    Atomics.notify(this.#cells, at + 4)
  }

  /**
   * Any thread: the change counter of `id`'s slot. Read it before looking at
   * {@link buffered}, then {@link changedSince} wakes at the first change after that look.
   */
  version(id: number): number {
    return Atomics.load(this.#cells, (id % StatusTable.SLOTS) * StatusTable.#CELLS + 4)
  }

  /**
   * Any thread: resolves once the slot of `id` changed since it read `version` (at once when
   * it already has), or after `timeoutMs`.
   */
  changedSince(id: number, version: number, timeoutMs = Infinity): Promise<void> {
    const at = (id % StatusTable.SLOTS) * StatusTable.#CELLS + 4
    const wait = waitAsync(this.#cells, at, version, timeoutMs)
    return wait.async ? wait.value.then(() => undefined) : Promise.resolve()
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
