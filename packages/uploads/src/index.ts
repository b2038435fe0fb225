/**
 * `@mummy/uploads`: `multipart/form-data` request bodies streamed to disk on the IO thread as
 * they arrive, so a handler gets the files' paths instead of their bytes and memory stays
 * bounded whatever their size; and tus 1.0 resumable uploads (see {@link tusSink} and
 * {@link tusAnswer}). An {@link UploadSink} plugs into a transport's `onBodyStart`
 * hook (`@mummy/io-loop`); `@mummy/server` does that for its `uploads` option.
 *
 * @example
 * ```ts
 * const settings = resolveUploads({ dir: '/var/uploads' })!
 * new NodeTransport({
 *   onBodyStart: (head, res, control) => uploadSink(head.headers, settings, res, control),
 *   onRequest: async (req, res) => {
 *     const upload = req.sink instanceof UploadSink ? await req.sink.done : null
 *     if (upload === null && req.sink !== undefined) return // refused: already answered
 *     res.end(200, [], JSON.stringify(upload?.files ?? []))
 *   },
 * })
 * ```
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MummyError } from '@mummy/errors'
import type { BodyControl, BodySink, ResponseWriter } from '@mummy/io-loop'
import { MultipartError, MultipartParser, multipartBoundary } from '@mummy/parser'
import { resolveTus, type TusOptions, type TusSettings } from './tus.js'

export {
  TUS_EXTENSIONS,
  TUS_VERSION,
  TusSink,
  parseUploadMetadata,
  removeUpload,
  resolveTus,
  sweepTus,
  tusAnswer,
  tusSink,
  type TusAnswer,
  type TusOptions,
  type TusPatchResult,
  type TusSettings,
  type TusUpload,
} from './tus.js'

/** Limits and place of uploads (the `uploads` option of `createServer`). */
export interface UploadOptions {
  /** Folder the files are written to (created at `listen`). Default `<os.tmpdir()>/mummy-uploads`. */
  dir?: string
  /** Largest file, bytes. Over it: 413. Default 1 GiB. */
  maxFileSize?: number
  /** Largest upload request body (all its parts), bytes. Over it: 413. Default 1 GiB. */
  maxSize?: number
  /** Parts (fields and files) in one request. Over it: 413. Default 100. */
  maxParts?: number
  /** Bytes of all the fields (parts without a file name) of one request. Over it: 413. Default 1 MiB. */
  maxFieldsSize?: number
  /**
   * tus 1.0 resumable uploads (`true` or {@link TusOptions}): PATCH bodies are appended to the
   * upload's file on the IO thread as they arrive; a handler answers the rest with
   * `request.tus()`. Uploads live in `<dir>/tus`. Default off.
   */
  tus?: boolean | TusOptions
}

/** An uploaded file, as a handler sees it (`request.files`). */
export interface UploadedFile {
  /** The form field it came in. */
  readonly field: string
  /** The name the client gave it (never used for the path: treat it as untrusted text). */
  readonly filename: string
  /** Its Content-Type as the client declared it. */
  readonly contentType: string
  /** Where it is on disk. Deleted when the handler is done: move it (`fs.renameSync`) to keep it. */
  readonly path: string
  /** Its size in bytes. */
  readonly size: number
}

/** {@link UploadOptions} with every default applied. */
export interface UploadSettings {
  readonly dir: string
  readonly maxFileSize: number
  readonly maxSize: number
  readonly maxParts: number
  readonly maxFieldsSize: number
  /** tus uploads, or `null` when off. */
  readonly tus: TusSettings | null
}

/** Resolves the `uploads` option: `null` when uploads are off. */
export function resolveUploads(option: boolean | UploadOptions | undefined): UploadSettings | null {
  if (option === undefined || option === false) return null
  const o = option === true ? {} : option
  const dir = path.resolve(o.dir ?? path.join(os.tmpdir(), 'mummy-uploads'))
  const maxSize = o.maxSize ?? 1024 * 1024 * 1024
  const settings: UploadSettings = {
    dir,
    maxFileSize: o.maxFileSize ?? 1024 * 1024 * 1024,
    maxSize,
    maxParts: o.maxParts ?? 100,
    maxFieldsSize: o.maxFieldsSize ?? 1024 * 1024,
    tus: resolveTus(o.tus, dir, maxSize),
  }
  for (const key of ['maxFileSize', 'maxSize', 'maxParts', 'maxFieldsSize'] as const) {
    const value = settings[key]
    if (!Number.isSafeInteger(value) || value < 1)
      throw new MummyError('ERR_MUMMY_INVALID_OPTION', `uploads.${key} must be an integer >= 1`)
  }
  return settings
}

/** What an upload produced: files on disk and the fields, in order. */
export interface UploadResult {
  readonly files: UploadedFile[]
  readonly fields: [string, string][]
}

/** Unsent bytes of one file above which reading the connection pauses. */
const FILE_HIGH_WATER = 1024 * 1024
const TEXT_PLAIN = ['Content-Type', 'text/plain; charset=utf-8']

/**
 * The sink of one upload request body, on the IO thread: parses it with `MultipartParser`,
 * writes file parts to new files in `dir`, keeps fields in memory (bounded), pauses the
 * connection while the disk is behind. On bad input or a limit it answers the error itself
 * (400/413, or 500 for a disk error), deletes what it wrote, and `done` resolves to `null`.
 */
