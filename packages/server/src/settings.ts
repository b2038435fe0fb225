/**
 * The options of `createServer` resolved to the values the server runs with: every default
 * applied once, in one place.
 */
import os from 'node:os'
import { accessLogger, type AccessLogger } from './access-log.js'
import { pathToFileURL } from 'node:url'
import {
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_TRANSPORT_OPTIONS,
  DEFAULT_WEBSOCKET_SETTINGS,
  type TlsOptions,
  type TransportOptions,
  type WebSocketSettings,
} from '@mummy/io-loop'
import { resolveUploads, type UploadSettings } from '@mummy/uploads'
import type { DeflateOptions } from '@mummy/websocket'
import { DEFAULT_COMPRESSION, type CompressionOptions } from './compression.js'
import { consoleLogHandler, type LogHandler } from './log.js'
import type { ServerOptions } from './options.js'
import type { PubSubEngine } from './pubsub.js'

/** A server's settings. */
export interface ServerSettings {
  /** Worker threads; 0 = inline. */
  readonly workers: number
  readonly concurrency: number
  /** ms; 0 = none. */
  readonly handlerTimeout: number
  readonly closeTimeout: number
  readonly sseHeartbeat: number
  /** The engine topics cross instances with, if any. */
  readonly pubsub: PubSubEngine | null
  /** TLS for every listener, if any. */
  readonly tls: TlsOptions | undefined
  /** Where access-log entries go (`null`: off). */
  readonly accessLog: AccessLogger
  /** Signals that close the server and end the process. */
  readonly shutdownSignals: readonly NodeJS.Signals[]
  readonly log: LogHandler
  readonly compression: CompressionOptions
  /** permessage-deflate offered on upgrades by default. */
  readonly websocketCompression: false | DeflateOptions
  /** WebSocket settings of the transport (`deflate` is set per connection). */
  readonly websocket: WebSocketSettings
  readonly uploads: UploadSettings | null
  readonly transport: 'node' | 'uws' | 'auto'
  /** The transport's limits and timeouts that were given. */
  readonly limits: Partial<TransportOptions>
}

/** 4 × the cores, at least 4: blocking handlers need more threads than cores. */
function defaultWorkers(): number {
  const cores =
    typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length
  return Math.max(4, cores * 4)
}

function resolveCompression(value: ServerOptions['compression']): CompressionOptions {
  if (value === false) return { ...DEFAULT_COMPRESSION, enabled: false }
  if (value === true || value === undefined) return { ...DEFAULT_COMPRESSION }
  return { ...DEFAULT_COMPRESSION, ...value }
}

function resolveWsCompression(
  value: ServerOptions['websocketCompression'],
): false | DeflateOptions {
  if (value === undefined || value === false) return false
  return value === true ? {} : value
}

/** Resolves `o` (already validated by `validateOptions`). */
export function resolveSettings(o: ServerOptions): ServerSettings {
  const limits: Partial<TransportOptions> = {}
  for (const key of Object.keys(
    DEFAULT_TRANSPORT_OPTIONS,
  ) as (keyof typeof DEFAULT_TRANSPORT_OPTIONS)[]) {
    const value = (o as Record<string, unknown>)[key]
    if (typeof value === 'number') limits[key] = value
  }
  const d = DEFAULT_WEBSOCKET_SETTINGS
  return {
    workers: o.workers ?? defaultWorkers(),
    concurrency: o.concurrency ?? 1,
    handlerTimeout: o.handlerTimeout ?? 30_000,
    closeTimeout: o.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT,
    sseHeartbeat: o.sseHeartbeat ?? 15_000,
    pubsub: o.pubsub ?? null,
    tls: o.tls,
    accessLog: accessLogger(o.accessLog),
    shutdownSignals:
      o.shutdownSignals === true
        ? ['SIGINT', 'SIGTERM']
        : Array.isArray(o.shutdownSignals)
          ? o.shutdownSignals
          : [],
    log: o.logHandler ?? consoleLogHandler('info'),
    compression: resolveCompression(o.compression),
    websocketCompression: resolveWsCompression(o.websocketCompression),
    websocket: {
      maxMessageLen: o.maxMessageLen ?? d.maxMessageLen,
      idleTimeout: o.idleTimeout ?? d.idleTimeout,
      maxBackpressure: o.maxBackpressure ?? d.maxBackpressure,
      backpressurePolicy: o.backpressure ?? d.backpressurePolicy,
      deflate: null,
    },
    uploads: resolveUploads(o.uploads),
    transport: o.transport ?? 'node',
    limits,
  }
}

/** A module given as a path or a URL, as a URL string `import()` takes. */
export function toURLString(value: string | URL): string {
  if (value instanceof URL) return value.href
  return /^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)
    ? value
    : pathToFileURL(value).href
}
