// Fuzz targets: each runs one protocol parser of the project on an input and checks what must
// hold whatever the input — a result or a typed error (never an exception of another kind), the
// same outcome whether the input arrives whole or split (at a point chosen from the input, so a
// finding replays), and what a valid result promises. A violation throws (a finding).
//
// Imported only after coverage started (see run.mjs): the packages' built code is what runs.
import { strict as assert } from 'node:assert'
import { createHash } from 'node:crypto'

const root = new URL('../../packages/', import.meta.url)
const load = (pkg) => import(new URL(`${pkg}/dist/index.js`, root).href)

const parser = await load('parser')
const websocket = await load('websocket')
const sse = await load('sse')
const router = await load('router')
const uploads = await load('uploads')

/** A split point in (0, length) chosen from the input itself: the same input splits the same way. */
function splitPoint(data) {
  if (data.length < 2) return -1
  const h = createHash('md5').update(data).digest()
  return 1 + (h.readUInt32LE(0) % (data.length - 1))
}

/** `whole` and `[head, tail]` at the input's split point (and byte by byte for short inputs). */
function splits(data) {
  const out = []
  const at = splitPoint(data)
  if (at > 0) out.push([data.subarray(0, at), data.subarray(at)])
  if (data.length > 0 && data.length <= 48) out.push(Array.from(data, (b) => Buffer.from([b])))
  return out
}

function sameWhateverTheSplit(data, outcome) {
  const whole = outcome([data])
  for (const pieces of splits(data))
    assert.equal(outcome(pieces), whole, 'outcome depends on the split')
  return whole
}

// ---- HTTP/1.1 request parser --------------------------------------------------------------

const SMALL_LIMITS = {
  maxHeadersLen: 160,
  maxUriLen: 40,
  maxHeaderCount: 6,
  maxBodyLen: 24,
  maxChunkExtLen: 8,
  maxTrailersLen: 24,
}

function httpOutcome(pieces, options, pause) {
  const events = []
  let head = null
  let body = []
  const p = new parser.RequestParser(
    {
      onHead(h) {
        head = h
        body = []
      },
      onBody(chunk) {
        body.push(Buffer.from(chunk))
      },
      onComplete(trailers) {
        const b = Buffer.concat(body)
        events.push(JSON.stringify({ ...head, body: b.toString('latin1'), trailers }))
        if (!head.chunked && head.contentLength >= 0)
          assert.equal(b.length, head.contentLength, 'body length differs from Content-Length')
        assert.equal(head.headers.length % 2, 0)
        const target = head.target
        if (target.startsWith('/') || target === '*') {
          for (let i = 0; i < head.headers.length; i += 2)
            if (head.headers[i].toLowerCase() === 'host')
              assert.ok(
                parser.isValidHost(head.headers[i + 1]),
                `invalid Host accepted: ${JSON.stringify(head.headers[i + 1])}`,
              )
        }
        if (head.method === 'CONNECT')
          assert.ok(options.allowConnect, 'CONNECT accepted without allowConnect')
        head = null
        return pause
      },
    },
    options,
  )
  let error = null
  let upgradedAt = -1
  let offset = 0
  outer: for (const piece of pieces) {
    let rest = piece
    while (rest.length > 0) {
      const n = p.execute(rest)
      if (n < 0) {
        const e = p.error
        assert.ok(e instanceof parser.HttpParseError, 'error is not an HttpParseError')
        assert.equal(
          e.status,
          parser.HTTP_PARSE_ERROR_STATUS[e.code],
          `unknown code or status ${e.code} ${e.status}`,
        )
        error = e.code
        break outer
      }
      if (p.upgraded) {
        upgradedAt = offset + n
        break outer
      }
      offset += n
      rest = rest.subarray(n)
      if (n === 0) break
    }
  }
  const fin = error === null && upgradedAt < 0 ? (p.finish()?.code ?? null) : null
  return JSON.stringify({ events, error, upgradedAt, fin })
}

const HTTP_DICTIONARY = [
  'GET ',
  'POST ',
  'HEAD ',
  'OPTIONS ',
  'CONNECT ',
  ' HTTP/1.1\r\n',
  ' HTTP/1.0\r\n',
  '\r\n\r\n',
  'Host: ',
  'Host: [::1]:80\r\n',
  'Content-Length: ',
  'Transfer-Encoding: chunked\r\n',
  'Transfer-Encoding: gzip, chunked\r\n',
  'Connection: close\r\n',
  'Connection: keep-alive, Upgrade\r\n',
  'Upgrade: websocket\r\n',
  'Expect: 100-continue\r\n',
  '0\r\n\r\n',
  '5;a=b\r\nhello\r\n',
  'http://h:80/p?q',
  'h:443',
  ' *',
  ';q="x\\"y"',
  'X-T: 1\r\n',
]
const HTTP_SEEDS = [
  'GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n',
  'POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world',
  'PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6 ; q="x\\"y"\r\n world\r\n0\r\nX-T: 1\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n',
  'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00',
  'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n\x16\x03',
  'GET http://u@h/x HTTP/1.1\r\nHost: [v1.x]\r\nExpect: 100-continue\r\n\r\nGET /2 HTTP/1.1\r\nHost: [2001:db8::1]:8\r\n\r\n',
]

