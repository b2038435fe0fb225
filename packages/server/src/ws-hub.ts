/**
 * The WebSockets of the IO thread: an id reserved when an upgrade-capable request is
 * dispatched, the connection once a handler accepts the upgrade, commands from handlers
 * (send, close, subscribe) — queued in order while the upgrade is still on its way — and the
 * connection's events, handed to the executor in batches, one job per connection at a time.
 */
import type {
  ResponseWriter,
  Transport,
  TransportWebSocket,
  WebSocketEvents,
  WebSocketSettings,
} from '@mummy/io-loop'
import { PerMessageDeflate, type DeflateParams } from '@mummy/websocket'
import type { Executor } from './executor.js'
import type { Topics } from './pubsub.js'
import type { IdSubscriptions } from './ws-ids.js'
import {
  JOB_WS,
  type CloseMessage,
  type SendMessage,
  type StatusTable,
  type TopicMessage,
  type WsEvent,
  type WsJob,
} from './protocol.js'

/** A command for one WebSocket. */
export type WebSocketCommand = SendMessage | CloseMessage | TopicMessage

/** A WebSocket on the IO thread, from the moment its request was dispatched. */
interface WsRecord {
  /** The request's writer until the upgrade is accepted. */
  res: ResponseWriter | null
  conn: TransportWebSocket | null
  /** Commands that arrived before the upgrade did (another worker was faster). */
  early: WebSocketCommand[] | null
  /** Events submitted and not finished: reading pauses above a bound. */
  pending: number
  paused: boolean
  closed: boolean
  /** Events waiting for the connection's job in the executor to finish. */
  queue: WsEvent[]
  /** A job of this connection is in the executor. */
  inJob: boolean
  /** Its topics (kept only when topics cross instances). */
  topics: Set<string> | null
}

/** Events one WebSocket may have queued before its socket stops being read. */
const MAX_PENDING_EVENTS = 1024
/** Most events handed to a worker in one job. */
const MAX_EVENTS_PER_JOB = 256

/** A copy that owns exactly its bytes (a view would clone its whole backing buffer). */
function exact(data: Buffer): Uint8Array {
  return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
    ? data
    : new Uint8Array(data)
}

/** The WebSockets of one server. */
export class WebSocketHub {
  readonly #table: StatusTable
  readonly #settings: WebSocketSettings
  readonly #executor: () => Executor
  readonly #sockets = new Map<number, WsRecord>()
  /** Job id → [WebSocket id, number of events], for event jobs. */
  readonly #jobs = new Map<number, [number, number]>()
  #transport: Transport | null = null
  /** Topics across instances (only when there is an engine). */
  #bridge: Topics | null = null
  #ids: IdSubscriptions | null = null
  /** Set when the executor is closing: events still queued are not delivered. */
  closing = false

  /**
   * @param executor - where event jobs go (read when the first event comes).
   * @param settings - the server's WebSocket settings (`deflate` is set per connection).
   */
  constructor(table: StatusTable, settings: WebSocketSettings, executor: () => Executor) {
    this.#table = table
    this.#settings = settings
    this.#executor = executor
  }

  /** The transport whose connections these are (topics live there). */
  attach(transport: Transport): void {
    this.#transport = transport
  }

  /**
   * The server's topics: connections taking a topic with ids go to its id subscriptions; with
   * an engine, it is told of every topic a connection takes and leaves.
   */
  topics(topics: Topics): void {
    this.#ids = topics.ids
    if (topics.engine !== null) this.#bridge = topics
  }

  /** Open and reserved WebSockets. */
  get size(): number {
    return this.#sockets.size
  }

  /** The open connection of `wsId`, if any. */
  connection(wsId: number): TransportWebSocket | undefined {
    return this.#sockets.get(wsId)?.conn ?? undefined
  }

