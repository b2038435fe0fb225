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
import {
  MultipartError,
  MultipartParser,
  multipartBoundary,
  parseContentDisposition,
} from '@mummy/parser'
import { ReadGate } from './gate.js'
import { TusSink, resolveTus, type TusOptions, type TusSettings } from './tus.js'

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
   * Bodies that are not `multipart/form-data` but go to disk as one file all the same, by
   * media type: `true` for `application/octet-stream`, `image/*`, `video/*` and `audio/*`, or
   * a list of types (`type/subtype` or `type/*`). The handler gets the file as
   * `request.files[0]` (field `''`; the file name from a `Content-Disposition` header, if
   * sent) and an empty body. Limited by `maxFileSize`. Default off.
   */
  raw?: boolean | readonly string[]
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
  /** Media types (`type/subtype` or `type/*`, lower-case) whose bodies go to disk whole; empty when off. */
  readonly raw: readonly string[]
  /** tus uploads, or `null` when off. */
  readonly tus: TusSettings | null
}

/** The media types `raw: true` stands for. */
export const RAW_TYPES: readonly string[] = [
  'application/octet-stream',
  'image/*',
  'video/*',
  'audio/*',
]

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
    raw: resolveRaw(o.raw),
    tus: resolveTus(o.tus, dir, maxSize),
  }
  for (const key of ['maxFileSize', 'maxSize', 'maxParts', 'maxFieldsSize'] as const) {
    const value = settings[key]
    if (!Number.isSafeInteger(value) || value < 1)
      throw new MummyError('ERR_MUMMY_INVALID_OPTION', `uploads.${key} must be an integer >= 1`)
  }
  return settings
}

