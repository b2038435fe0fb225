// tus 1.0: metadata parsing, settings, the handler side (tusAnswer, sweepTus) on real files, and
// TusSink on real transports (node:net and uWebSockets.js) fed over real sockets.
import { randomBytes, randomUUID } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import { exchange, sleep, waitFor } from '@mummy/test-kit'
import {
  NodeTransport,
  type BodyControl,
  type BodyHead,
  type ResponseWriter,
  type Transport,
  type TransportRequest,
} from '@mummy/io-loop'
import { UwsTransport } from '@mummy/uws'
import {
  TUS_EXTENSIONS,
  TUS_VERSION,
  TusSink,
  parseUploadMetadata,
  resolveTus,
  sweepTus,
  tusAnswer,
  tusSink,
  type TusAnswer,
  type TusPatchResult,
  type TusSettings,
} from '../dist/index.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64')

/** Lower-case request headers, Tus-Resumable 1.0.0 unless given (`undefined` leaves it out). */
function tusHeaders(
  extra: Record<string, string | undefined> = {},
): (name: string) => string | undefined {
  const map = new Map<string, string | undefined>([['tus-resumable', TUS_VERSION]])
  for (const [name, value] of Object.entries(extra)) map.set(name, value)
  return (name) => map.get(name)
}

/** What a function threw (`undefined` when it returned). */
function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

/** Creates an upload through tusAnswer and returns its id (checks the 201). */
function createUpload(
  settings: TusSettings,
  length: number,
  extra: Record<string, string> = {},
  target = '/files',
): { id: string; answer: TusAnswer } {
  const answer = tusAnswer(
    'POST',
    target,
    tusHeaders({ 'upload-length': String(length), ...extra }),
    null,
    settings,
  )
  expect(answer.status).toBe(201)
  const id = (answer.headers.Location ?? '').split('/').pop() ?? ''
  expect(id).toMatch(UUID)
  return { id, answer }
}

describe('parseUploadMetadata', () => {
  it('decodes an empty value to no keys', () => {
    expect(parseUploadMetadata('')).toEqual({})
    expect(Object.keys(parseUploadMetadata('   ')!)).toEqual([])
  })

  it('maps a key without a value to the empty string', () => {
    expect(parseUploadMetadata('is_confidential')).toEqual({ is_confidential: '' })
    expect(parseUploadMetadata('a YQ==, flag')).toEqual({ a: 'a', flag: '' })
  })

  it('decodes UTF-8 values from base64', () => {
    const name = 'naïve – 日本語 🎉.pdf'
    const result = parseUploadMetadata(`filename ${b64(name)},type ${b64('application/pdf')}`)
    expect(result).toEqual({ filename: name, type: 'application/pdf' })
    expect(parseUploadMetadata('k YWI=,l YWJj')).toEqual({ k: 'ab', l: 'abc' })
  })

  it('keeps keys case-sensitively', () => {
    expect(parseUploadMetadata('Name YQ==,name Yg==')).toEqual({ Name: 'a', name: 'b' })
  })

  it.each([
    ['a repeated key', 'k YQ==,k Yg=='],
    ['a repeated key without values', 'k,k'],
    ['a key with a space (three tokens)', 'my key YQ=='],
    ['a value that is not base64 (unpadded)', 'k YQ'],
    ['a value that is not base64 (bad characters)', 'k a*b='],
    ['an empty pair at the end', 'a YQ==,'],
    ['an empty pair at the start', ',a YQ=='],
    ['an empty pair in the middle', 'a YQ==,,b Yg=='],
  ])('returns null for %s', (_what, value) => {
    expect(parseUploadMetadata(value)).toBeNull()
  })

  it('maps __proto__ and constructor to their values without touching Object.prototype', () => {
    const result = parseUploadMetadata(`__proto__ ${b64('x')},constructor ${b64('y')}`)
    expect(result).not.toBeNull()
    expect(Object.keys(result!).sort()).toEqual(['__proto__', 'constructor'])
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toBe('x')
    expect(Object.getOwnPropertyDescriptor(result, 'constructor')?.value).toBe('y')
    // Nothing leaked into every object.
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('x')
    expect(({} as Record<string, unknown>).x).toBeUndefined()
    expect(typeof ({} as Record<string, unknown>).constructor).toBe('function')
    // Names Object.prototype has are not taken for repeated keys.
    expect(parseUploadMetadata('toString YQ==,hasOwnProperty,valueOf Yg==')).toEqual({
      toString: 'a',
      hasOwnProperty: '',
      valueOf: 'b',
    })
  })
})

