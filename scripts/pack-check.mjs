// The packages as a user gets them: every package packed (`pnpm pack`, workspace ranges become
// versions), the tarballs installed with npm into empty projects, and used there — a hello
// server from @mummy/server alone (no native build installed; `transport: 'uws'` says what to
// install, `'auto'` serves on node:net), then with @mummy/uws added (served on uWebSockets.js),
// @mummy/parser and @mummy/router each alone, `require()` refused as documented — plus publint
// and @arethetypeswrong/cli (ESM-only profile) on every tarball.
//
//   node scripts/pack-check.mjs [--json results.json] [--keep]
//
// Prints one line per check and "N passed, N failed"; with --json, writes { passed, failed,
// checks: [{ name, ok, detail }] }. Needs the packages built (`pnpm build`) and npm's registry
// (for third-party dependencies such as fflate and ioredis).
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const args = process.argv.slice(2)
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined
const keep = args.includes('--keep')
const work = mkdtempSync(path.join(os.tmpdir(), 'mummy-pack-'))
const tarballs = path.join(work, 'tarballs')
mkdirSync(tarballs)

/** @type {Array<{ name: string, ok: boolean, detail: string }>} */
const checks = []
function check(name, fn) {
  let ok = false
  let detail = ''
  try {
    detail = fn() ?? ''
    ok = true
  } catch (error) {
    detail = String(error.stdout ?? '') + String(error.stderr ?? '') || String(error.message)
  }
  checks.push({ name, ok, detail: detail.trim() })
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `\n${detail.trim().replace(/^/gm, '     ')}`}`,
  )
}

function run(cmd, argv, cwd, env = {}) {
  return execFileSync(cmd, argv, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', ...env },
    timeout: 300_000,
  })
}

// ---- pack ----
const packages = readdirSync(path.join(root, 'packages')).sort()
for (const name of packages)
  run('pnpm', ['pack', '--pack-destination', tarballs], path.join(root, 'packages', name))
const tgz = (name) => path.join(tarballs, `mummy-${name}-0.1.0.tgz`)
const all = readdirSync(tarballs)
check(`packed ${all.length} packages`, () => {
  if (all.length !== packages.length)
    throw new Error(`expected ${packages.length}: ${all.join(' ')}`)
  return all.join(' ')
})

check('no tarball holds test code, and each has LICENSE, README, dist and src', () => {
  for (const name of packages) {
    const files = run('tar', ['-tzf', tgz(name)], work).split('\n')
    const bad = files.filter((f) => /(^|\/)(test|dist-test)\/|\.test\.|harness|fixtures/.test(f))
    if (bad.length > 0) throw new Error(`${name}: ${bad.join(', ')}`)
    for (const want of [
      'package/LICENSE',
      'package/README.md',
      'package/dist/index.js',
      'package/src/index.ts',
    ])
      if (!files.includes(want)) throw new Error(`${name}: no ${want}`)
  }
})

/** An empty npm project with `deps` (package names) installed from the tarballs. */
function project(dir, deps) {
  const cwd = path.join(work, dir)
  mkdirSync(cwd)
  writeFileSync(
    path.join(cwd, 'package.json'),
    JSON.stringify({ name: dir, version: '1.0.0', private: true, type: 'module' }),
  )
  run('npm', ['install', '--no-package-lock', ...deps.map(tgz)], cwd)
  return cwd
}

// ---- @mummy/server alone ----
const SERVER_DEPS = [
  'server',
  'errors',
  'io-loop',
  'parser',
  'router',
  'sse',
  'uploads',
  'websocket',
  'workers',
]
let app = ''
check('npm installs @mummy/server from its tarballs into an empty project', () => {
  app = project('app', SERVER_DEPS)
})

const APP_MODULE = `import { Router } from '@mummy/server'
const router = new Router()
router.get('/', (request) => request.respond(200, { 'Content-Type': 'text/plain' }, 'Hello, World!'))
export default router
`
const MAIN = `import { createServer } from '@mummy/server'
const transport = process.argv[2]
const server = createServer({ app: new URL('./app.js', import.meta.url), workers: 2, transport })
try {
  await server.listen(0, '127.0.0.1')
} catch (error) {
  console.log(JSON.stringify({ error: error.code, message: error.message }))
  process.exit(0)
}
const res = await fetch('http://127.0.0.1:' + server.port + '/')
console.log(JSON.stringify({ transport: server.transport, status: res.status, body: await res.text() }))
await server.close()
`
const serve = (transport) =>
  JSON.parse(run('node', ['main.js', transport], app).trim().split('\n').at(-1))

check('a hello server from the tarballs answers (node transport)', () => {
  writeFileSync(path.join(app, 'app.js'), APP_MODULE)
  writeFileSync(path.join(app, 'main.js'), MAIN)
  const out = serve('node')
  if (out.status !== 200 || out.body !== 'Hello, World!') throw new Error(JSON.stringify(out))
  return JSON.stringify(out)
})

check('npm ls shows no uWebSockets.js without @mummy/uws', () => {
  // (Installed packages only: the optional peer @mummy/uws shows in `npm ls` as unmet.)
  const installed = run('npm', ['ls', '--all', '--parseable'], app).trim().split('\n')
  const native = installed.filter((p) => /uWebSockets|uws-js|@mummy\/uws/i.test(p))
  if (native.length > 0) throw new Error(native.join('\n'))
  return `${installed.length - 1} packages installed: ${installed
    .slice(1)
    .map((p) => path.relative(path.join(app, 'node_modules'), p))
    .join(' ')}`
})

check(
  "transport 'uws' without @mummy/uws: ERR_MUMMY_TRANSPORT_UNAVAILABLE naming the package",
  () => {
    const out = serve('uws')
    if (
      out.error !== 'ERR_MUMMY_TRANSPORT_UNAVAILABLE' ||
      !out.message.includes('npm install @mummy/uws')
    )
      throw new Error(JSON.stringify(out))
    return out.message
  },
)

check("transport 'auto' without @mummy/uws serves on node:net", () => {
  const out = serve('auto')
  if (out.transport !== 'node' || out.body !== 'Hello, World!') throw new Error(JSON.stringify(out))
})

check('require() is refused as documented (ESM only)', () => {
  try {
    run('node', ['-e', "require('@mummy/server')"], app)
  } catch (error) {
    if (String(error.stderr).includes('ERR_PACKAGE_PATH_NOT_EXPORTED'))
      return 'ERR_PACKAGE_PATH_NOT_EXPORTED'
    throw error
  }
  throw new Error('require() worked')
})

check("with @mummy/uws added, transport 'uws' serves on uWebSockets.js", () => {
  run('npm', ['install', '--no-package-lock', tgz('uws')], app)
  const out = serve('uws')
  if (out.transport !== 'uws' || out.body !== 'Hello, World!') throw new Error(JSON.stringify(out))
  return JSON.stringify(out)
})

// ---- lower packages alone ----
check('@mummy/parser alone parses a request', () => {
  const cwd = project('parser-alone', ['parser', 'errors'])
  const script = `import { RequestParser } from '@mummy/parser'
