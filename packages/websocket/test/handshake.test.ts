import { describe, expect, it } from '@jest/globals'
import {
  acceptKey,
  buildUpgradeResponse,
  checkUpgradeRequest,
  chooseSubprotocol,
  type HeaderLookup,
} from '../dist/index.js'

function headers(fields: Record<string, string>): HeaderLookup {
  const map = new Map(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]))
  return { get: (name) => map.get(name.toLowerCase()) }
}

const GOOD = {
  Host: 'server.example.com',
  Upgrade: 'websocket',
  Connection: 'Upgrade',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version': '13',
}

describe('acceptKey', () => {
  it('computes the RFC 6455 example', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
  })
})

describe('checkUpgradeRequest', () => {
  it('accepts the RFC 6455 example request', () => {
    expect(
      checkUpgradeRequest(
        'GET',
        1,
        headers({
          ...GOOD,
          Origin: 'http://example.com',
          'Sec-WebSocket-Protocol': 'chat, superchat',
          'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
        }),
      ),
    ).toEqual({
      ok: true,
      key: 'dGhlIHNhbXBsZSBub25jZQ==',
      protocols: ['chat', 'superchat'],
      extensions: 'permessage-deflate; client_max_window_bits',
    })
  })

  it('accepts token lists and ASCII case variations', () => {
    const r = checkUpgradeRequest(
      'GET',
      1,
      headers({ ...GOOD, Upgrade: 'foo/1, WebSocket', Connection: 'keep-alive, UPGRADE' }),
    )
    expect(r).toMatchObject({ ok: true, protocols: [], extensions: '' })
  })

  it('405 for a method other than GET, with Allow', () => {
    expect(checkUpgradeRequest('POST', 1, headers(GOOD))).toMatchObject({
      ok: false,
      status: 405,
      headers: ['Allow', 'GET'],
    })
    expect(checkUpgradeRequest('get', 1, headers(GOOD))).toMatchObject({ status: 405 })
  })

  it('426 with Sec-WebSocket-Version: 13 for another or no version', () => {
    for (const version of ['8', '12', '14', '13, 8', '']) {
      expect(
        checkUpgradeRequest('GET', 1, headers({ ...GOOD, 'Sec-WebSocket-Version': version })),
      ).toMatchObject({ ok: false, status: 426, headers: ['Sec-WebSocket-Version', '13'] })
    }
    const { 'Sec-WebSocket-Version': _v, ...noVersion } = GOOD
    expect(checkUpgradeRequest('GET', 1, headers(noVersion))).toMatchObject({ status: 426 })
  })

  const bad400: Array<[string, Record<string, string | undefined>, 0 | 1]> = [
    ['HTTP/1.0', {}, 0],
    ['no Upgrade', { Upgrade: undefined }, 1],
    ['Upgrade: h2c', { Upgrade: 'h2c' }, 1],
    ['Upgrade: websocketx', { Upgrade: 'websocketx' }, 1],
    ['Kelvin-sign k in Upgrade', { Upgrade: 'websoc\u212Aet' }, 1],
    ['no Connection', { Connection: undefined }, 1],
    ['Connection: keep-alive', { Connection: 'keep-alive' }, 1],
    ['Connection: upgraded', { Connection: 'upgraded' }, 1],
    ['no key', { 'Sec-WebSocket-Key': undefined }, 1],
    ['key of 15 bytes', { 'Sec-WebSocket-Key': Buffer.alloc(15).toString('base64') }, 1],
    ['key of 17 bytes', { 'Sec-WebSocket-Key': Buffer.alloc(17).toString('base64') }, 1],
    ['key not base64', { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ!=' }, 1],
    ['two keys', { 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==, dGhlIHNhbXBsZSBub25jZQ==' }, 1],
    ['bad subprotocol list', { 'Sec-WebSocket-Protocol': 'chat, "quoted"' }, 1],
    ['empty subprotocol list', { 'Sec-WebSocket-Protocol': ' , ' }, 1],
  ]
  for (const [name, change, minor] of bad400) {
    it(`400: ${name}`, () => {
      const fields: Record<string, string> = { ...GOOD }
      for (const [k, v] of Object.entries(change)) {
        if (v === undefined) delete fields[k]
        else fields[k] = v
      }
      const r = checkUpgradeRequest('GET', minor, headers(fields))
      expect(r).toMatchObject({ ok: false, status: 400 })
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(0)
    })
  }

  it('h2c gets its own reason', () => {
    const r = checkUpgradeRequest(
      'GET',
      1,
      headers({ ...GOOD, Upgrade: 'h2c', Connection: 'Upgrade, HTTP2-Settings' }),
    )
    expect(r).toMatchObject({
      ok: false,
      status: 400,
      reason: 'Upgrade: h2c is not a WebSocket upgrade',
    })
  })

  it('works with WHATWG Headers (get returns null)', () => {
    expect(checkUpgradeRequest('GET', 1, new Headers(GOOD))).toMatchObject({ ok: true })
  })
})

describe('chooseSubprotocol', () => {
  it('uses the server preference order', () => {
    expect(chooseSubprotocol('chat.v1, chat.v2', ['chat.v2', 'chat.v1'])).toBe('chat.v2')
    expect(chooseSubprotocol('chat.v1,chat.v2', ['chat.v1', 'chat.v2'])).toBe('chat.v1')
    expect(chooseSubprotocol('mqtt', ['chat'])).toBeNull()
    expect(chooseSubprotocol('', ['chat'])).toBeNull()
    expect(chooseSubprotocol('Chat', ['chat'])).toBeNull() // case-sensitive
    expect(chooseSubprotocol('chat, "x"', ['chat'])).toBeNull() // malformed list
  })
})

describe('buildUpgradeResponse', () => {
  it('builds the 101 head', () => {
    expect(buildUpgradeResponse('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', null, null)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n',
    )
    expect(
      buildUpgradeResponse('abc=', 'chat', 'permessage-deflate; client_max_window_bits=10'),
    ).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: abc=\r\nSec-WebSocket-Protocol: chat\r\n' +
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n\r\n',
    )
  })

  it('refuses header injection', () => {
    const bad = expect.objectContaining({ code: 'ERR_MUMMY_WS_INVALID_ARGUMENT' })
    expect(() => buildUpgradeResponse('a\r\nX: y', null, null)).toThrow(bad)
    expect(() => buildUpgradeResponse('a', 'chat\r\nX: y', null)).toThrow(bad)
    expect(() => buildUpgradeResponse('a', 'two words', null)).toThrow(bad)
    expect(() => buildUpgradeResponse('a', null, 'x\ny')).toThrow(bad)
  })
})