export class UploadSink implements BodySink {
  /** The files and fields once the body is complete and every file is on disk; `null` when it failed. */
  readonly done: Promise<UploadResult | null>
  readonly #settings: UploadSettings
  readonly #response: ResponseWriter
  readonly #control: BodyControl
  readonly #parser: MultipartParser
  readonly #files: UploadedFile[] = []
  readonly #fields: [string, string][] = []
  /** Every file this upload created (also the ones not complete yet), for cleanup on failure. */
  readonly #paths: string[] = []
  readonly #writing = new Set<Promise<void>>()
  #resolve!: (result: UploadResult | null) => void
  #failed = false
  #paused = false
  #fieldsSize = 0
  /** The part being read. */
  #part:
    | { kind: 'field'; name: string; chunks: Buffer[] }
    | {
        kind: 'file'
        field: string
        filename: string
        contentType: string
        path: string
        size: number
        out: fs.WriteStream
      }
    | null = null

  constructor(
    boundary: string,
    settings: UploadSettings,
    response: ResponseWriter,
    control: BodyControl,
  ) {
    this.#settings = settings
    this.#response = response
    this.#control = control
    this.done = new Promise((resolve) => (this.#resolve = resolve))
    this.#parser = new MultipartParser(
      boundary,
      {
        onPartBegin: (part) => {
          if (part.filename === undefined) {
            this.#part = { kind: 'field', name: part.name, chunks: [] }
            return
          }
          const file = path.join(settings.dir, randomUUID())
          this.#paths.push(file)
          const out = fs.createWriteStream(file, { flags: 'wx', highWaterMark: FILE_HIGH_WATER })
          this.#writing.add(
            new Promise<void>((resolve) => {
              out.once('close', resolve)
              out.once('error', (error) => this.#fail(error))
            }),
          )
          this.#part = {
            kind: 'file',
            field: part.name,
            filename: part.filename,
            contentType: part.contentType,
            path: file,
            size: 0,
            out,
          }
        },
        onPartData: (chunk) => this.#data(chunk),
        onPartEnd: () => {
          const part = this.#part
          this.#part = null
          if (part === null) return
          if (part.kind === 'field') {
            this.#fields.push([part.name, Buffer.concat(part.chunks).toString('utf8')])
            return
          }
          part.out.end()
          this.#files.push({
            field: part.field,
            filename: part.filename,
            contentType: part.contentType,
            path: part.path,
            size: part.size,
          })
        },
      },
      { maxParts: settings.maxParts },
    )
  }

  write(chunk: Buffer): void {
    if (this.#failed) return
    try {
      this.#parser.execute(chunk)
    } catch (error) {
      this.#fail(error)
    }
  }

  end(): void {
    if (this.#failed) return
    try {
      this.#parser.finish()
    } catch (error) {
      this.#fail(error)
      return
    }
    // The body is complete: reading goes on (a next request) while the files flush. (An
    // ended file stream emits no 'drain' to resume it.)
    if (this.#paused) {
      this.#paused = false
      this.#control.resume()
    }
    void Promise.all(this.#writing).then(() => {
      if (!this.#failed) this.#resolve({ files: this.#files, fields: this.#fields })
    })
  }

  abort(): void {
    this.#fail(null)
  }

  #data(chunk: Buffer): void {
    const part = this.#part
    if (part === null) return
    if (part.kind === 'field') {
      this.#fieldsSize += chunk.length
      if (this.#fieldsSize > this.#settings.maxFieldsSize)
        throw tooLarge(`form fields exceed ${this.#settings.maxFieldsSize} bytes`)
      part.chunks.push(Buffer.from(chunk))
      return
    }
    part.size += chunk.length
    if (part.size > this.#settings.maxFileSize)
      throw tooLarge(`an uploaded file exceeds ${this.#settings.maxFileSize} bytes`)
    // The chunk is a view of the connection's buffer: the file gets its own copy.
    if (!part.out.write(Buffer.from(chunk)) && !this.#paused) {
      this.#paused = true
      this.#control.pause()
      part.out.once('drain', () => {
        if (!this.#paused) return
        this.#paused = false
        this.#control.resume()
      })
    }
  }

  #fail(error: unknown): void {
    if (this.#failed) return
    this.#failed = true
    const status =
      error instanceof MultipartError || (error instanceof MummyError && error.status !== undefined)
        ? (error.status as number)
        : 500
    const res = this.#response
    // (`null`: the client left; there is nobody to answer.)
    if (error !== null && !res.ended && !res.closed) {
      const text = status === 500 ? 'the upload could not be stored' : (error as Error).message
      res.end(status, TEXT_PLAIN, `${text}\n`, true)
    }
    if (this.#paused) {
      this.#paused = false
      this.#control.resume()
    }
    const part = this.#part
    if (part !== null && part.kind === 'file') part.out.destroy()
    void Promise.all(this.#writing).then(() => removeFiles(this.#paths))
    this.#resolve(null)
  }
}

function tooLarge(message: string): MummyError {
  return new MummyError('ERR_MUMMY_UPLOAD_TOO_LARGE', message, { status: 413 })
}

/**
 * The sink for a request's body when it is an upload (`multipart/form-data` while uploads are
 * on), else `null`. A multipart request without a valid boundary is answered 400 at once.
 */
export function uploadSink(
  headers: readonly string[],
  settings: UploadSettings,
  response: ResponseWriter,
  control: BodyControl,
): UploadSink | null {
  let contentType: string | undefined
  for (let i = 0; i < headers.length; i += 2)
    if ((headers[i] as string).toLowerCase() === 'content-type') contentType = headers[i + 1]
  if (contentType === undefined || !/^\s*multipart\/form-data\s*(;|$)/i.test(contentType))
    return null
  const boundary = multipartBoundary(contentType)
  if (boundary === null) {
    response.end(400, TEXT_PLAIN, 'multipart/form-data without a valid boundary\n', true)
    return null
  }
  return new UploadSink(boundary, settings, response, control)
}

/** Deletes `paths` (those already moved away are fine). */
export function removeFiles(paths: readonly string[]): void {
  for (const file of paths) fs.unlink(file, () => {})
}
