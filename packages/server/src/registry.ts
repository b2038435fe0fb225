import type { Handler } from './handler.js'
import type { WebSocketHandler } from './websocket.js'
import type { SseHandler } from './sse.js'

/**
 * In single-file mode the user's script is loaded again in every worker; its
 * `createServer(...)` call lands here instead of starting a server. Kept on `globalThis`
 * under a `Symbol.for` key so it is shared even if two copies of this package are loaded.
 */
const KEY = Symbol.for('mummy.server.registered-handler')

type Slot = {
  handler: Handler | null
  websocketHandler: WebSocketHandler | null
  sseHandler?: SseHandler | null
  /** Resolves once the script called `listen()` (in a worker: where its loading stops). */
  listened?: Promise<void>
  listen?: () => void
}

function slot(): Slot {
  const g = globalThis as unknown as Record<symbol, Slot | undefined>
  return (g[KEY] ??= { handler: null, websocketHandler: null })
}

/** Records the handler a worker-side `createServer` call was given. */
export function registerWorkerHandler(
  handler: Handler,
  websocketHandler: WebSocketHandler | null = null,
  sseHandler: SseHandler | null = null,
): void {
  slot().handler = handler
  slot().websocketHandler = websocketHandler
  slot().sseHandler = sseHandler
}

/** The WebSocket handler registered in this worker, if any. */
export function registeredWebSocketHandler(): WebSocketHandler | null {
  return slot().websocketHandler
}

/** The handler registered in this worker, if any. */
export function registeredWorkerHandler(): Handler | null {
  return slot().handler
}

/** @internal The event-stream handler registered in this thread, if any. */
export function registeredSseHandler(): SseHandler | null {
  return slot().sseHandler ?? null
}

/** @internal Resolves once this worker's copy of the script called `server.listen()`. */
export function listenCalled(): Promise<void> {
  const s = slot()
  return (s.listened ??= new Promise<void>((resolve) => (s.listen = resolve)))
}

/**
 * @internal A worker's copy of the script called `server.listen()`: its loading ends there. The
 * promise returned never settles, so the code after `await server.listen()` runs on the IO
 * thread only.
 */
export function reachedListen(): Promise<never> {
  void listenCalled()
  slot().listen?.()
  return new Promise<never>(() => {})
}
