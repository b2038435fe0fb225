/**
 * The messages between the IO thread and the workers. Tuples, not objects: they are
 * structured-cloned on every request.
 */
import type { CompressionOptions } from './compression.js'

/** IO → worker: one request. */
export type JobPayload = [
  method: string,
  target: string,
  versionMinor: 0 | 1,
  headers: readonly string[],
  body: Uint8Array,
  remoteAddress: string,
]

/** Worker → IO: the response to the job it is posted for. */
export type ResponseMessage = [tag: 'r', status: number, headers: string[], body: Uint8Array]
/** Worker → IO: a log line. */
export type LogMessage = [tag: 'l', level: 'debug' | 'info' | 'warn' | 'error', message: string]
/** Any worker → IO message. */
export type WorkerMessage = ResponseMessage | LogMessage

/** What every worker is told at start (its `workerData`). */
export interface WorkerConfig {
  /** `app`: the module's default export is the handler; `script`: the module calls createServer(). */
  mode: 'app' | 'script'
  /** URL of the module to import. */
  module: string
  compression: CompressionOptions
}

/** The transfer list for `bytes` when it owns its whole buffer (never a pooled slab). */
export function transferList(bytes: Uint8Array): ArrayBuffer[] | undefined {
  const buffer = bytes.buffer
  if (bytes.byteLength === 0 || bytes.byteOffset !== 0 || bytes.byteLength !== buffer.byteLength)
    return undefined
  if (!(buffer instanceof ArrayBuffer)) return undefined
  return [buffer]
}