describe('resolveTus', () => {
  it('applies the defaults', () => {
    const expected = { dir: path.join('/srv/up', 'tus'), maxSize: 4096, expires: 24 * 3600_000 }
    expect(resolveTus(true, '/srv/up', 4096)).toEqual(expected)
    expect(resolveTus({}, '/srv/up', 4096)).toEqual(expected)
  })

  it('takes maxSize and expires as given (0 included)', () => {
    expect(resolveTus({ maxSize: 10, expires: 0 }, '/u', 4096)).toEqual({
      dir: path.join('/u', 'tus'),
      maxSize: 10,
      expires: 0,
    })
    expect(resolveTus({ maxSize: 0, expires: 5 }, '/u', 4096)).toMatchObject({
      maxSize: 0,
      expires: 5,
    })
  })

  it('is null when off', () => {
    expect(resolveTus(false, '/u', 1)).toBeNull()
    expect(resolveTus(undefined, '/u', 1)).toBeNull()
  })

  it.each([
    ['maxSize -1', { maxSize: -1 }, 10],
    ['maxSize 1.5', { maxSize: 1.5 }, 10],
    ['maxSize NaN', { maxSize: Number.NaN }, 10],
    ['maxSize Infinity', { maxSize: Infinity }, 10],
    ['an inherited maxSize -1', {}, -1],
    ['expires -1', { expires: -1 }, 10],
    ['expires 0.5', { expires: 0.5 }, 10],
    ['expires NaN', { expires: Number.NaN }, 10],
  ])('throws ERR_MUMMY_INVALID_OPTION for %s', (_what, option, maxSize) => {
    const error = thrown(() => resolveTus(option, '/u', maxSize))
    expect(error).toBeInstanceOf(MummyError)
    expect((error as MummyError).code).toBe('ERR_MUMMY_INVALID_OPTION')
  })
})

