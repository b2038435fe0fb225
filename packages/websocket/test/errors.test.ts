import { readFileSync, readdirSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { MummyError, isMummyError } from '@mummy/errors'
import * as api from '../dist/index.js'
import { WS_ERROR_CLOSE_CODE, WebSocketError } from '../dist/index.js'

describe('WebSocketError', () => {
  it('is a MummyError whose close code comes from the code table', () => {
    const err = new WebSocketError('ERR_MUMMY_WS_INVALID_UTF8', 'bad text')
    expect(err).toBeInstanceOf(WebSocketError)
    expect(err).toBeInstanceOf(MummyError)
    expect(err).toBeInstanceOf(Error)
    expect(isMummyError(err)).toBe(true)
    expect(err.name).toBe('WebSocketError')
    expect(err.code).toBe('ERR_MUMMY_WS_INVALID_UTF8')
    expect(err.closeCode).toBe(1007)
    expect(err.status).toBeUndefined()
  })

  it('every code is ERR_MUMMY_WS_* with close code 1002, 1007 or 1009', () => {
    for (const [code, closeCode] of Object.entries(WS_ERROR_CLOSE_CODE)) {
      expect(code).toMatch(/^ERR_MUMMY_WS_[A-Z0-9_]+$/)
      expect([1002, 1007, 1009]).toContain(closeCode)
    }
  })

  it('the README error table lists exactly the codes, with their close codes', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const rows = new Map<string, number>()
    for (const m of readme.matchAll(/^\|\s*`(ERR_MUMMY_WS_[A-Z0-9_]+)`\s*\|\s*(\d{4})\s*\|/gm)) {
      rows.set(m[1] as string, Number(m[2]))
    }
    expect(Object.fromEntries(rows)).toEqual(WS_ERROR_CLOSE_CODE)
  })

  it('the README mentions every other code the source raises', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
    const dir = new URL('../src/', import.meta.url)
    const used = new Set<string>()
    for (const name of readdirSync(dir)) {
      if (!name.endsWith('.ts')) continue
      const code = readFileSync(new URL(name, dir), 'utf8').replace(/\/\*\*[\s\S]*?\*\//g, '')
      for (const m of code.matchAll(/ERR_MUMMY_[A-Z0-9_]+/g)) used.add(m[0])
    }
    expect(used.size).toBeGreaterThan(Object.keys(WS_ERROR_CLOSE_CODE).length)
    for (const code of used) expect([code, readme.includes(`\`${code}\``)]).toEqual([code, true])
  })
})

describe('public API', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'CloseCode',
        'DEFAULT_DEFLATE_LEVEL',
        'DEFAULT_DEFLATE_THRESHOLD',
        'DEFAULT_MAX_MESSAGE_LEN',
        'FrameReceiver',
        'Opcode',
        'PerMessageDeflate',
        'Utf8Validator',
        'WS_ERROR_CLOSE_CODE',
        'WebSocketError',
        'acceptKey',
        'buildUpgradeResponse',
        'checkUpgradeRequest',
        'chooseSubprotocol',
        'encodeClose',
        'encodeFrame',
        'encodeMessage',
        'isValidCloseCode',
        'isValidUtf8',
        'negotiateDeflate',
        'parseExtensions',
      ].sort(),
    )
    expect(api.Opcode).toEqual({ Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 })
    expect(api.DEFAULT_MAX_MESSAGE_LEN).toBe(65536)
  })
})