function resolveRaw(option: boolean | readonly string[] | undefined): readonly string[] {
  if (option === undefined || option === false) return []
  if (option === true) return RAW_TYPES
  return option.map((type) => {
    const t = type.trim().toLowerCase()
    if (!/^[a-z0-9!#$&^_.+-]+\/(\*|[a-z0-9!#$&^_.+-]+)$/.test(t))
      throw new MummyError(
        'ERR_MUMMY_INVALID_OPTION',
        `uploads.raw: ${JSON.stringify(type)} is not a media type (type/subtype or type/*)`,
      )
    return t
  })
}

/** Whether `contentType` is one of `types` (`type/subtype` or `type/*`). */
function matchesType(contentType: string, types: readonly string[]): boolean {
  const semi = contentType.indexOf(';')
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase()
  const slash = type.indexOf('/')
  if (slash <= 0) return false
  const wildcard = `${type.slice(0, slash)}/*`
  return types.includes(type) || types.includes(wildcard)
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
  readonly #gate: ReadGate
  readonly #parser: MultipartParser
  readonly #files: UploadedFile[] = []
  readonly #fields: [string, string][] = []
  /** Every file this upload created (also the ones not complete yet), for cleanup on failure. */
  readonly #paths: string[] = []
  readonly #writing = new Set<Promise<void>>()
  #resolve!: (result: UploadResult | null) => void
  #failed = false
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
    this.#gate = new ReadGate(control)
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
    // The body is complete: reading goes on (a next request) while the files flush.
    this.#gate.resume()
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
    this.#gate.write(part.out, Buffer.from(chunk))
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
    this.#gate.resume()
    const part = this.#part
    if (part !== null && part.kind === 'file') part.out.destroy()
    void Promise.all(this.#writing).then(() => removeFiles(this.#paths))
    this.#resolve(null)
  }
}

/**
 * The sink of a body that goes to disk whole (the `raw` option): one new file in `dir`,
 * written as the body arrives, pausing the connection while the disk is behind. Over
 * `maxFileSize` it answers 413 and deletes the file; a client that leaves takes it along.
 */
export class RawUploadSink implements BodySink {
  /** The file once it is on disk; `null` when the upload failed or the client left. */
  readonly done: Promise<UploadResult | null>
  #resolve!: (result: UploadResult | null) => void
  readonly #settings: UploadSettings
  readonly #response: ResponseWriter
  readonly #gate: ReadGate
  readonly #out: fs.WriteStream
  readonly #file: Omit<UploadedFile, 'size'>
  readonly #closed: Promise<void>
  #size = 0
  #failed = false

  constructor(
    file: { filename: string; contentType: string },
    settings: UploadSettings,
    response: ResponseWriter,
    control: BodyControl,
  ) {
    this.#settings = settings
    this.#response = response
    this.#gate = new ReadGate(control)
    this.done = new Promise((resolve) => (this.#resolve = resolve))
    const where = path.join(settings.dir, randomUUID())
    this.#file = { field: '', filename: file.filename, contentType: file.contentType, path: where }
    this.#out = fs.createWriteStream(where, { flags: 'wx', highWaterMark: FILE_HIGH_WATER })
    this.#closed = new Promise<void>((resolve) => this.#out.once('close', resolve))
    this.#out.once('error', (error) => this.#fail(error))
  }

  write(chunk: Buffer): void {
    if (this.#failed) return
    this.#size += chunk.length
    if (this.#size > this.#settings.maxFileSize) {
      this.#fail(tooLarge(`an uploaded file exceeds ${this.#settings.maxFileSize} bytes`))
      return
    }
    // The chunk is a view of the connection's buffer: the file gets its own copy.
    this.#gate.write(this.#out, Buffer.from(chunk))
  }

  end(): void {
    if (this.#failed) return
    // The body is complete: reading goes on (a next request) while the file flushes.
    this.#gate.resume()
    this.#out.end()
    void this.#closed.then(() => {
      if (!this.#failed) this.#resolve({ files: [{ ...this.#file, size: this.#size }], fields: [] })
    })
  }

  abort(): void {
    this.#fail(null)
  }

  #fail(error: unknown): void {
    if (this.#failed) return
    this.#failed = true
    const res = this.#response
    if (error !== null && !res.ended && !res.closed) {
      const status = error instanceof MummyError && error.status !== undefined ? error.status : 500
      const text = status === 500 ? 'the upload could not be stored' : (error as Error).message
      res.end(status, TEXT_PLAIN, `${text}\n`, true)
    }
    this.#gate.resume()
    this.#out.destroy()
    void this.#closed.then(() => removeFiles([this.#file.path]))
    this.#resolve(null)
  }
}

/** A sink that puts a request's body on disk: an upload, a raw upload, or a tus PATCH. */
export type DiskSink = UploadSink | RawUploadSink | TusSink

/** Whether `sink` (a request's body sink) is one of this package's: its `done` tells the outcome. */
export function isDiskSink(sink: BodySink | undefined): sink is DiskSink {
  return sink instanceof UploadSink || sink instanceof RawUploadSink || sink instanceof TusSink
}

function tooLarge(message: string): MummyError {
  return new MummyError('ERR_MUMMY_UPLOAD_TOO_LARGE', message, { status: 413 })
}

/**
 * The sink for a request's body when it is an upload — `multipart/form-data` while uploads are
 * on, or a body of one of the `raw` media types — else `null`. A multipart request without a
 * valid boundary is answered 400 at once, and a raw body declared (`contentLength`) larger
 * than `maxFileSize` 413.
 */
export function uploadSink(
  headers: readonly string[],
  settings: UploadSettings,
  response: ResponseWriter,
  control: BodyControl,
  contentLength = -1,
): UploadSink | RawUploadSink | null {
  let contentType: string | undefined
  let disposition: string | undefined
  for (let i = 0; i < headers.length; i += 2) {
    const name = (headers[i] as string).toLowerCase()
    if (name === 'content-type') contentType = headers[i + 1]
    else if (name === 'content-disposition') disposition = headers[i + 1]
  }
  if (contentType === undefined) return null
  if (!/^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) {
    if (settings.raw.length === 0 || !matchesType(contentType, settings.raw)) return null
    if (contentLength > settings.maxFileSize) {
      response.end(
        413,
        TEXT_PLAIN,
        `an uploaded file exceeds ${settings.maxFileSize} bytes\n`,
        true,
      )
      return null
    }
    let filename = ''
    if (disposition !== undefined) {
      try {
        filename = parseContentDisposition(disposition).params.filename ?? ''
      } catch {
        // A malformed Content-Disposition only loses the name.
      }
    }
    return new RawUploadSink(
      { filename, contentType: contentType.trim() },
      settings,
      response,
      control,
    )
  }
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
