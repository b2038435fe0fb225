/**
 * The job table of the IO thread: for each request job in an executor, the writer its answer
 * goes to, the WebSocket id reserved for it (an upgrade-capable request) and the uploaded
 * files to delete when it ends. WebSocket event jobs are the WebSocket hub's.
 */
import type { ResponseWriter } from '@mummy/io-loop'
import { removeFiles } from '@mummy/uploads'
import type { JobFailureReason, SerializedError } from '@mummy/workers'
import type { LogHandler } from './log.js'

const TEXT: readonly string[] = Object.freeze(['Content-Type', 'text/plain; charset=utf-8'])
const enc = new TextEncoder()

function statusText(status: number): string {
  return status === 503
    ? 'Service Unavailable'
    : status === 504
      ? 'Gateway Timeout'
      : 'Internal Server Error'
}

/** Request jobs in flight, by job id. */
export class JobTable {
  readonly #log: LogHandler
  readonly #handlerTimeout: number
  readonly #responses = new Map<number, ResponseWriter>()
  /** Job id → WebSocket id, for upgrade-capable requests. */
  readonly #upgrades = new Map<number, number>()
  /** Job id → files of the upload it carries (deleted when the job ends). */
  readonly #uploads = new Map<number, string[]>()

  /** @param handlerTimeout - the job timeout, for the 504's log line. */
  constructor(log: LogHandler, handlerTimeout: number) {
    this.#log = log
    this.#handlerTimeout = handlerTimeout
  }

  /** Requests waiting for their answer. */
  get size(): number {
    return this.#responses.size
  }

  /** Job `id` answers on `res`; `wsId` (non-zero) was reserved for it; `files` go when it ends. */
  add(id: number, res: ResponseWriter, wsId: number, files: readonly string[] | null): void {
    this.#responses.set(id, res)
    if (wsId !== 0) this.#upgrades.set(id, wsId)
    if (files !== null && files.length > 0) this.#uploads.set(id, [...files])
  }

  /** The writer of job `id`, forgotten: its answer is being given now. */
  takeResponse(id: number): ResponseWriter | undefined {
    const res = this.#responses.get(id)
    if (res !== undefined) this.#responses.delete(id)
    return res
  }

  /** The WebSocket id reserved for job `id`, forgotten (it was upgraded, or never will be). */
  takeUpgrade(id: number): number | undefined {
    const wsId = this.#upgrades.get(id)
    if (wsId !== undefined) this.#upgrades.delete(id)
    return wsId
  }

  /** Job `id` ended (any way): its uploaded files are deleted. */
  ended(id: number): void {
    const files = this.#uploads.get(id)
    if (files === undefined) return
    this.#uploads.delete(id)
    removeFiles(files)
  }

  /**
   * Answers job `id` with `status` (a plain-text body) when nothing answered it, and logs
   * `why`; `close` ends its connection after the answer.
   */
  fail(id: number, status: number, why: string, close = false): void {
    const res = this.takeResponse(id)
    if (res === undefined) return
    this.#log(status >= 500 ? 'error' : 'warn', why)
    if (!res.closed && !res.ended)
      res.end(status, TEXT, enc.encode(`${statusText(status)}\n`), close)
  }

  /** Answers a job the executor gave up on: 504 (timeout) or 503 (worker gone, or closing). */
  failed(id: number, reason: JobFailureReason, detail: SerializedError | undefined): void {
    if (reason === 'timeout')
      this.fail(id, 504, `handler timed out after ${this.#handlerTimeout} ms`)
    else if (detail?.code === 'ERR_MUMMY_POOL_CLOSED')
      this.fail(id, 503, 'request not started by the close() deadline', true)
    else
      this.fail(
        id,
        503,
        `worker died while handling a request${detail ? `: ${detail.message}` : ''}`,
        true,
      )
  }
}
