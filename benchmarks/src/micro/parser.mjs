// @mummy/parser: a typical browser GET, 16 of them pipelined, a typical JSON POST, and a large
// request (6 KB of headers, 256 KiB chunked body) fed in 64 KiB socket-sized reads.
import { RequestParser } from '@mummy/parser'
import { timePerCall } from './harness.mjs'

const TYPICAL =
  'GET /api/users/42/orders?page=2&sort=desc HTTP/1.1\r\n' +
  'Host: shop.example.com\r\n' +
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n' +
  'Accept: application/json, text/plain, */*\r\n' +
  'Accept-Language: en-US,en;q=0.5\r\n' +
  'Accept-Encoding: gzip, deflate, br, zstd\r\n' +
  'Referer: https://shop.example.com/account/orders\r\n' +
  'Cookie: session=3f9a1c0e8b7d4e2fa5c6b1d0e9f8a7b6; theme=dark\r\n' +
  'Connection: keep-alive\r\n' +
  'Sec-Fetch-Dest: empty\r\n' +
  'Sec-Fetch-Mode: cors\r\n' +
  'Sec-Fetch-Site: same-origin\r\n' +
  '\r\n'

const POST_BODY = JSON.stringify({
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  tags: ['a', 'b'],
})
const POST =
  'POST /api/users HTTP/1.1\r\n' +
  'Host: shop.example.com\r\n' +
  'Content-Type: application/json\r\n' +
  `Content-Length: ${POST_BODY.length}\r\n` +
  'Accept: application/json\r\n' +
  '\r\n' +
  POST_BODY

function largeRequest() {
  let head = 'PUT /upload/archive.tar HTTP/1.1\r\nHost: files.example.com\r\n'
  for (let i = 0; head.length < 6000; i++)
    head += `X-Trace-${i}: ${'abcdef0123456789'.repeat(4)}\r\n`
  head += 'Transfer-Encoding: chunked\r\n\r\n'
  const chunks = [Buffer.from(head)]
  const data = Buffer.alloc(16 * 1024, 0x61)
  for (let i = 0; i < 16; i++) chunks.push(Buffer.from('4000\r\n'), data, Buffer.from('\r\n'))
  chunks.push(Buffer.from('0\r\n\r\n'))
  return Buffer.concat(chunks)
}

function counter() {
  const state = { requests: 0, bodyBytes: 0 }
  const parser = new RequestParser(
    {
      onHead() {},
      onBody(chunk) {
        state.bodyBytes += chunk.length
      },
      onComplete() {
        state.requests++
      },
    },
    { maxBodyLen: 1 << 20 },
  )
  return { parser, state }
}

function oneBuffer(buffer, perCall) {
  const { parser, state } = counter()
  const ms = timePerCall(() => {
    const before = state.requests
    if (parser.execute(buffer) !== buffer.length || state.requests - before !== perCall)
      throw new Error('parse failed')
    return true
  })
  return ms / perCall
}

function inReads(buffer, readSize) {
  const reads = []
  for (let i = 0; i < buffer.length; i += readSize) reads.push(buffer.subarray(i, i + readSize))
  const { parser, state } = counter()
  return timePerCall(() => {
    const before = state.requests
    for (const read of reads)
      if (parser.execute(read) !== read.length) throw new Error('parse failed')
    if (state.requests - before !== 1) throw new Error('parse failed')
    return true
  })
}

export default function run() {
  const typical = Buffer.from(TYPICAL)
  const pipelined = Buffer.from(TYPICAL.repeat(16))
  const post = Buffer.from(POST)
  const large = largeRequest()
  const rows = []
  const row = (name, msPerRequest, bytes) =>
    rows.push({
      name,
      unit: 'req',
      nsPerOp: msPerRequest * 1e6,
      opsPerSec: 1000 / msPerRequest,
      mbPerSec: bytes / 1e6 / (msPerRequest / 1000),
    })
  row(`typical GET (${typical.length} B)`, oneBuffer(typical, 1), typical.length)
  row('typical GET, 16 pipelined in one read', oneBuffer(pipelined, 16), typical.length)
  row(`JSON POST (${post.length} B)`, oneBuffer(post, 1), post.length)
  row(
    `large: ${Math.round(large.indexOf('\r\n\r\n') / 1000)} KB head + 256 KiB chunked, 64 KiB reads`,
    inReads(large, 64 * 1024),
    large.length,
  )
  row('typical GET split into 7-byte reads', inReads(typical, 7), typical.length)
  return rows
}
