// Polling with deadlines (never a fixed sleep as an assertion), and a recorder of deliveries.
import type { EngineMessage, LogLevel } from '../dist/index.js'

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