describe('tusAnswer', () => {
  let work: string
  let settings: TusSettings
  const files = (): string[] => (fs.existsSync(settings.dir) ? fs.readdirSync(settings.dir) : [])
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-tus-answer-'))
    settings = { dir: path.join(work, 'tus'), maxSize: 1000, expires: 60_000 }
  })
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('answers OPTIONS with what is supported, without needing Tus-Resumable', () => {
    const answer = tusAnswer('OPTIONS', '/files', () => undefined, null, settings)
    expect(answer.status).toBe(204)
    expect(answer.headers).toMatchObject({
      'Tus-Resumable': TUS_VERSION,
      'Tus-Version': '1.0.0',
      'Tus-Extension': 'creation,termination,expiration',
      'Tus-Max-Size': '1000',
    })
    expect(TUS_EXTENSIONS).toBe('creation,termination,expiration')
    expect(answer.body).toBe('')
    expect(answer.upload).toBeNull()
  })

  it('answers 412 without or with a wrong Tus-Resumable', () => {
    for (const version of [undefined, '0.2.2', '1.0']) {
      for (const method of ['POST', 'HEAD', 'PATCH', 'DELETE']) {
        const answer = tusAnswer(
          method,
          `/files/${randomUUID()}`,
          tusHeaders({ 'tus-resumable': version, 'upload-length': '3' }),
          null,
          settings,
        )
        expect(answer.status).toBe(412)
        expect(answer.headers['Tus-Version']).toBe('1.0.0')
        expect(answer.headers['Tus-Resumable']).toBe('1.0.0')
        expect(answer.upload).toBeNull()
      }
    }
    expect(files()).toEqual([])
  })

  it('creates an upload on POST: an empty data file, its record, and its Location', () => {
    const before = Date.now()
    const { id, answer } = createUpload(settings, 10, {}, '/files/?x=1')
    expect(answer.headers.Location).toBe(`/files/${id}`)
    expect(answer.headers['Tus-Resumable']).toBe('1.0.0')
    expect(answer.upload).toBeNull()
    expect(answer.body).toBe('')
    expect(fs.statSync(path.join(settings.dir, id)).size).toBe(0)
    const info = JSON.parse(fs.readFileSync(path.join(settings.dir, `${id}.json`), 'utf8')) as {
      length: number
      base: string
      metadata: string
      expires: number
      complete: boolean
    }
    expect(info).toMatchObject({ length: 10, base: '/files', metadata: '', complete: false })
    expect(info.expires).toBeGreaterThanOrEqual(before + 60_000)
    expect(info.expires).toBeLessThanOrEqual(Date.now() + 60_000)
    // Upload-Expires is an HTTP date (second precision) of that instant.
    const expires = Date.parse(answer.headers['Upload-Expires'] ?? '')
    expect(Math.abs(expires - info.expires)).toBeLessThan(1000)
  })

  it('strips trailing slashes and the query from the Location base', () => {
    expect(createUpload(settings, 1, {}, '/a/b//').answer.headers.Location).toMatch(
      /^\/a\/b\/[0-9a-f-]{36}$/,
    )
    expect(createUpload(settings, 1, {}, '/?q=/x').answer.headers.Location).toMatch(
      /^\/[0-9a-f-]{36}$/,
    )
  })

  it('leaves out Upload-Expires when uploads never expire', () => {
    const never = { ...settings, expires: 0 }
    const { id, answer } = createUpload(never, 5)
    expect(answer.headers['Upload-Expires']).toBeUndefined()
    const head = tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, never)
    expect(head.status).toBe(200)
    expect(head.headers['Upload-Expires']).toBeUndefined()
  })

  it.each([
    ['no Upload-Length', {}, /Upload-Length is required/],
    ['Upload-Defer-Length', { 'upload-defer-length': '1' }, /Upload-Defer-Length/],
    ['Upload-Length abc', { 'upload-length': 'abc' }, /non-negative integer/],
    ['Upload-Length -1', { 'upload-length': '-1' }, /non-negative integer/],
    ['Upload-Length 1.5', { 'upload-length': '1.5' }, /non-negative integer/],
    ['Upload-Length empty', { 'upload-length': '' }, /non-negative integer/],
    ['malformed Upload-Metadata', { 'upload-length': '1', 'upload-metadata': 'k YQ' }, /Metadata/],
  ])('answers POST with %s 400 and creates nothing', (_what, extra, message) => {
    const before = files().length
    const answer = tusAnswer('POST', '/files', tusHeaders(extra), null, settings)
    expect(answer.status).toBe(400)
    expect(answer.body).toMatch(message)
    expect(answer.headers['Content-Type']).toBe('text/plain; charset=utf-8')
    expect(answer.headers.Location).toBeUndefined()
    expect(files().length).toBe(before)
  })

  it('answers 413 for an Upload-Length over maxSize, and takes one at maxSize', () => {
    const before = files().length
    const answer = tusAnswer(
      'POST',
      '/files',
      tusHeaders({ 'upload-length': '1001' }),
      null,
      settings,
    )
    expect(answer.status).toBe(413)
    expect(answer.headers['Tus-Max-Size']).toBe('1000')
    expect(files().length).toBe(before)
    createUpload(settings, 1000)
  })

  it('reports an upload of length 0 as complete at once', () => {
    const { id, answer } = createUpload(settings, 0, { 'upload-metadata': `name ${b64('é')}` })
    expect(answer.upload).toEqual({
      id,
      path: path.join(settings.dir, id),
      length: 0,
      metadata: { name: 'é' },
    })
    // Complete: a PATCH at 0 is fine but reports nothing new.
    const patch = tusAnswer(
      'PATCH',
      `/files/${id}`,
      tusHeaders({ 'content-type': 'application/offset+octet-stream', 'upload-offset': '0' }),
      null,
      settings,
    )
    expect(patch.status).toBe(204)
    expect(patch.upload).toBeNull()
  })

  it('answers HEAD with the offset on disk, the length and the metadata as sent', () => {
    const metadata = `filename ${b64('world_domination_plan.pdf')},is_confidential`
    const { id } = createUpload(settings, 10, { 'upload-metadata': metadata })
    const head0 = tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, settings)
    expect(head0.status).toBe(200)
    expect(head0.headers['Upload-Offset']).toBe('0')
    fs.appendFileSync(path.join(settings.dir, id), Buffer.from('abcdefg'))
    const head = tusAnswer('HEAD', `/files/${id}?t=1`, tusHeaders(), null, settings)
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers).toMatchObject({
      'Tus-Resumable': '1.0.0',
      'Upload-Offset': '7',
      'Upload-Length': '10',
      'Cache-Control': 'no-store',
      'Upload-Metadata': metadata,
    })
    expect(head.headers['Upload-Expires']).toBeDefined()
    // No Upload-Metadata when none was sent.
    const plain = createUpload(settings, 3).id
    expect(
      tusAnswer('HEAD', `/files/${plain}`, tusHeaders(), null, settings).headers['Upload-Metadata'],
    ).toBeUndefined()
  })

  it('answers 404 for an upload under another base path, or no upload at all', () => {
    const { id } = createUpload(settings, 10)
    for (const target of [
      `/other/${id}`,
      `/files/x/${id}`,
      `/${id}`,
      `/files/${randomUUID()}`,
      '/files/not-an-id',
      `/files/${id}/`,
    ]) {
      const answer = tusAnswer('HEAD', target, tusHeaders(), null, settings)
      expect(answer.status).toBe(404)
      expect(answer.headers['Tus-Resumable']).toBe('1.0.0')
    }
    expect(tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, settings).status).toBe(200)
  })

  it('removes an upload on DELETE, then answers 404', () => {
    const { id } = createUpload(settings, 10)
    fs.appendFileSync(path.join(settings.dir, id), 'abc')
    // Under another base: not this one.
    expect(tusAnswer('DELETE', `/other/${id}`, tusHeaders(), null, settings).status).toBe(404)
    expect(fs.existsSync(path.join(settings.dir, id))).toBe(true)
    const answer = tusAnswer('DELETE', `/files/${id}`, tusHeaders(), null, settings)
    expect(answer.status).toBe(204)
    expect(answer.headers['Tus-Resumable']).toBe('1.0.0')
    expect(fs.existsSync(path.join(settings.dir, id))).toBe(false)
    expect(fs.existsSync(path.join(settings.dir, `${id}.json`))).toBe(false)
    expect(tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, settings).status).toBe(404)
    expect(tusAnswer('DELETE', `/files/${id}`, tusHeaders(), null, settings).status).toBe(404)
  })

  describe('PATCH', () => {
    const patchHeaders = (
      offset: string | undefined,
      /** `null`: no Content-Type. */
      contentType: string | null = 'application/offset+octet-stream',
    ): ((name: string) => string | undefined) =>
      tusHeaders({ 'content-type': contentType ?? undefined, 'upload-offset': offset })

    it('without a body: 204 at the offset, and the upload once when it is complete', () => {
      const metadata = `name ${b64('a.txt')},empty`
      const { id } = createUpload(settings, 5, { 'upload-metadata': metadata })
      const at0 = tusAnswer('PATCH', `/files/${id}`, patchHeaders('0'), null, settings)
      expect(at0.status).toBe(204)
      expect(at0.headers['Upload-Offset']).toBe('0')
      expect(at0.headers['Upload-Expires']).toBeDefined()
      expect(at0.upload).toBeNull()
      fs.appendFileSync(path.join(settings.dir, id), 'hello')
      const done = tusAnswer('PATCH', `/files/${id}`, patchHeaders('5'), null, settings)
      expect(done.status).toBe(204)
      expect(done.headers['Upload-Offset']).toBe('5')
      expect(done.upload).toEqual({
        id,
        path: path.join(settings.dir, id),
        length: 5,
        metadata: { name: 'a.txt', empty: '' },
      })
      const info = JSON.parse(fs.readFileSync(path.join(settings.dir, `${id}.json`), 'utf8')) as {
        complete: boolean
      }
      expect(info.complete).toBe(true)
      const again = tusAnswer('PATCH', `/files/${id}`, patchHeaders('5'), null, settings)
      expect(again.status).toBe(204)
      expect(again.upload).toBeNull()
      // The record outlives completion: HEAD still answers.
      const head = tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, settings)
      expect(head.headers['Upload-Offset']).toBe('5')
    })

    it('answers 409 with the real Upload-Offset for a wrong offset', () => {
      const { id } = createUpload(settings, 10)
      fs.appendFileSync(path.join(settings.dir, id), 'abc')
      for (const claimed of ['0', '2', '4', '10']) {
        const answer = tusAnswer('PATCH', `/files/${id}`, patchHeaders(claimed), null, settings)
        expect(answer.status).toBe(409)
        expect(answer.headers['Upload-Offset']).toBe('3')
        expect(answer.upload).toBeNull()
      }
    })

    it('answers 415 for a wrong Content-Type and 400 for a bad Upload-Offset', () => {
      const { id } = createUpload(settings, 10)
      for (const type of [
        null,
        '',
        'text/plain',
        'application/octet-stream',
        'application/offset+octet-streams',
      ])
        expect(
          tusAnswer('PATCH', `/files/${id}`, patchHeaders('0', type), null, settings).status,
        ).toBe(415)
      expect(
        tusAnswer(
          'PATCH',
          `/files/${id}`,
          patchHeaders('0', 'Application/Offset+Octet-Stream; x=1'),
          null,
          settings,
        ).status,
      ).toBe(204)
      for (const offset of [undefined, '-1', 'a', '1.0', ''])
        expect(
          tusAnswer('PATCH', `/files/${id}`, patchHeaders(offset), null, settings).status,
        ).toBe(400)
    })

    it('answers a PATCH whose body the IO thread wrote with the offset it reached', () => {
      const { id } = createUpload(settings, 5)
      // The headers of such a PATCH need no re-check: the sink checked them.
      const noHeaders = tusHeaders()
      const partial: TusPatchResult = { id, offset: 3, length: 5 }
      const first = tusAnswer('PATCH', `/files/${id}`, noHeaders, partial, settings)
      expect(first.status).toBe(204)
      expect(first.headers['Upload-Offset']).toBe('3')
      expect(first.upload).toBeNull()
      const last = tusAnswer(
        'PATCH',
        `/files/${id}`,
        noHeaders,
        { id, offset: 5, length: 5 },
        settings,
      )
      expect(last.status).toBe(204)
      expect(last.headers['Upload-Offset']).toBe('5')
      expect(last.upload).toMatchObject({ id, length: 5, metadata: {} })
      // The result of another upload's PATCH is not taken for this one's.
      const other = createUpload(settings, 5).id
      const mixed = tusAnswer(
        'PATCH',
        `/files/${other}`,
        noHeaders,
        { id, offset: 5, length: 5 },
        settings,
      )
      expect(mixed.status).toBe(415)
      expect(mixed.upload).toBeNull()
    })

    it('answers 410 for an expired upload and removes its files', async () => {
      const short = { ...settings, expires: 1 }
      const a = createUpload(short, 10).id
      const b = createUpload(short, 10).id
      fs.appendFileSync(path.join(settings.dir, a), 'abc')
      await sleep(10)
      for (const [method, id] of [
        ['HEAD', a],
        ['PATCH', b],
      ] as const) {
        const answer = tusAnswer(method, `/files/${id}`, patchHeaders('0'), null, short)
        expect(answer.status).toBe(410)
        expect(answer.headers['Tus-Resumable']).toBe('1.0.0')
        expect(fs.existsSync(path.join(settings.dir, id))).toBe(false)
        expect(fs.existsSync(path.join(settings.dir, `${id}.json`))).toBe(false)
        expect(tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, short).status).toBe(404)
      }
    })
  })

  it('answers 405 with Allow for another method', () => {
    const { id } = createUpload(settings, 10)
    for (const method of ['GET', 'PUT', 'TRACE']) {
      const answer = tusAnswer(method, `/files/${id}`, tusHeaders(), null, settings)
      expect(answer.status).toBe(405)
      expect(answer.headers.Allow).toBe('OPTIONS, POST, HEAD, PATCH, DELETE')
      expect(answer.headers['Tus-Resumable']).toBe('1.0.0')
    }
    expect(fs.existsSync(path.join(settings.dir, id))).toBe(true)
  })
})

