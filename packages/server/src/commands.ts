/**
 * The one dispatcher of worker messages on the IO thread: every message a job (or a handle
 * used outside a job) posts goes to the owner of what it is about, and so does the end of
 * every job. Exhaustive: a new message type does not compile until it has a home here.
 */
import type { ExecutorEvents } from './executor.js'
import type { JobTable } from './jobs.js'
import type { LogHandler } from './log.js'
import type { PublishMessage, SsePublishMessage, WorkerMessage } from './protocol.js'
import type { SseHub } from './sse-hub.js'
import type { StreamHub } from './streams.js'
import type { WebSocketHub } from './ws-hub.js'

/** The owners the messages go to. */
export interface CommandTargets {
  readonly jobs: JobTable
  readonly sockets: WebSocketHub
  readonly streams: StreamHub
  readonly sse: SseHub
  /** Publishes to a topic's WebSockets and event streams (here and on other instances). */
  publish(message: PublishMessage): void
  /** Publishes an event to a topic's event streams (here and on other instances). */
  publishEvent(message: SsePublishMessage): void
  readonly log: LogHandler
}

/** Carries out `message`, posted by job `jobId` (`null`: outside any job). */
export function dispatchCommand(
  to: CommandTargets,
  message: WorkerMessage,
  jobId: number | null,
): void {
  switch (message[0]) {
    case 'r': {
      if (jobId === null) return
      const res = to.jobs.takeResponse(jobId)
      if (res === undefined) return
      const wsId = to.jobs.takeUpgrade(jobId)
      if (wsId !== undefined) to.sockets.refuse(wsId)
      // (A body sink may have answered meanwhile, say a disk error after the body ended.)
      if (!res.closed && !res.ended) res.end(message[1], message[2], message[3])
      return
    }
    case 'u':
      if (jobId !== null) {
        to.jobs.takeResponse(jobId)
        to.jobs.takeUpgrade(jobId)
      }
      to.sockets.accept(message[1], message[2], message[3], jobId)
      return
    case 'h': {
      if (jobId === null) return
      const res = to.jobs.takeResponse(jobId)
      const wsId = to.jobs.takeUpgrade(jobId)
      if (wsId !== undefined) to.sockets.refuse(wsId)
      to.streams.open(res, message[1], message[2], message[3], message[4], message[5])
      return
    }
    case 'w':
    case 'e':
    case 'x':
    case 'f':
    case 'T':
    case 'V':
      to.streams.command(message)
      return
    case 'P':
      to.publishEvent(message)
      return
    case 'p':
      to.publish(message)
      return
    case 'l':
      to.log(message[1], message[2])
      return
    case 's':
    case 'c':
    case 'S':
    case 'U':
      to.sockets.command(message)
      return
    default: {
      const unknown: never = message
      to.log('error', `unknown worker message ${JSON.stringify(unknown)}`)
    }
  }
}

/** Bookkeeping when any job ends: uploads are deleted, WebSocket ids and queues move on. */
function jobEnded(to: CommandTargets, jobId: number): void {
  to.jobs.ended(jobId)
  const wsId = to.jobs.takeUpgrade(jobId)
  // An upgrade-capable request whose handler ended without upgrading: its id is never used.
  if (wsId !== undefined) to.sockets.refuse(wsId)
  else to.sockets.jobEnded(jobId)
}

/**
 * The executor's callbacks: messages are dispatched; a job that ends without its request
 * answered gets 500 (finished or threw), 504 (timed out) or 503 (its worker died, or close()
 * withdrew it), and never silence.
 */
export function executorEvents(to: CommandTargets): ExecutorEvents {
  return {
    onMessage: (message, jobId) => dispatchCommand(to, message, jobId),
    onJobDone: (jobId) => {
      jobEnded(to, jobId)
      to.jobs.fail(jobId, 500, 'the handler finished but its response was lost')
    },
    onJobError: (jobId, error) => {
      jobEnded(to, jobId)
      to.jobs.fail(jobId, 500, `handler error: ${error.stack ?? error.message}`)
    },
    onJobFailed: (jobId, reason, detail) => {
      jobEnded(to, jobId)
      to.jobs.failed(jobId, reason, detail)
    },
  }
}
