/**
 * tus 1.0 resumable uploads (https://tus.io/protocols/resumable-upload): core protocol plus the
 * `creation`, `termination` and `expiration` extensions.
 *
 * The work is split by thread. PATCH bodies are appended to the upload's file on the IO thread
 * as they arrive ({@link tusSink}), so an upload of any size costs bounded memory and a dropped
 * connection keeps every byte that reached the disk. Everything else (OPTIONS, POST, HEAD,
 * DELETE, and the answer to a PATCH) is small synchronous file work done by
 * {@link tusAnswer} in the handler that routes the request: the application decides who may
 * upload, and learns when an upload is complete.
 *
 * On disk, in `dir`: `<id>` holds the bytes (its size is the upload's offset) and
 * `<id>.json` what the upload was created with.
 */
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { MummyError } from '@mummy/errors'
import type { BodyControl, BodySink, ResponseWriter } from '@mummy/io-loop'
import { ReadGate } from './gate.js'

/** The protocol version spoken. */
export const TUS_VERSION = '1.0.0'
/** The extensions supported (`Tus-Extension`). */
export const TUS_EXTENSIONS = 'creation,termination,expiration'

/** The `uploads.tus` option of `createServer`. */
export interface TusOptions {
  /** Largest upload, bytes (`Tus-Max-Size`). Over it: 413. Default `uploads.maxSize`. */
  maxSize?: number
  /**
   * An upload not completed this many ms after it was created is removed (`Upload-Expires`;
   * then 410). Completed uploads' records expire too; move the file away to keep it. `0`:
   * never. Default 24 h.
   */
  expires?: number
}

/** {@link TusOptions} with every default applied. */
export interface TusSettings {
  /** Where uploads live (`<uploads.dir>/tus`). */
  readonly dir: string
  readonly maxSize: number
  readonly expires: number
}

/** A tus upload, as {@link tusAnswer} reports one that completed. */
export interface TusUpload {
  /** Its id: the last segment of its URL. */
  readonly id: string
  /** The file holding its bytes. Move it (`fs.renameSync`) to keep it past expiry. */
  readonly path: string
  /** Its length, bytes. */
  readonly length: number
  /** `Upload-Metadata`, decoded (values are UTF-8; a key sent without a value maps to `''`). */
  readonly metadata: Record<string, string>
}

/** What an upload was created with (`<id>.json`). */
interface TusInfo {
  length: number
  /** `Upload-Metadata` as sent. */
  metadata: string
  /** The path the upload's URL is under (the POST's path). */
  base: string
  created: number
  /** Epoch ms after which it is gone; `0`: never. */
  expires: number
  complete: boolean
}

/** The outcome of one PATCH body, handed from the IO thread to the handler. */
export interface TusPatchResult {
  readonly id: string
  /** The offset after this PATCH. */
  readonly offset: number
  readonly length: number
}

/** What {@link tusAnswer} says to answer, and the upload when this request completed it. */
export interface TusAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  readonly upload: TusUpload | null
}

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const OFFSET = /^\d{1,16}$/
const METADATA_KEY = /^[^\s,]+$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const OFFSET_STREAM = /^\s*application\/offset\+octet-stream\s*(;|$)/i
/** Unsent bytes of an upload's file above which reading the connection pauses. */
const HIGH_WATER = 1024 * 1024

/** Resolves `uploads.tus`: `null` when off. */
export function resolveTus(
  option: boolean | TusOptions | undefined,
  uploadsDir: string,
  maxSize: number,
): TusSettings | null {
  if (option === undefined || option === false) return null
  const o = option === true ? {} : option
  const settings: TusSettings = {
    dir: path.join(uploadsDir, 'tus'),
    maxSize: o.maxSize ?? maxSize,
    expires: o.expires ?? 24 * 60 * 60 * 1000,
  }
  if (!Number.isSafeInteger(settings.maxSize) || settings.maxSize < 0)
    throw new MummyError('ERR_MUMMY_INVALID_OPTION', 'uploads.tus.maxSize must be an integer >= 0')
  if (!Number.isSafeInteger(settings.expires) || settings.expires < 0)
    throw new MummyError('ERR_MUMMY_INVALID_OPTION', 'uploads.tus.expires must be ms >= 0')
  return settings
}

