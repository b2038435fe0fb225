/**
 * Entry module of every worker thread: loads the user's code (an app module, or the
 * single-file script that calls `createServer`), then runs each job through it — HTTP
 * requests through the handler, WebSocket events through the `websocketHandler`.
 */
import { MummyError } from '@mummy/errors'
import { getWorkerData, postToMain, runWorker, type JobContext } from '@mummy/workers'
import { describeError, type LogLevel } from './log.js'
import { runHandler, toHandler, type Handler } from './handler.js'
import {
  JOB_HTTP,
  JOB_SSE,
  StatusTable,
  transferList,
  type JobPayload,
  type WorkerConfig,
  type WsEvent,
  type WsJob,
} from './protocol.js'
import {
  registeredSseHandler,
  registeredWebSocketHandler,
  registeredWorkerHandler,
} from './registry.js'
import { SseStream, type SseHandler } from './sse.js'
import { Request, type ResponseSettings } from './request.js'
import {
  WebSocket,
  addWebSocketChannel,
  toMessage,
  workerChannel,
  type WebSocketHandler,
} from './websocket.js'

const config = getWorkerData() as WorkerConfig
const settings: ResponseSettings = {
  compression: config.compression,
  websocketCompression: config.websocket.compression,
  tus: config.tus,
}
const EMPTY = Buffer.alloc(0)
const table = new StatusTable(config.websocket.status)
addWebSocketChannel(
  workerChannel(table, config.websocket.maxBackpressure, config.websocket.backpressurePolicy),
)

function log(level: LogLevel, message: string): void {
  postToMain(['l', level, message])
}

/** A copy that owns exactly its bytes: cloning a view would copy its whole backing buffer. */
function exact(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes)
}

async function load(): Promise<{
  handler: Handler
  websocketHandler: WebSocketHandler | null
  sseHandler: SseHandler | null
}> {
  const mod = (await import(config.module)) as Record<string, unknown>
  if (config.mode === 'app') {
    const handler = toHandler(mod.default ?? mod.handler, `the default export of ${config.module}`)
    const ws = mod.websocketHandler
    if (ws !== undefined && typeof ws !== 'function') {
      throw new MummyError(
        'ERR_MUMMY_INVALID_HANDLER',
        `websocketHandler exported by ${config.module} must be a function`,
      )
    }
    const sse = mod.sseHandler
    if (sse !== undefined && typeof sse !== 'function') {
      throw new MummyError(
        'ERR_MUMMY_INVALID_HANDLER',
        `sseHandler exported by ${config.module} must be a function`,
      )
    }
    return {
      handler,
      websocketHandler: (ws as WebSocketHandler | undefined) ?? null,
      sseHandler: (sse as SseHandler | undefined) ?? null,
    }
  }
  const handler = registeredWorkerHandler()
  if (handler === null) {
    throw new MummyError(
      'ERR_MUMMY_INVALID_HANDLER',
      `${config.module} did not call createServer() when loaded in a worker`,
    )
  }
  return {
    handler,
    websocketHandler: registeredWebSocketHandler(),
    sseHandler: registeredSseHandler(),
  }
}

const { handler, websocketHandler, sseHandler } = await load()

/** Runs one connection's events in order (awaiting async handlers between them). */
function wsEvents(job: WsJob): void | Promise<void> {
  if (websocketHandler === null) return
  const ws = new WebSocket(job[1])
  const events = job[2]
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    let result: void | Promise<void>
    try {
      result = websocketHandler(ws, event[0], toMessage(event))
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
            await websocketHandler(ws, next[0], toMessage(next))
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
  if (sseHandler === null) return
  try {
    await sseHandler(new SseStream(id), 'close')
  } catch (error) {
    log('error', `sseHandler (close) failed: ${describeError(error)}`)
  }
}

function wsFailed(event: WsEvent, error: unknown): void {
  log('error', `websocketHandler (${event[0]}) failed: ${describeError(error)}`)
}

runWorker((payload: unknown, ctx: JobContext) => {
  const job = payload as JobPayload
  if (job[0] === JOB_SSE) return sseEvent(job[1])
  if (job[0] !== JOB_HTTP) return wsEvents(job)
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
    sink: (status, headers, bytes) => {
      const owned = exact(bytes)
      ctx.post(['r', status, headers, owned], transferList(owned))
      // Send now: work the handler does after answering must not hold the answer back.
      ctx.flush()
    },
    upgrade: (wsId, head, deflate) => {
      ctx.post(['u', wsId, head, deflate])
      ctx.flush()
    },
    stream: (status, headers, sse, length) => {
      const id = table.claim()
      if (id !== 0) {
        ctx.post(['h', id, status, headers, sse, length])
        ctx.flush()
        // Answered: writing the stream may go on for as long as it likes (handlerTimeout is
        // for handlers that never answer).
        ctx.noTimeout()
      }
      return id
    },
  })
  return runHandler(handler, request, log)
})