// ---- multipart/form-data ------------------------------------------------------------------

function multipartOutcome(boundary, pieces, limits) {
  const events = []
  let data = []
  const p = new parser.MultipartParser(
    boundary,
    {
      onPartBegin: (head) => events.push(`begin ${JSON.stringify(head)}`),
      onPartData: (chunk) => data.push(Buffer.from(chunk)),
      onPartEnd: () => {
        events.push(`data ${Buffer.concat(data).toString('latin1')}`)
        data = []
      },
      onEnd: () => events.push('end'),
    },
    limits,
  )
  try {
    for (const piece of pieces) p.execute(piece)
    p.finish()
  } catch (error) {
    assert.ok(error instanceof parser.MultipartError, `not a MultipartError: ${error}`)
    assert.ok(error.code in parser.MULTIPART_ERROR_STATUS, `unknown code ${error.code}`)
    events.push(`error ${error.code}`)
  }
  return events.join('\n')
}

// ---- WebSocket frames ---------------------------------------------------------------------

const DEFLATE_PARAMS = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  threshold: 0,
  level: 1,
}
const MAX_MESSAGE = 2048

function wsOutcome(pieces, requireMask, deflate) {
  const events = []
  const r = new websocket.FrameReceiver(
    {
      onMessage(kind, data) {
        assert.ok(data.length <= MAX_MESSAGE, 'message over maxMessageLen')
        if (kind === 'text') assert.ok(websocket.isValidUtf8(data), 'invalid UTF-8 text delivered')
        events.push(`${kind} ${data.toString('hex')}`)
      },
      onPing: (data) => events.push(`ping ${data.toString('hex')}`),
      onPong: (data) => events.push(`pong ${data.toString('hex')}`),
      onClose(code, reason) {
        if (code !== null) assert.ok(websocket.isValidCloseCode(code), `invalid close code ${code}`)
        events.push(`close ${code} ${reason}`)
      },
    },
    {
      maxMessageLen: MAX_MESSAGE,
      requireMask,
      deflate: deflate
        ? new websocket.PerMessageDeflate(DEFLATE_PARAMS, { maxMessageLen: MAX_MESSAGE })
        : null,
    },
  )
  for (const piece of pieces) {
    // (The receiver unmasks in place: each run gets its own copy.)
    if (!r.execute(Buffer.from(piece))) {
      const e = r.error
      assert.ok(e instanceof websocket.WebSocketError, 'error is not a WebSocketError')
      assert.equal(e.closeCode, websocket.WS_ERROR_CLOSE_CODE[e.code], `unknown code ${e.code}`)
      events.push(`error ${e.code}`)
      break
    }
  }
  return events.join('\n')
}

/** A masked client frame. */
function frame(opcode, payload, { fin = true, rsv1 = false, mask = [1, 2, 3, 4] } = {}) {
  const data = Buffer.from(payload)
  const len = data.length
  const head =
    len < 126 ? Buffer.from([0, 0x80 | len]) : Buffer.from([0, 0x80 | 126, len >> 8, len & 255])
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode
  const masked = Buffer.from(data.map((b, i) => b ^ mask[i % 4]))
  return Buffer.concat([head, Buffer.from(mask), masked])
}

const WS_SEEDS = [
  Buffer.concat([
    frame(1, 'hello'),
    frame(2, Buffer.from([0, 1, 2, 255])),
    frame(9, 'ping'),
    frame(8, Buffer.from([3, 232, 98, 121, 101])),
  ]),
  Buffer.concat([
    frame(1, 'frag', { fin: false }),
    frame(9, ''),
    frame(0, 'mented', { fin: false }),
    frame(0, ' €'),
  ]),
  Buffer.concat([frame(10, 'pong'), frame(2, Buffer.alloc(300, 7)), frame(8, '')]),
]
// permessage-deflate: "hello" compressed (RSV1), then uncompressed text.
const DEFLATED = Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])
const WS_DEFLATE_SEEDS = [
  Buffer.concat([
    frame(1, DEFLATED, { rsv1: true }),
    frame(1, 'plain'),
    frame(2, DEFLATED, { rsv1: true, fin: false }),
    frame(0, Buffer.alloc(0)),
  ]),
  ...WS_SEEDS,
]

// ---- text/event-stream --------------------------------------------------------------------

