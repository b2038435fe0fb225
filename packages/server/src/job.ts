/**
 * The job function: what runs one job — an HTTP request through the handler, a batch of
 * WebSocket events through the `websocketHandler`, the end of an event stream through the
 * `sseHandler` — wherever it runs. Workers run it (worker-main.ts); inline mode runs the very
 * same function on the IO thread (executor.ts), so there is one request path.
 */
import type { JobContext } from '@mummy/workers'
import type { App } from './app.js'
import { runHandler } from './handler.js'
import { describeError, type LogLevel } from './log.js'
import {
  JOB_HTTP,
  JOB_SSE,
  transferList,
  type HttpJob,
  type JobPayload,
  type StatusTable,
  type WorkerMessage,
  type WsEvent,
  type WsJob,
} from './protocol.js'
import { Request, type ResponseSettings } from './request.js'
import { SseStream } from './sse.js'
import { WebSocket, toMessage } from './websocket.js'

/** What a job posts its answers through: a worker's job context, or its inline stand-in. */
export type JobPort = Pick<JobContext, 'flush' | 'noTimeout'> & {
  post(message: WorkerMessage, transfer?: ArrayBuffer[]): void
  postLast(message: WorkerMessage, transfer?: ArrayBuffer[]): void
}

/** Runs one job; a promise when the job awaits. */
export type JobFunction = (job: JobPayload, port: JobPort) => void | Promise<void>

/** What the job function needs besides the job. */
export interface JobEnvironment {
  readonly app: App
  readonly settings: ResponseSettings
  /** The status table streams are claimed in. */
  readonly table: StatusTable
  readonly log: (level: LogLevel, message: string) => void
  /**
   * Response bodies are moved to another thread: each must own its whole buffer (a view of a
   * pooled slab is copied first). `false` on the IO thread, where nothing moves.
   */
  readonly transfer: boolean
}

const EMPTY = Buffer.alloc(0)
/**
 * Answers at least this large are moved to the IO thread; smaller ones are cloned, which costs
 * less than detaching and moving a buffer.
 */
const MOVE_FROM = 16 * 1024

/** A copy that owns exactly its bytes: cloning a view would copy its whole backing buffer. */
function exact(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes)
}

/** The job function for `env`. */
export function jobFunction(env: JobEnvironment): JobFunction {
  const { app, settings, table, log, transfer } = env

  function wsFailed(event: WsEvent, error: unknown): void {
    log('error', `websocketHandler (${event[0]}) failed: ${describeError(error)}`)
  }

  /** Runs one connection's events in order (awaiting async handlers between them). */
  function wsEvents(job: WsJob): void | Promise<void> {
    const handler = app.websocketHandler
    if (handler === null) return
    const ws = new WebSocket(job[1])
    const events = job[2]
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!
      let result: void | Promise<void>
      try {
        result = handler(ws, event[0], toMessage(event))
      } catch (error) {
        wsFailed(event, error)
        continue
      }
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        return (async () => {
          await (result as Promise<void>).catch((error: unknown) => wsFailed(event, error))
          for (let j = i + 1; j < events.length; j++) {
            const next = events[j]!
            try {
              await handler(ws, next[0], toMessage(next))
            } catch (error) {
              wsFailed(next, error)
            }
          }
        })()
      }
    }
  }

  /** Runs the app's `sseHandler` for the end of an event stream. */
  async function sseEvent(id: number): Promise<void> {
    const handler = app.sseHandler
    if (handler === null) return
    try {
      await handler(new SseStream(id), 'close')
    } catch (error) {
      log('error', `sseHandler (close) failed: ${describeError(error)}`)
    }
  }

  function request(job: HttpJob, port: JobPort): void | Promise<void> {
    const body = job[5]
    const request = new Request({
      method: job[1],
      uri: job[2],
      versionMinor: job[3],
      headers: job[4],
      body:
        body.byteLength === 0 ? EMPTY : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
      remoteAddress: job[6],
      wsId: job[7],
      files: job[8],
      fields: job[9],
      tusPatch: job[10],
      settings,
      sink: (status, headers, bytes, owned) => {
        // Sent now (postLast flushes): work the handler does after answering must not hold the
        // answer back. When the handler returns right after, the job's completion travels with it.
        if (transfer && owned && bytes.byteLength >= MOVE_FROM) {
          const exactly = exact(bytes)
          port.postLast(['r', status, headers, exactly], transferList(exactly))
        } else port.postLast(['r', status, headers, exact(bytes)]) // cloned: the caller keeps its buffer
      },
      upgrade: (wsId, head, deflate) => {
        port.post(['u', wsId, head, deflate])
        port.flush()
      },
      stream: (status, headers, sse, length) => {
        const id = table.claim()
        if (id !== 0) {
          port.post(['h', id, status, headers, sse, length])
          port.flush()
          // Answered: writing the stream may go on for as long as it likes (handlerTimeout is
          // for handlers that never answer).
          port.noTimeout()
        }
        return id
      },
    })
    return runHandler(app.handler, request, log)
  }

  return (job, port) =>
    job[0] === JOB_HTTP ? request(job, port) : job[0] === JOB_SSE ? sseEvent(job[1]) : wsEvents(job)
}
