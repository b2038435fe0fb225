/**
 * Request bodies that go to disk as they arrive instead of to a worker: multipart uploads
 * (the `uploads` option) and tus PATCH bodies. Sets up their folders, the transport hook that
 * picks a sink per request, and the sweeper of expired tus uploads.
 */
import { mkdir } from 'node:fs/promises'
import type { TransportOptions } from '@mummy/io-loop'
import { sweepTus, tusSink, uploadSink, type UploadSettings } from '@mummy/uploads'
import { describeError, type LogHandler } from './log.js'

/** The transport options body sinks set, and how to stop their timer. */
export interface BodySinks {
  readonly transport: Pick<TransportOptions, 'onBodyStart' | 'maxStreamedBodyLen'>
  /** Stops sweeping expired tus uploads. */
  stop(): void
}

/** Creates the upload folders and returns the hooks for `uploads`. */
export async function bodySinks(uploads: UploadSettings, log: LogHandler): Promise<BodySinks> {
  await mkdir(uploads.dir, { recursive: true })
  const tus = uploads.tus
  if (tus === null)
    return {
      transport: {
        maxStreamedBodyLen: uploads.maxSize,
        onBodyStart: (head, res, control) =>
          uploadSink(head.headers, uploads, res, control, head.contentLength),
      },
      stop() {},
    }
  await mkdir(tus.dir, { recursive: true })
  let sweeper: NodeJS.Timeout | null = null
  if (tus.expires > 0) {
    const sweep = (): void =>
      void sweepTus(tus).catch((error: unknown) =>
        log('warn', `tus: sweeping expired uploads failed: ${describeError(error)}`),
      )
    sweep()
    sweeper = setInterval(sweep, Math.min(tus.expires, 60 * 60 * 1000))
    sweeper.unref()
  }
  return {
    transport: {
      maxStreamedBodyLen: Math.max(uploads.maxSize, tus.maxSize),
      onBodyStart: (head, res, control) =>
        tusSink(head, tus, res, control) ??
        uploadSink(head.headers, uploads, res, control, head.contentLength),
    },
    stop() {
      if (sweeper !== null) clearInterval(sweeper)
    },
  }
}