let seen = null
const parser = new RequestParser({ onHead: (head) => { seen = head.method + ' ' + head.target }, onBody() {}, onComplete() {} })
parser.execute(Buffer.from('GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'))
console.log(seen)`
  writeFileSync(path.join(cwd, 'check.js'), script)
  const out = run('node', ['check.js'], cwd).trim()
  if (out !== 'GET /x') throw new Error(out)
  return out
})

check('@mummy/uploads loads without @mummy/io-loop (types only)', () => {
  const cwd = project('uploads-alone', ['uploads', 'parser', 'errors'])
  const script = `import { uploadSink, tusSink } from '@mummy/uploads'
import { existsSync } from 'node:fs'
console.log(typeof uploadSink, typeof tusSink, existsSync('node_modules/@mummy/io-loop'))`
  writeFileSync(path.join(cwd, 'check.js'), script)
  const out = run('node', ['check.js'], cwd).trim()
  if (out !== 'function function false') throw new Error(out)
  return out
})

check('@mummy/router alone routes', () => {
  const deps = ['router', 'errors']
  const cwd = project('router-alone', deps)
  const script = `import { Router } from '@mummy/router'
const router = new Router()
router.get('/users/:id', () => {})
const match = router.match('GET', '/users/7')
console.log(JSON.stringify(match))`
  writeFileSync(path.join(cwd, 'check.js'), script)
  const out = run('node', ['check.js'], cwd).trim()
  if (!out.includes('"id":"7"')) throw new Error(out)
  return out
})

// ---- linters ----
const bin = (name) => path.join(root, 'node_modules', '.bin', name)
for (const name of packages) {
  check(`publint @mummy/${name}`, () => {
    const out = run(bin('publint'), ['--strict', tgz(name)], root)
    return out.split('\n').filter(Boolean).at(-1) ?? ''
  })
  check(`attw @mummy/${name} (ESM only)`, () => {
    const out = run(
      bin('attw'),
      [tgz(name), '--profile', 'esm-only', '--format', 'table-flipped'],
      root,
    )
    return out.split('\n').filter(Boolean).at(-1) ?? ''
  })
}

const passed = checks.filter((c) => c.ok).length
const failed = checks.length - passed
console.log(`${passed} passed, ${failed} failed`)
if (jsonOut !== undefined)
  writeFileSync(jsonOut, JSON.stringify({ passed, failed, checks }, null, 2))
if (!keep) rmSync(work, { recursive: true, force: true })
else console.log(`kept ${work}`)
process.exit(failed > 0 ? 1 : 0)