/**
 * Decodes an `Upload-Metadata` value: comma-separated `key base64value` pairs (the value may be
 * left out). `null` when it is malformed: a key with a space or comma, a repeated key, or a
 * value that is not base64.
 */
export function parseUploadMetadata(value: string): Record<string, string> | null {
  const result = Object.create(null) as Record<string, string>
  if (value.trim() === '') return result
  for (const pair of value.split(',')) {
    const [key, encoded, extra] = pair.trim().split(' ')
    if (key === undefined || !METADATA_KEY.test(key) || extra !== undefined) return null
    if (key in result) return null
    if (encoded !== undefined && !BASE64.test(encoded)) return null
    result[key] = encoded === undefined ? '' : Buffer.from(encoded, 'base64').toString('utf8')
  }
  return result
}

/** The raw path of a request-target (no query). */
function targetPath(target: string): string {
  const q = target.indexOf('?')
  return q === -1 ? target : target.slice(0, q)
}

/** Splits `/files/<id>` into the base and the id; `null` when the last segment is no id. */
function splitUploadPath(target: string): { base: string; id: string } | null {
  const p = targetPath(target)
  const slash = p.lastIndexOf('/')
  const id = p.slice(slash + 1)
  return ID.test(id) ? { base: p.slice(0, slash), id } : null
}

function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2)
    if ((headers[i] as string).toLowerCase() === name) return headers[i + 1]
  return undefined
}

const infoPath = (settings: TusSettings, id: string): string =>
  path.join(settings.dir, `${id}.json`)

const expired = (info: TusInfo, now = Date.now()): boolean =>
  info.expires !== 0 && now >= info.expires

/** Headers every tus answer carries, plus `extra`. */
function tusHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { 'Tus-Resumable': TUS_VERSION, ...extra }
}

function flatHeaders(headers: Record<string, string>): string[] {
  const flat: string[] = []
  for (const name in headers) flat.push(name, headers[name] as string)
  return flat
}

function uploadHeaders(info: TusInfo): Record<string, string> {
  return info.expires === 0 ? {} : { 'Upload-Expires': new Date(info.expires).toUTCString() }
}

/** Uploads with a PATCH body being written now (the IO thread is the only writer). */
const writing = new Set<string>()

/**
 * The sink of one tus PATCH body, on the IO thread: checks the upload and the offset (pausing
 * the connection while it looks), then appends the body to the upload's file, pausing while
 * the disk is behind. Refusals are answered here (404, 409, 410, 413, 423, and 500 for a disk
 * error), with `Tus-Resumable`. Bytes that reached the disk stay, also when the client leaves
 * mid-body: that is what the client resumes from.
 */
export class TusSink implements BodySink {
  /** The offset after this PATCH once its bytes are on disk; `null` when it was refused or the client left. */
  readonly done: Promise<TusPatchResult | null>
  readonly #resolve: (result: TusPatchResult | null) => void
  readonly #id: string
  readonly #settings: TusSettings
  readonly #response: ResponseWriter
  readonly #gate: ReadGate
  /** Chunks that arrived while the upload was being looked up. */
  #queued: Buffer[] | null = []
  #out: fs.WriteStream | null = null
  #offset: number
  #length = 0
  #ended = false
  #failed = false
  #locked = false

  constructor(
    upload: { base: string; id: string; offset: number; contentLength: number },
    settings: TusSettings,
    response: ResponseWriter,
    control: BodyControl,
  ) {
    let resolve!: (result: TusPatchResult | null) => void
    this.done = new Promise((r) => (resolve = r))
    this.#resolve = resolve
    this.#id = upload.id
    this.#offset = upload.offset
    this.#settings = settings
    this.#response = response
    this.#gate = new ReadGate(control)
    // Nothing is written until the upload was looked up.
    this.#gate.pause()
    void this.#open(upload.base, upload.contentLength)
  }

