/**
 * Entry module of every pool worker. It installs the worker runtime, imports
 * the pool's `workerURL` (waiting for its whole evaluation, top-level `await`
 * included) and only then reports ready — or fails the worker with
 * `ERR_MUMMY_WORKER_START` when the module did not call `runWorker()`. A module
 * that throws while loading fails the worker with its own error.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { MummyError } from '@mummy/errors'
import { INIT_KEY, type WorkerInit } from './protocol.js'
import { installRuntime } from './runtime.js'
import { registerTypeScriptLoader } from './typescript.js'

const init = (workerData as Record<string, WorkerInit | undefined> | null)?.[INIT_KEY]
if (parentPort === null || init === undefined) {
  throw new MummyError(
    'ERR_MUMMY_WORKER_START',
    '@mummy/workers bootstrap must be started by a WorkerPool',
  )
}
const runtime = installRuntime(init, parentPort)
// (Under tsx on Node 20 a worker registers tsx's hooks itself: TypeScript app modules load.)
await registerTypeScriptLoader()
await import(init.url)
runtime.start()