function sseOutcome(pieces, maxEventLen) {
  const events = []
  const p = new sse.SseParser((event) => events.push(JSON.stringify(event)), { maxEventLen })
  try {
    for (const piece of pieces) p.feed(piece)
  } catch (error) {
    assert.equal(error?.code, 'ERR_MUMMY_SSE_TOO_LARGE', `unexpected error ${error}`)
    events.push('error too large')
  }
  events.push(`retry ${p.retry} id ${p.lastEventId}`)
  return events.join('\n')
}

const SSE_SEEDS = [
  '\ufeffevent: tick\ndata: 1\nid: 7\nretry: 3000\n\n: comment\r\ndata: a\r\ndata: b\r\n\r\n',
  'data: caf\u00e9 \u20ac\rid: x\0y\rdata\r\r',
  'event:x\ndata:\n\nid\nretry: 1a\n\ndata: last\n',
]

// ---- router -------------------------------------------------------------------------------

const ROUTES = [
  ['GET', '/'],
  ['GET', '/users/:id'],
  ['POST', '/users/:id'],
  ['GET', '/users/@name/posts/:post'],
  ['GET', '/static/**'],
  ['GET', '/files/*.js'],
  ['GET', '/page_*'],
  ['PUT', '/a/*/c'],
  ['all', '/any/:x'],
  ['DELETE', '/**'],
  ['GET', '/x/**/y'],
]
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'get']
const full = new router.Router()
const singles = ROUTES.map(([method, pattern], i) => {
  const handler = () => i
  full[method.toLowerCase()](pattern, handler)
  const one = new router.Router()
  one[method.toLowerCase()](pattern, handler)
  return one
})

function routerTarget(data) {
  const method = METHODS[data.length > 0 ? data[0] % METHODS.length : 0]
  const uri = data.subarray(1).toString('latin1')
  let result
  try {
    result = full.match(method, uri)
  } catch (error) {
    assert.fail(`match threw: ${error}`)
  }
  assert.ok(
    ['found', 'not-found', 'method-not-allowed'].includes(result.kind),
    `unknown kind ${result.kind}`,
  )
  assert.deepEqual(full.match(method, uri), result, 'match is not deterministic')
  // The router picks the first route that matches alone for this method; for HEAD, failing
  // that, the first GET (or `all`) route that matches.
  const alone = singles.map((one) => one.match(method, uri).kind === 'found')
  const direct = (i) => ROUTES[i][0] === method || (ROUTES[i][0] === 'all' && method !== 'HEAD')
  let expected = alone.findIndex((found, i) => found && direct(i))
  if (expected < 0 && method === 'HEAD') expected = alone.findIndex((found) => found)
  if (expected >= 0) {
    assert.equal(result.kind, 'found', 'a route matched alone but not in the router')
    assert.equal(result.handler(), expected, 'not the first matching route')
    assert.equal(Object.getPrototypeOf(result.params), null, 'params object has a prototype')
  } else assert.notEqual(result.kind, 'found', 'found a route that matches nowhere alone')
}

const ROUTER_SEEDS = [
  '\x00/users/42',
  '\x01/users/ada/posts/7?x=1',
  '\x00/static/a/b/c.css',
  '\x00/files/app.js',
  '\x00/page_2',
  '\x03/a/b/c',
  '\x02/any/%2F%zz',
  '\x04/deep/er',
  '\x00/x/1/2/y',
  '\x00http://h/users/1',
  '\x00/../users/%41',
]

// ---- tus Upload-Metadata ------------------------------------------------------------------

function tusTarget(data) {
  const value = data.toString('latin1')
  const parsed = uploads.parseUploadMetadata(value)
  if (parsed === null) return
  assert.equal(Object.getPrototypeOf(parsed), null, 'metadata object has a prototype')
  for (const key of Object.keys(parsed)) assert.match(key, /^[^\s,]+$/, 'invalid key accepted')
  // Written out again (as a client would) it reads back the same.
  const again = Object.entries(parsed)
    .map(([k, v]) => (v === '' ? k : `${k} ${Buffer.from(v).toString('base64')}`))
    .join(',')
  assert.deepEqual(
    { ...uploads.parseUploadMetadata(again) },
    { ...parsed },
    'metadata does not round-trip',
  )
}

const TUS_SEEDS = [
  'filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential',
  'a YQ==, b,c Yw==',
  '',
  'k dmFsdWU=,k2 4oKs',
]

