// The honesty check run once per server before any load: every path of the scenario must answer
// 200 with exactly the expected bytes (json: gzip-encoded, and identical once decompressed).
import zlib from 'node:zlib'
import { get } from './server-process.mjs'

const expected = new Map()

function expectedBody(check) {
  if (!expected.has(check)) {
    const value = typeof check.expect === 'function' ? check.expect() : check.expect
    expected.set(check, Buffer.from(value))
  }
  return expected.get(check)
}

/** Resolves when every check passes; rejects with a readable reason otherwise. */
export async function verify(port, scenario) {
  for (const check of scenario.checks) {
    const response = await get(port, check.path, check.headers ?? {}, 10_000)
    const where = `GET ${check.path}`
    if (response.status !== 200) throw new Error(`${where} answered ${response.status}`)
    let body = response.body
    const coding = response.headers['content-encoding']
    if (check.encoding !== undefined) {
      if (coding !== check.encoding)
        throw new Error(`${where} was not ${check.encoding}-encoded (Content-Encoding: ${coding})`)
      try {
        body = zlib.gunzipSync(body)
      } catch (error) {
        throw new Error(`${where}: the gzip body does not decompress (${error.message})`)
      }
    } else if (coding !== undefined) {
      throw new Error(`${where} is ${coding}-encoded though the client did not ask for it`)
    }
    const want = expectedBody(check)
    if (!body.equals(want)) {
      const got = body.subarray(0, 60).toString('latin1')
      throw new Error(
        `${where} answered ${body.length} bytes that differ from the expected ${want.length} ` +
          `(starts ${JSON.stringify(got)})`,
      )
    }
  }
}
