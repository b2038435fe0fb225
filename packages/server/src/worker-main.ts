/**
 * Entry module of every worker thread: loads the user's code (an app module, or the
 * single-file script that calls `createServer`), then runs each job through the job function
 * (job.ts).
 */
import { MummyError } from '@mummy/errors'
import { getWorkerData, postToMain, runWorker } from '@mummy/workers'
import { loadAppModule, toApp, type App } from './app.js'
import { jobFunction, type JobPort } from './job.js'
import type { LogLevel } from './log.js'
import { StatusTable, type JobPayload, type WorkerConfig } from './protocol.js'
import {
  registeredSseHandler,
  registeredWebSocketHandler,
  registeredWorkerHandler,
  listenCalled,
} from './registry.js'
import { addWebSocketChannel, workerChannel } from './websocket.js'

const config = getWorkerData() as WorkerConfig
const table = new StatusTable(config.websocket.status)
addWebSocketChannel(
  workerChannel(table, config.websocket.maxBackpressure, config.websocket.backpressurePolicy),
)

async function load(): Promise<App> {
  if (config.mode === 'app') return loadAppModule(config.module)
  // The script's loading ends at its `server.listen()` (which never resolves in a worker), or
  // at its end when it does not call it here.
  await Promise.race([import(config.module), listenCalled()])
  const handler = registeredWorkerHandler()
  if (handler === null) {
    throw new MummyError(
      'ERR_MUMMY_INVALID_HANDLER',
      `${config.module} did not call createServer() when loaded in a worker`,
    )
  }
  return toApp(
    handler,
    registeredWebSocketHandler(),
    registeredSseHandler(),
    `given to createServer in ${config.module}`,
  )
}

const run = jobFunction({
  app: await load(),
  settings: {
    compression: config.compression,
    websocketCompression: config.websocket.compression,
    tus: config.tus,
    tusAnswer: config.tus === null ? null : (await import('@mummy/uploads')).tusAnswer,
  },
  table,
  log: (level: LogLevel, message: string) => postToMain(['l', level, message]),
  transfer: true,
})

runWorker((payload, ctx) => run(payload as JobPayload, ctx as JobPort))
