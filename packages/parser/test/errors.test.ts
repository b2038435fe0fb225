import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { MummyError, isMummyError } from '@mummy/errors'
import {
  HTTP_PARSE_ERROR_STATUS,
  HttpParseError,
  MULTIPART_ERROR_STATUS,
  RequestParser,
  isTokenChar,
} from '../dist/index.js'

describe('HttpParseError', () => {
  it('is a MummyError whose status comes from the code table', () => {
    const err = new HttpParseError('ERR_MUMMY_URI_TOO_LONG', 'too long')
    expect(err).toBeInstanceOf(HttpParseError)
    expect(err).toBeInstanceOf(MummyError)
    expect(err).toBeInstanceOf(Error)
    expect(isMummyError(err)).toBe(true)
    expect(err.name).toBe('HttpParseError')
    expect(err.code).toBe('ERR_MUMMY_URI_TOO_LONG')
    expect(err.status).toBe(414)
    expect(err.message).toBe('too long')
  })

  it('every code is ERR_MUMMY_* with a 4xx/5xx status', () => {
    for (const [code, status] of Object.entries(HTTP_PARSE_ERROR_STATUS)) {
      expect(code).toMatch(/^ERR_MUMMY_[A-Z0-9_]+$/)
      expect([400, 413, 414, 431, 501, 505]).toContain(status)
    }
  })

  it('the README error tables list exactly the codes (requests and multipart), with their statuses', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const rows = new Map<string, number>()
    for (const m of readme.matchAll(/^\|\s*`(ERR_MUMMY_[A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
      rows.set(m[1] as string, Number(m[2]))
    }
    expect(Object.fromEntries(rows)).toEqual({
      ...HTTP_PARSE_ERROR_STATUS,
      ...MULTIPART_ERROR_STATUS,
    })
  })

  it('the parser reports an HttpParseError', () => {
    const parser = new RequestParser({ onHead() {}, onBody() {}, onComplete() {} })
    expect(parser.execute(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe(-1)
    expect(parser.error).toBeInstanceOf(HttpParseError)
    expect(parser.error?.status).toBe(400)
  })
})

describe('isTokenChar', () => {
  it('matches RFC 9110 tchar', () => {
    const tchars = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for (let c = 0; c < 256; c++)
      expect(isTokenChar(c)).toBe(tchars.includes(String.fromCharCode(c)))
    expect(isTokenChar(0x212a)).toBe(false)
    expect(isTokenChar(-1)).toBe(false)
  })
})