describe('sweepTus', () => {
  let work: string
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-tus-sweep-'))
  })
  afterAll(() => {
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('removes expired uploads, keeps the others and unrelated files, and counts', async () => {
    const settings: TusSettings = { dir: path.join(work, 'tus'), maxSize: 100, expires: 60_000 }
    const short = { ...settings, expires: 1 }
    const gone = [createUpload(short, 10).id, createUpload(short, 0).id]
    fs.appendFileSync(path.join(settings.dir, gone[0]!), 'abc')
    const later = createUpload(settings, 10).id
    const never = createUpload({ ...settings, expires: 0 }, 10).id
    const unrelated = [
      'notes.txt',
      'other.json',
      `${randomUUID()}.json.tmp`,
      `${randomUUID().toUpperCase()}.json`,
    ]
    for (const name of unrelated) fs.writeFileSync(path.join(settings.dir, name), '{"expires":1}')
    const broken = randomUUID()
    fs.writeFileSync(path.join(settings.dir, `${broken}.json`), 'not json')
    fs.mkdirSync(path.join(settings.dir, 'sub.json'))
    await sleep(10)
    expect(await sweepTus(settings)).toBe(2)
    const left = fs.readdirSync(settings.dir).sort()
    for (const id of gone) {
      expect(left).not.toContain(id)
      expect(left).not.toContain(`${id}.json`)
    }
    expect(left).toEqual(
      [
        later,
        `${later}.json`,
        never,
        `${never}.json`,
        ...unrelated,
        `${broken}.json`,
        'sub.json',
      ].sort(),
    )
    expect(await sweepTus(settings)).toBe(0)
    // Later on, the one with a deadline goes too; the one without never does.
    expect(await sweepTus(settings, Date.now() + 120_000)).toBe(1)
    expect(fs.existsSync(path.join(settings.dir, later))).toBe(false)
    expect(fs.existsSync(path.join(settings.dir, `${later}.json`))).toBe(false)
    expect(fs.existsSync(path.join(settings.dir, never))).toBe(true)
    expect(fs.existsSync(path.join(settings.dir, `${never}.json`))).toBe(true)
  })

  it('counts 0 for a missing folder', async () => {
    const settings: TusSettings = { dir: path.join(work, 'missing'), maxSize: 1, expires: 1 }
    expect(await sweepTus(settings)).toBe(0)
    expect(fs.existsSync(settings.dir)).toBe(false)
  })
})

