// Polling with deadlines (never a fixed sleep as an assertion), a recorder of deliveries, and a
// redis-server with engines for a test file.
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals'
import { RedisServer } from '@mummy/test-kit'
import { Redis } from 'ioredis'
import {
  type EngineMessage,
  type LogLevel,
  redisPubSub,
  type RedisPubSubEngine,
} from '../dist/index.js'

/** Polls `condition` every 10 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** One delivery as `deliver` saw it. */
export interface Delivery {
  topic: string
  message: EngineMessage
  historyId: string | undefined
}

/** Records what an engine delivers. */
export class Inbox {
  readonly got: Delivery[] = []
  /** The function to give `engine.start()`. */
  readonly deliver = (topic: string, message: EngineMessage, historyId?: string): void => {
    this.got.push({ topic, message, historyId })
  }

  /** Deliveries on `topic`. */
  on(topic: string): Delivery[] {
    return this.got.filter((d) => d.topic === topic)
  }

  /** Waits until `count` deliveries arrived on `topic` (or in all, without a topic). */
  async waitFor(count: number, topic?: string, timeoutMs?: number): Promise<Delivery[]> {
    const list = (): Delivery[] => (topic === undefined ? this.got : this.on(topic))
    await waitFor(
      () => list().length >= count,
      `${count} deliveries${topic === undefined ? '' : ` on ${topic}`} (have ${list().length})`,
      timeoutMs,
    )
    return list()
  }
}

/** A log function that keeps the lines, for assertions (and prints nothing). */
export function logRecorder(): {
  lines: Array<[LogLevel, string]>
  log: (level: LogLevel, message: string) => void
} {
  const lines: Array<[LogLevel, string]> = []
  return { lines, log: (level, message) => lines.push([level, message]) }
}

/** Text of a message, for compact assertions. */
export function text(message: EngineMessage): string {
  if (message.kind === 'text') return `text:${message.data}`
  if (message.kind === 'event') return `event:${message.event.event ?? ''}:${message.event.data}`
  return `binary:${message.data.length}`
}

/** How many timers are pending in this process now. */
export function pendingTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

/**
 * Waits until no more timers are pending than `baseline` (taken with {@link pendingTimers} in a
 * `beforeAll`, which counts jest's own hook timer). redis-parser (inside ioredis) shrinks the
 * buffer pool it grew for a large message on a 50 ms interval of its own, which stops by itself
 * after a second or two; jest reports a worker still holding it as "failed to exit gracefully".
 */
export async function timersDrained(baseline: number, timeoutMs = 15000): Promise<void> {
  await waitFor(
    () => pendingTimers() <= baseline,
    `no timer left beyond ${baseline} (have ${pendingTimers()})`,
    timeoutMs,
  )
}

/** What {@link useRedisServer} gives a test file. */
export interface RedisTestbed {
  /** The redis-server (from `beforeAll`). */
  readonly server: RedisServer
  /** A plain client of it, for inspecting Redis directly. */
  readonly raw: Redis
  /** Engines to close after each test. */
  readonly engines: RedisPubSubEngine[]
  /** A started engine on the server (closed after the test) and what it receives. */
  readonly instance: (
    options?: Parameters<typeof redisPubSub>[0],
  ) => Promise<{ engine: RedisPubSubEngine; inbox: Inbox }>
}

/**
 * Hooks for a test file on one real redis-server: started with a plain client in `beforeAll`;
 * after each test the engines are closed and no promise rejection may have gone unhandled; in
 * `afterAll` the client and the server are gone (and, with `drainTimers`, every timer started
 * since `beforeAll`, see {@link timersDrained}).
 */
export function useRedisServer({ drainTimers = false } = {}): RedisTestbed {
  let server: RedisServer | undefined
  let raw: Redis | undefined
  let timers = 0
  const engines: RedisPubSubEngine[] = []
  const rejections: unknown[] = []
  const onRejection = (reason: unknown): void => void rejections.push(reason)

  beforeAll(async () => {
    if (drainTimers) timers = pendingTimers()
    process.on('unhandledRejection', onRejection)
    server = await RedisServer.start()
    raw = new Redis(server.url)
  })

  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.close()))
    expect(rejections).toEqual([])
  })

  afterAll(async () => {
    raw?.disconnect()
    await server?.dispose()
    if (drainTimers) await timersDrained(timers)
    process.off('unhandledRejection', onRejection)
  })

  const testbed: RedisTestbed = {
    get server() {
      if (!server) throw new Error('the redis-server starts in beforeAll')
      return server
    },
    get raw() {
      if (!raw) throw new Error('the redis-server starts in beforeAll')
      return raw
    },
    engines,
    instance: async (options = {}) => {
      const engine = redisPubSub({ url: testbed.server.url, ...options })
      engines.push(engine)
      const inbox = new Inbox()
      await engine.start(inbox.deliver)
      return { engine, inbox }
    },
  }
  return testbed
}