  async #open(base: string, contentLength: number): Promise<void> {
    const settings = this.#settings
    let info: TusInfo
    let size: number
    try {
      info = JSON.parse(await fs.promises.readFile(infoPath(settings, this.#id), 'utf8')) as TusInfo
      size = (await fs.promises.stat(path.join(settings.dir, this.#id))).size
    } catch {
      this.#refuse(404, 'no such upload')
      return
    }
    if (this.#failed) return
    if (info.base !== base) return this.#refuse(404, 'no such upload')
    if (expired(info)) return this.#refuse(410, 'the upload expired')
    if (writing.has(this.#id)) return this.#refuse(423, 'another request is writing to this upload')
    if (size !== this.#offset)
      return this.#refuse(409, `Upload-Offset is ${this.#offset}, the upload is at ${size}`, {
        'Upload-Offset': String(size),
      })
    this.#length = info.length
    if (contentLength >= 0 && this.#offset + contentLength > info.length)
      return this.#refuse(413, `the body goes past Upload-Length (${info.length})`)
    writing.add(this.#id)
    this.#locked = true
    const out = fs.createWriteStream(path.join(settings.dir, this.#id), {
      flags: 'r+',
      start: this.#offset,
      highWaterMark: HIGH_WATER,
    })
    out.once('error', () => this.#refuse(500, 'the upload could not be stored'))
    // However the file ends (finished, failed, destroyed), the upload is free again.
    out.once('close', () => this.#release())
    this.#out = out
    const queued = this.#queued ?? []
    this.#queued = null
    for (const chunk of queued) this.#append(chunk)
    if (this.#ended) this.#finish()
    this.#gate.resume()
  }

  write(chunk: Buffer): void {
    if (this.#failed) return
    // A view of the connection's buffer: keep a copy.
    if (this.#queued !== null) this.#queued.push(Buffer.from(chunk))
    else this.#append(Buffer.from(chunk))
  }

  end(): void {
    if (this.#failed) return
    this.#ended = true
    if (this.#out !== null) this.#finish()
  }

  /** The client left: what is on disk stays. */
  abort(): void {
    if (this.#failed) return
    this.#failed = true
    this.#close()
    this.#resolve(null)
  }

  #append(chunk: Buffer): void {
    if (this.#failed) return
    if (this.#offset + chunk.length > this.#length) {
      this.#refuse(413, `the body goes past Upload-Length (${this.#length})`)
      return
    }
    this.#offset += chunk.length
    this.#gate.write(this.#out!, chunk)
  }

  #finish(): void {
    // The body is complete: reading goes on (a next request), whatever the disk does. (A
    // stream that was ended emits no 'drain'.)
    this.#gate.resume()
    const out = this.#out!
    // On 'close' (after #release): every byte is on disk, or the file failed (then 'error'
    // came first and answered 500).
    out.once('close', () => {
      if (this.#failed || out.errored !== null) return
      this.#resolve({ id: this.#id, offset: this.#offset, length: this.#length })
    })
    out.end()
  }

  #release(): void {
    if (!this.#locked) return
    this.#locked = false
    writing.delete(this.#id)
  }

  /** Closes the file (keeping what was written) and lets go of the upload. */
  #close(): void {
    this.#gate.resume()
    const out = this.#out
    if (out === null) return
    // Flushed and closed (then released, on 'close'); an errored file is only closed.
    if (out.errored !== null) out.destroy()
    else out.end()
  }

  #refuse(status: number, message: string, extra: Record<string, string> = {}): void {
    if (this.#failed) return
    this.#failed = true
    answerNow(this.#response, status, message, extra)
    this.#close()
    this.#resolve(null)
  }
}

function answerNow(
  response: ResponseWriter,
  status: number,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (response.ended || response.closed) return
  response.end(
    status,
    flatHeaders(tusHeaders({ 'Content-Type': 'text/plain; charset=utf-8', ...extra })),
    `${message}\n`,
    true,
  )
}

/**
 * The sink for a request's body when it is a tus PATCH (`PATCH` with `Tus-Resumable`), else
 * `null`. A PATCH with a bad version, `Content-Type`, `Upload-Offset` or upload URL is answered
 * at once (412, 415, 400, 404).
 */
export function tusSink(
  head: { method: string; target: string; headers: readonly string[]; contentLength: number },
  settings: TusSettings,
  response: ResponseWriter,
  control: BodyControl,
): TusSink | null {
  if (head.method !== 'PATCH') return null
  const version = header(head.headers, 'tus-resumable')
  if (version === undefined) return null
  if (version !== TUS_VERSION) {
    answerNow(response, 412, `Tus-Resumable ${version} is not supported`, {
      'Tus-Version': TUS_VERSION,
    })
    return null
  }
  if (!OFFSET_STREAM.test(header(head.headers, 'content-type') ?? '')) {
    answerNow(response, 415, 'a PATCH carries Content-Type: application/offset+octet-stream')
    return null
  }
  const offset = header(head.headers, 'upload-offset')
  if (offset === undefined || !OFFSET.test(offset)) {
    answerNow(response, 400, 'Upload-Offset must be a non-negative integer')
    return null
  }
  const where = splitUploadPath(head.target)
  if (where === null) {
    answerNow(response, 404, 'no such upload')
    return null
  }
  return new TusSink(
    { ...where, offset: Number(offset), contentLength: head.contentLength },
    settings,
    response,
    control,
  )
}

/**
 * Answers a tus request in a handler: `OPTIONS` (what is supported), `POST` (a new upload;
 * `Location` is its URL under the request's path), `HEAD` (its offset), `PATCH` (the offset
 * after the body the IO thread wrote, `patch`; or a PATCH without a body), `DELETE` (it is
 * removed). Blocking file work: run it on a worker.
 *
 * @param headers - a request header by lower-case name
 * @param patch - what the IO thread's {@link TusSink} did with this request's body, if anything
 */
export function tusAnswer(
  method: string,
  target: string,
  headers: (name: string) => string | undefined,
  patch: TusPatchResult | null,
  settings: TusSettings,
): TusAnswer {
  const reply = (
    status: number,
    extra: Record<string, string> = {},
    body = '',
    upload: TusUpload | null = null,
  ): TusAnswer => ({
    status,
    headers: tusHeaders(
      body === '' ? extra : { 'Content-Type': 'text/plain; charset=utf-8', ...extra },
    ),
    body: body === '' ? '' : `${body}\n`,
    upload,
  })
  if (method === 'OPTIONS')
    return reply(204, {
      'Tus-Version': TUS_VERSION,
      'Tus-Extension': TUS_EXTENSIONS,
      'Tus-Max-Size': String(settings.maxSize),
    })
  const version = headers('tus-resumable')
  if (version !== TUS_VERSION)
    return reply(
      412,
      { 'Tus-Version': TUS_VERSION },
      version === undefined
        ? 'a tus request carries Tus-Resumable'
        : `Tus-Resumable ${version} is not supported`,
    )
  if (method === 'POST') return create(target, headers, settings, reply)
  const where = splitUploadPath(target)
  if (where === null) return reply(404, {}, 'no such upload')
  const file = path.join(settings.dir, where.id)
  let info: TusInfo
  try {
    info = JSON.parse(fs.readFileSync(infoPath(settings, where.id), 'utf8')) as TusInfo
  } catch {
    return reply(404, {}, 'no such upload')
  }
  if (info.base !== where.base) return reply(404, {}, 'no such upload')
  if (method === 'DELETE') {
    removeUpload(settings, where.id)
    return reply(204)
  }
  if (expired(info)) {
    removeUpload(settings, where.id)
    return reply(410, {}, 'the upload expired')
  }
  const offsetNow = (): number => {
    if (info.complete) return info.length
    try {
      return fs.statSync(file).size
    } catch {
      return 0
    }
  }
  if (method === 'HEAD') {
    const extra: Record<string, string> = {
      'Upload-Offset': String(offsetNow()),
      'Upload-Length': String(info.length),
      'Cache-Control': 'no-store',
      ...uploadHeaders(info),
    }
    if (info.metadata !== '') extra['Upload-Metadata'] = info.metadata
    return reply(200, extra)
  }
  if (method !== 'PATCH') return reply(405, { Allow: 'OPTIONS, POST, HEAD, PATCH, DELETE' })
  let offset: number
  if (patch !== null && patch.id === where.id) offset = patch.offset
  else {
    // A PATCH without a body (the IO thread had nothing to write): check it all the same.
    if (!OFFSET_STREAM.test(headers('content-type') ?? ''))
      return reply(415, {}, 'a PATCH carries Content-Type: application/offset+octet-stream')
    const claimed = headers('upload-offset')
    if (claimed === undefined || !OFFSET.test(claimed))
      return reply(400, {}, 'Upload-Offset must be a non-negative integer')
    offset = offsetNow()
    if (Number(claimed) !== offset)
      return reply(409, { 'Upload-Offset': String(offset) }, `the upload is at ${offset}`)
  }
  let upload: TusUpload | null = null
  if (offset === info.length && !info.complete) {
    info.complete = true
    writeInfo(settings, where.id, info)
    upload = {
      id: where.id,
      path: file,
      length: info.length,
      metadata: parseUploadMetadata(info.metadata) ?? {},
    }
  }
  return reply(204, { 'Upload-Offset': String(offset), ...uploadHeaders(info) }, '', upload)
}

function create(
  target: string,
  headers: (name: string) => string | undefined,
  settings: TusSettings,
  reply: (
    status: number,
    extra?: Record<string, string>,
    body?: string,
    upload?: TusUpload | null,
  ) => TusAnswer,
): TusAnswer {
  const declared = headers('upload-length')
  if (declared === undefined)
    return reply(
      400,
      {},
      headers('upload-defer-length') !== undefined
        ? 'Upload-Defer-Length is not supported: send Upload-Length'
        : 'Upload-Length is required',
    )
  if (!OFFSET.test(declared)) return reply(400, {}, 'Upload-Length must be a non-negative integer')
  const length = Number(declared)
  if (length > settings.maxSize)
    return reply(413, { 'Tus-Max-Size': String(settings.maxSize) }, 'the upload is too large')
  const metadata = headers('upload-metadata') ?? ''
  const decoded = parseUploadMetadata(metadata)
  if (decoded === null) return reply(400, {}, 'Upload-Metadata is malformed')
  const id = randomUUID()
  const base = targetPath(target).replace(/\/+$/, '')
  const now = Date.now()
  const info: TusInfo = {
    length,
    metadata,
    base,
    created: now,
    expires: settings.expires === 0 ? 0 : now + settings.expires,
    complete: length === 0,
  }
  fs.mkdirSync(settings.dir, { recursive: true })
  fs.writeFileSync(path.join(settings.dir, id), '', { flag: 'wx' })
  writeInfo(settings, id, info)
  const upload =
    length === 0 ? { id, path: path.join(settings.dir, id), length, metadata: decoded } : null
  return reply(201, { Location: `${base}/${id}`, ...uploadHeaders(info) }, '', upload)
}

function writeInfo(settings: TusSettings, id: string, info: TusInfo): void {
  // Written whole, then renamed: a reader never sees half a record.
  const file = infoPath(settings, id)
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(info))
  fs.renameSync(`${file}.tmp`, file)
}

/** Removes an upload's record and bytes (whatever of them is left). */
export function removeUpload(settings: TusSettings, id: string): void {
  fs.rmSync(infoPath(settings, id), { force: true })
  fs.rmSync(path.join(settings.dir, id), { force: true })
}

/**
 * Removes expired uploads (records and bytes); resolves with how many. An upload that is being
 * written to right now is left for the next sweep.
 */
export async function sweepTus(settings: TusSettings, now = Date.now()): Promise<number> {
  let names: string[]
  try {
    names = await fs.promises.readdir(settings.dir)
  } catch {
    return 0
  }
  let removed = 0
  for (const name of names) {
    if (!name.endsWith('.json')) continue
    const id = name.slice(0, -5)
    if (!ID.test(id) || writing.has(id)) continue
    try {
      const info = JSON.parse(
        await fs.promises.readFile(path.join(settings.dir, name), 'utf8'),
      ) as TusInfo
      if (!expired(info, now)) continue
    } catch {
      continue
    }
    await fs.promises.rm(path.join(settings.dir, name), { force: true })
    await fs.promises.rm(path.join(settings.dir, id), { force: true })
    removed++
  }
  return removed
}