describe.each(['node', 'uws'])('TusSink on the %s transport', (kind) => {
  let transport: Transport
  let port: number
  let work: string
  let settings: TusSettings
  /** The sinks tusSink made, in order. */
  const sinks: TusSink[] = []
  const dataPath = (id: string): string => path.join(settings.dir, id)
  const size = (id: string): number => fs.statSync(dataPath(id)).size
  const patchHead = (
    id: string,
    offset: number,
    length: number,
    extra: Record<string, string> = {},
  ): string => {
    const fields: Record<string, string> = {
      Host: 'localhost',
      'Tus-Resumable': TUS_VERSION,
      'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': String(offset),
      'Content-Length': String(length),
      ...extra,
    }
    let head = `PATCH /files/${id} HTTP/1.1\r\n`
    for (const [name, value] of Object.entries(fields))
      if (value !== '') head += `${name}: ${value}\r\n`
    return `${head}\r\n`
  }

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'mummy-tus-sink-'))
    settings = { dir: path.join(work, 'tus'), maxSize: 16 * 1024 * 1024, expires: 60_000 }
    fs.mkdirSync(settings.dir)
    const onRequest = (req: TransportRequest, res: ResponseWriter): void => {
      if (!(req.sink instanceof TusSink)) {
        res.end(200, [], 'not tus')
        return
      }
      void req.sink.done.then((result) => {
        if (result === null) return // refused: already answered
        res.end(204, ['Tus-Resumable', TUS_VERSION, 'Upload-Offset', String(result.offset)])
      })
    }
    const options = {
      onBodyStart: (head: BodyHead, res: ResponseWriter, control: BodyControl) => {
        const sink = tusSink(head, settings, res, control)
        if (sink !== null) sinks.push(sink)
        return sink
      },
      onRequest,
    }
    transport = kind === 'uws' ? new UwsTransport(options) : new NodeTransport(options)
    port = await transport.listen(0, '127.0.0.1')
  })
  afterAll(async () => {
    await transport.close(500)
    fs.rmSync(work, { recursive: true, force: true })
  })

  it('appends a body sent in odd pieces exactly at the offset', async () => {
    const { id } = createUpload(settings, 200)
    const before = randomBytes(17)
    fs.writeFileSync(dataPath(id), before)
    const body = randomBytes(183)
    const head = patchHead(id, 17, body.length)
    const cuts = [0, 1, 8, 21, 50, 51, 97, 140, 183]
    const pieces: Buffer[] = [Buffer.from(head.slice(0, 30)), Buffer.from(head.slice(30))]
    for (let i = 1; i < cuts.length; i++) pieces.push(body.subarray(cuts[i - 1], cuts[i]))
    const { responses } = await exchange(port, '', { pieces, pieceDelay: 15, responses: 1 })
    expect(responses).toHaveLength(1)
    expect(responses[0]!.status).toBe(204)
    expect(responses[0]!.headers['upload-offset']).toBe('200')
    expect(fs.readFileSync(dataPath(id)).equals(Buffer.concat([before, body]))).toBe(true)
    const head200 = tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, settings)
    expect(head200.headers['Upload-Offset']).toBe('200')
  })

  it('stores a body larger than the file stream buffers (pausing for the disk) intact', async () => {
    const length = 5 * 1024 * 1024 + 7
    const { id } = createUpload(settings, length)
    const body = randomBytes(length)
    const pieces: Buffer[] = [Buffer.from(patchHead(id, 0, length))]
    for (let at = 0; at < length; at += 65_531) pieces.push(body.subarray(at, at + 65_531))
    const { responses } = await exchange(port, '', { pieces, responses: 1, timeout: 20_000 })
    expect(responses[0]!.status).toBe(204)
    expect(responses[0]!.headers['upload-offset']).toBe(String(length))
    expect(fs.readFileSync(dataPath(id)).equals(body)).toBe(true)
  })

  it('takes two PATCHes one after the other on one connection', async () => {
    const { id } = createUpload(settings, 10)
    const socket = net.connect(port, '127.0.0.1')
    let received = ''
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')))
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(patchHead(id, 0, 4) + 'abcd')
    await waitFor(() => /Upload-Offset: 4/i.test(received), 5000, 'the first answer')
    socket.write(patchHead(id, 4, 6) + 'ef')
    await sleep(20)
    socket.write('ghij')
    await waitFor(() => /Upload-Offset: 10/i.test(received), 5000, 'the second answer')
    socket.destroy()
    expect(fs.readFileSync(dataPath(id), 'latin1')).toBe('abcdefghij')
  })

  it('answers 409 with the real offset when Upload-Offset does not match', async () => {
    const { id } = createUpload(settings, 10)
    fs.writeFileSync(dataPath(id), 'abc')
    const { responses } = await exchange(port, patchHead(id, 5, 2) + 'xy', { responses: 1 })
    expect(responses[0]!.status).toBe(409)
    expect(responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    expect(responses[0]!.headers['upload-offset']).toBe('3')
    await sleep(30)
    expect(fs.readFileSync(dataPath(id), 'latin1')).toBe('abc')
  })

  it('answers 404 for an unknown upload', async () => {
    for (const target of [randomUUID(), 'not-an-id']) {
      const { responses } = await exchange(port, patchHead(target, 0, 3) + 'abc', {
        responses: 1,
      })
      expect(responses[0]!.status).toBe(404)
      expect(responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    }
  })

  it('answers 415 for a wrong Content-Type and 412 for a wrong Tus-Resumable itself', async () => {
    const { id } = createUpload(settings, 10)
    const made = sinks.length
    const wrongType = await exchange(
      port,
      patchHead(id, 0, 3, { 'Content-Type': 'text/plain' }) + 'abc',
      { responses: 1 },
    )
    expect(wrongType.responses[0]!.status).toBe(415)
    expect(wrongType.responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    const wrongVersion = await exchange(
      port,
      patchHead(id, 0, 3, { 'Tus-Resumable': '0.2.2' }) + 'abc',
      { responses: 1 },
    )
    expect(wrongVersion.responses[0]!.status).toBe(412)
    expect(wrongVersion.responses[0]!.headers['tus-version']).toBe('1.0.0')
    expect(wrongVersion.responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    const badOffset = await exchange(port, patchHead(id, 0, 3, { 'Upload-Offset': '-1' }) + 'abc', {
      responses: 1,
    })
    expect(badOffset.responses[0]!.status).toBe(400)
    // Answered by tusSink: no sink was made, nothing reached onRequest, nothing was written.
    expect(sinks.length).toBe(made)
    expect(size(id)).toBe(0)
  })

  it('leaves a PATCH without Tus-Resumable to the application', async () => {
    const { id } = createUpload(settings, 10)
    const { responses } = await exchange(
      port,
      patchHead(id, 0, 3, { 'Tus-Resumable': '' }) + 'abc',
      { responses: 1 },
    )
    expect(responses[0]!.status).toBe(200)
    expect(responses[0]!.body.toString()).toBe('not tus')
    expect(size(id)).toBe(0)
  })

  it('answers 413 for a Content-Length past Upload-Length and writes nothing', async () => {
    const { id } = createUpload(settings, 10)
    fs.writeFileSync(dataPath(id), 'ab')
    // Refused from the head alone: the answer comes before the rest of the body is sent.
    const { responses } = await exchange(port, patchHead(id, 2, 9) + 'cde', {
      responses: 1,
    })
    expect(responses).toHaveLength(1)
    expect(responses[0]!.status).toBe(413)
    expect(responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    await sleep(30)
    expect(fs.readFileSync(dataPath(id), 'latin1')).toBe('ab')
    // The upload is not locked by the refused PATCH.
    const ok = await exchange(port, patchHead(id, 2, 8) + 'cdefghij', { responses: 1 })
    expect(ok.responses[0]!.status).toBe(204)
    expect(ok.responses[0]!.headers['upload-offset']).toBe('10')
    expect(fs.readFileSync(dataPath(id), 'latin1')).toBe('abcdefghij')
  })

  it('answers 423 to a second PATCH while another one is writing the upload', async () => {
    const { id } = createUpload(settings, 20)
    const first = net.connect(port, '127.0.0.1')
    let firstAnswer = ''
    first.on('data', (d: Buffer) => (firstAnswer += d.toString('latin1')))
    first.on('error', () => {})
    await new Promise((resolve) => first.once('connect', resolve))
    first.write(patchHead(id, 0, 10) + 'abcde')
    await waitFor(() => size(id) === 5, 5000, 'the first 5 bytes on disk')
    const second = await exchange(port, patchHead(id, 5, 5) + 'vwxyz', { responses: 1 })
    expect(second.responses[0]!.status).toBe(423)
    expect(second.responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    first.write('fghij')
    await waitFor(() => /Upload-Offset: 10/i.test(firstAnswer), 5000, 'the first answer')
    first.destroy()
    expect(fs.readFileSync(dataPath(id), 'latin1')).toBe('abcdefghij')
  })

  it('answers 410 for an expired upload', async () => {
    const { id } = createUpload({ ...settings, expires: 1 }, 10)
    await sleep(10)
    const { responses } = await exchange(port, patchHead(id, 0, 3) + 'abc', { responses: 1 })
    expect(responses[0]!.status).toBe(410)
    expect(responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    await sleep(30)
    expect(size(id)).toBe(0)
  })

  it('answers 413 for a chunked body that goes past Upload-Length, keeping what fit', async () => {
    const { id } = createUpload(settings, 5)
    const head = patchHead(id, 0, 0, { 'Content-Length': '', 'Transfer-Encoding': 'chunked' })
    const { responses } = await exchange(port, '', {
      pieces: [head, '3\r\nabc\r\n', '3\r\ndef\r\n', '0\r\n\r\n'],
      pieceDelay: 50,
      responses: 1,
    })
    expect(responses[0]!.status).toBe(413)
    expect(responses[0]!.headers['tus-resumable']).toBe('1.0.0')
    await waitFor(() => size(id) === 3, 5000, 'the 3 bytes that fit on disk')
    await sleep(30)
    expect(fs.readFileSync(dataPath(id), 'latin1')).toBe('abc')
    // Not locked: the client resumes at 3.
    const ok = await exchange(port, patchHead(id, 3, 2) + 'de', { responses: 1 })
    expect(ok.responses[0]!.status).toBe(204)
    expect(ok.responses[0]!.headers['upload-offset']).toBe('5')
    expect(fs.readFileSync(dataPath(id), 'latin1')).toBe('abcde')
  })

  it('keeps the bytes of a client that left mid-body, and lets it resume', async () => {
    const { id } = createUpload(settings, 1000)
    const bytes = randomBytes(1000)
    const socket = net.connect(port, '127.0.0.1')
    socket.on('error', () => {})
    await new Promise((resolve) => socket.once('connect', resolve))
    const made = sinks.length
    socket.write(patchHead(id, 0, 1000))
    socket.write(bytes.subarray(0, 123))
    await sleep(20)
    socket.write(bytes.subarray(123, 301))
    await waitFor(() => size(id) === 301, 5000, 'the first 301 bytes on disk')
    expect(sinks.length).toBe(made + 1)
    const sink = sinks[made]!
    socket.destroy()
    // The client left: the sink reports nothing (there is no one to answer).
    await expect(sink.done).resolves.toBeNull()
    await sleep(50)
    expect(size(id)).toBe(301)
    const head = tusAnswer('HEAD', `/files/${id}`, tusHeaders(), null, settings)
    expect(head.headers['Upload-Offset']).toBe('301')
    // Resuming there works: the upload is not locked any more.
    const rest = bytes.subarray(301)
    const { responses } = await exchange(port, '', {
      pieces: [patchHead(id, 301, rest.length), rest.subarray(0, 99), rest.subarray(99)],
      pieceDelay: 10,
      responses: 1,
    })
    expect(responses[0]!.status).toBe(204)
    expect(responses[0]!.headers['upload-offset']).toBe('1000')
    expect(fs.readFileSync(dataPath(id)).equals(bytes)).toBe(true)
    const done = tusAnswer(
      'PATCH',
      `/files/${id}`,
      tusHeaders(),
      { id, offset: 1000, length: 1000 },
      settings,
    )
    expect(done.upload).toMatchObject({ id, length: 1000, path: dataPath(id) })
  })
})
