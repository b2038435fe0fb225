/**
 * Entry module of every worker thread: loads the user's code (an app module, or the
 * single-file script that calls `createServer`), then runs each request job through it.
 */
import { MummyError } from '@mummy/errors'
import { getWorkerData, postToMain, runWorker, type JobContext } from '@mummy/workers'
import { runHandler, toHandler, type Handler } from './handler.js'
import type { LogLevel } from './log.js'
import { transferList, type JobPayload, type WorkerConfig } from './protocol.js'
import { registeredWorkerHandler } from './registry.js'
import { Request, type ResponseSettings } from './request.js'

const config = getWorkerData() as WorkerConfig
const settings: ResponseSettings = { compression: config.compression }
const EMPTY = Buffer.alloc(0)

function log(level: LogLevel, message: string): void {
  postToMain(['l', level, message])
}

async function load(): Promise<Handler> {
  const mod = (await import(config.module)) as Record<string, unknown>
  if (config.mode === 'app') {
    const value = mod.default ?? mod.handler
    return toHandler(value, `the default export of ${config.module}`)
  }
  const handler = registeredWorkerHandler()
  if (handler === null) {
    throw new MummyError(
      'ERR_MUMMY_INVALID_HANDLER',
      `${config.module} did not call createServer() when loaded in a worker`,
    )
  }
  return handler
}

const handler = await load()

runWorker((payload: unknown, ctx: JobContext) => {
  const [method, target, versionMinor, headers, body, remoteAddress] = payload as JobPayload
  const bytes =
    body.byteLength === 0 ? EMPTY : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const request = new Request(
    method,
    target,
    versionMinor,
    headers,
    bytes,
    remoteAddress,
    (status, h, b) => {
      ctx.post(['r', status, h, b], transferList(b))
      // Send now: work the handler does after answering must not hold the answer back.
      ctx.flush()
    },
    settings,
  )
  return runHandler(handler, request, log)
})