  /** An id for a request that may become a WebSocket; commands for it queue until it does. */
  reserve(res: ResponseWriter): number {
    const wsId = this.#table.allocate()
    this.#sockets.set(wsId, {
      res,
      conn: null,
      early: null,
      pending: 0,
      paused: false,
      closed: false,
      queue: [],
      inJob: false,
      topics: null,
    })
    return wsId
  }

  /** The request of `wsId` was answered without an upgrade: the id will never be used. */
  refuse(wsId: number): void {
    const record = this.#sockets.get(wsId)
    if (record !== undefined && record.conn === null) this.#forget(wsId)
  }

  /**
   * A handler accepted the upgrade of `wsId`: `head` is the 101, `deflate` what was agreed.
   * The connection's events wait until `jobId` (the job that upgraded, still running) ends,
   * so what that handler sends after upgrading always goes out before any event's answer.
   */
  accept(wsId: number, head: string, deflate: DeflateParams | null, jobId: number | null): void {
    const record = this.#sockets.get(wsId)
    if (record === undefined || record.res === null) return
    const res = record.res
    record.res = null
    const settings: WebSocketSettings = {
      ...this.#settings,
      deflate:
        deflate === null
          ? null
          : new PerMessageDeflate(deflate, { maxMessageLen: this.#settings.maxMessageLen }),
    }
    // Set before upgrading: the transport may report `open` at once.
    if (jobId !== null) {
      this.#jobs.set(jobId, [wsId, 0])
      record.inJob = true
    }
    // (Answered meanwhile: a 503 from close() at its deadline.)
    const conn = res.closed || res.ended ? null : res.upgrade(head, wsId, settings, this.events)
    if (conn === null) {
      this.#forget(wsId)
      return
    }
    record.conn = conn
    const early = record.early
    record.early = null
    if (early !== null) for (const m of early) this.command(m)
  }

  /** A command for one WebSocket: send, close, subscribe, unsubscribe. */
  command(message: WebSocketCommand): void {
    const record = this.#sockets.get(message[1])
    if (record === undefined || record.closed) return
    const conn = record.conn
    if (conn === null) {
      // The upgrade is still on its way from the worker that accepted it: keep the order.
      ;(record.early ??= []).push(message)
      return
    }
    switch (message[0]) {
      case 's':
        this.#table.taken(conn.id, message[3].byteLength)
        conn.send(message[2], message[3])
        this.#table.setBuffered(conn.id, conn.bufferedAmount)
        return
      case 'c':
        conn.close(message[2], message[3])
        return
      case 'S': {
        const ids = message[3]
        if (ids === null) {
          this.#ids?.leave(conn, message[2])
          this.#transport?.subscribe(conn, message[2])
        } else {
          this.#transport?.unsubscribe(conn, message[2])
          this.#ids?.join(conn, message[2], ids.since)
        }
        if (this.#bridge !== null && !(record.topics ??= new Set()).has(message[2])) {
          record.topics.add(message[2])
          this.#bridge.added(message[2])
        }
        return
      }
      case 'U':
        this.#transport?.unsubscribe(conn, message[2])
        this.#ids?.leave(conn, message[2])
        if (record.topics?.delete(message[2]) === true) this.#bridge?.removed(message[2])
        return
    }
  }

  /** What the transport reports for every connection. */
  readonly events: WebSocketEvents = {
    onOpen: (ws) => this.#submit(ws.id, ['open']),
    onMessage: (ws, kind, data) => this.#submit(ws.id, ['message', kind, exact(data)]),
    onError: (ws, code, message) => this.#submit(ws.id, ['error', code, message]),
    onClose: (ws, code, reason) => {
      this.#table.release(ws.id)
      this.#ids?.closed(ws.id)
      const record = this.#sockets.get(ws.id)
      if (record !== undefined) {
        record.closed = true
        if (record.topics !== null) for (const topic of record.topics) this.#bridge?.removed(topic)
        record.topics = null
      }
      this.#submit(ws.id, ['close', code, reason])
    },
    onDrain: (ws) => this.#table.setBuffered(ws.id, ws.bufferedAmount),
  }

  /**
   * Job `jobId` ended. When it was an event job, the connection's queue moves on (and its
   * socket is read again below a bound); returns whether it was one.
   */
  jobEnded(jobId: number): boolean {
    const entry = this.#jobs.get(jobId)
    if (entry === undefined) return false
    this.#jobs.delete(jobId)
    const [wsId, count] = entry
    const record = this.#sockets.get(wsId)
    if (record === undefined) return true
    record.pending -= count
    record.inJob = false
    if (record.paused && record.pending <= MAX_PENDING_EVENTS / 4) {
      record.paused = false
      record.conn?.resume()
    }
    if (record.queue.length > 0) this.#submitQueued(wsId, record)
    else if (record.closed) this.#sockets.delete(wsId)
    return true
  }

  #forget(wsId: number): void {
    this.#sockets.delete(wsId)
    this.#table.release(wsId)
  }

  #submit(wsId: number, event: WsEvent): void {
    const record = this.#sockets.get(wsId)
    if (record === undefined) return
    record.queue.push(event)
    record.pending++
    if (!record.paused && record.pending > MAX_PENDING_EVENTS && record.conn !== null) {
      record.paused = true
      record.conn.pause()
    }
    if (!record.inJob) this.#submitQueued(wsId, record)
  }

  /** Hands the connection's queued events to the executor as one job. */
  #submitQueued(wsId: number, record: WsRecord): void {
    if (this.closing) return
    const all = record.queue
    const events = all.length <= MAX_EVENTS_PER_JOB ? all : all.slice(0, MAX_EVENTS_PER_JOB)
    record.queue = all.length <= MAX_EVENTS_PER_JOB ? [] : all.slice(MAX_EVENTS_PER_JOB)
    const job: WsJob = [JOB_WS, wsId, events]
    const jobId = this.#executor().submit(job, wsId)
    this.#jobs.set(jobId, [wsId, events.length])
    record.inJob = true
  }
}