/** Every target, by name. */
export const TARGETS = {
  'http-parser': {
    scopes: [
      '/packages/parser/dist/parser.js',
      '/packages/parser/dist/host.js',
      '/packages/parser/dist/tables.js',
    ],
    seeds: HTTP_SEEDS.flatMap((s) => [
      Buffer.from('\x00' + s, 'latin1'),
      Buffer.from('\x03' + s, 'latin1'),
    ]),
    dictionary: HTTP_DICTIONARY,
    maxLen: 2048,
    run(data) {
      const mode = data.length > 0 ? data[0] : 0
      const options = { ...(mode & 1 ? SMALL_LIMITS : {}), allowConnect: (mode & 2) !== 0 }
      const input = data.subarray(1)
      const whole = sameWhateverTheSplit(input, (pieces) => httpOutcome(pieces, options, false))
      // Pausing after each request and resuming with the rest changes nothing either.
      assert.equal(httpOutcome([input], options, true), whole, 'outcome depends on pausing')
    },
  },
  multipart: {
    scopes: ['/packages/parser/dist/multipart.js'],
    seeds: [
      'pre\r\n--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nvalue a\r\n--XyZ  \r\nContent-Disposition: form-data; name="f"; filename="f.txt"; filename*=UTF-8\'\'%E2%82%AC.txt\r\nContent-Type: text/plain\r\n\r\nfile\r\n--XyZ\r\ncontent\r\n--XyZ--\r\nepilogue',
      '--XyZ\r\nContent-Disposition: form-data; name=b\r\n\r\n\r\n--Xy\r\n--XyZ\r\n--XyZ--',
    ],
    dictionary: [
      '\r\n--XyZ',
      '\r\n--XyZ--',
      '\r\n\r\n',
      'Content-Disposition: form-data; name="x"',
      '; filename="a.txt"',
      'Content-Type: a/b\r\n',
      ' \t',
    ],
    maxLen: 2048,
    run(data) {
      const limits = { maxParts: 1 + (data.length % 5), maxPartHeadersLen: 20 + (data.length % 97) }
      sameWhateverTheSplit(data, (pieces) => multipartOutcome('XyZ', pieces, limits))
    },
  },
  'ws-receiver': {
    scopes: [
      '/packages/websocket/dist/receiver.js',
      '/packages/websocket/dist/utf8.js',
      '/packages/websocket/dist/mask.js',
    ],
    seeds: WS_SEEDS.map((s) => Buffer.concat([Buffer.from([1]), s])),
    dictionary: [
      '\x81\x85',
      '\x01\x80',
      '\x80\x80',
      '\x88\x82',
      '\x89\x80',
      '\x7e\x00\x80',
      '\x7f\x00\x00\x00\x00\x00\x01\x00\x00',
      '\xc0\x80',
      '\xf4\x90\x80\x80',
      '\xed\xa0\x80',
    ],
    maxLen: 4096,
    run(data) {
      const requireMask = data.length > 0 && (data[0] & 1) === 1
      sameWhateverTheSplit(data.subarray(1), (pieces) => wsOutcome(pieces, requireMask, false))
    },
  },
  'ws-deflate': {
    scopes: [
      '/packages/websocket/dist/receiver.js',
      '/packages/websocket/dist/deflate.js',
      '/packages/websocket/dist/utf8.js',
    ],
    seeds: WS_DEFLATE_SEEDS.map((s) => Buffer.concat([Buffer.from([1]), s])),
    dictionary: [
      '\xc1\x80',
      '\x41\x80',
      '\x00\x00\xff\xff',
      '\xf2\x48\xcd\xc9\xc9\x07\x00',
      '\x01\x00\x00\xff\xff',
    ],
    maxLen: 4096,
    run(data) {
      const requireMask = data.length > 0 && (data[0] & 1) === 1
      sameWhateverTheSplit(data.subarray(1), (pieces) => wsOutcome(pieces, requireMask, true))
    },
  },
  'sse-parser': {
    scopes: ['/packages/sse/dist/parser.js'],
    seeds: SSE_SEEDS.map((s) => Buffer.from(s, 'utf8')),
    dictionary: [
      'data: ',
      'event: ',
      'id: ',
      'retry: ',
      '\r\n',
      '\r',
      '\n\n',
      ':',
      '\ufeff',
      '\u00e9',
      '\0',
    ],
    maxLen: 2048,
    run(data) {
      const max = 16 + (data.length % 200)
      sameWhateverTheSplit(data, (pieces) => sseOutcome(pieces, max))
    },
  },
  router: {
    scopes: ['/packages/router/dist/'],
    seeds: ROUTER_SEEDS.map((s) => Buffer.from(s, 'latin1')),
    dictionary: [
      '/',
      '//',
      '%2F',
      '%zz',
      '%',
      '?',
      '#',
      '..',
      '.js',
      'page_',
      'users',
      'static',
      '**',
    ],
    maxLen: 512,
    run: routerTarget,
  },
  'tus-metadata': {
    scopes: ['/packages/uploads/dist/tus.js'],
    seeds: TUS_SEEDS.map((s) => Buffer.from(s, 'latin1')),
    dictionary: [',', ' ', '==', '=', 'YQ==', 'filename', '\t'],
    maxLen: 512,
    run: tusTarget,
  },
}
