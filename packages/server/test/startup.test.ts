// Start-up as a user meets it: an app module that cannot load names itself and the file and line
// that threw (its own stack, not the pool's), with no worker warnings before the rejection; a
// port in use is one rejection and nothing else; and in the single-file form the code after
// `await server.listen()` runs on the IO thread only.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import { createServer } from '../dist/index.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mummy-startup-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Writes `files` (name → source) and starts an app from the first; returns the rejection and the log. */
async function failToStart(files: Record<string, string>) {
  for (const [name, source] of Object.entries(files)) writeFileSync(path.join(dir, name), source)
  const lines: string[] = []
  const server = createServer({
    app: pathToFileURL(path.join(dir, Object.keys(files)[0]!)),
    workers: 2,
    logHandler: (level, message) => lines.push(`${level} ${message}`),
  })
  const error = (await server.listen(0, '127.0.0.1').catch((e: unknown) => e)) as MummyError
  return { error, lines }
}

describe('start-up errors', () => {
  it('an app module that throws at import: ERR_MUMMY_APP_LOAD names the file and line, stack included', async () => {
    const { error, lines } = await failToStart({
      'throws.mjs': "const ok = 1\nthrow new Error('boom at import')\nexport default () => {}\n",
    })
    const file = path.join(dir, 'throws.mjs')
    expect(error).toBeInstanceOf(MummyError)
    expect(error.code).toBe('ERR_MUMMY_APP_LOAD')
    expect(error.message).toBe(
      `cannot load ${file} in a worker: Error: boom at import (at ${file}:2:7)`,
    )
    expect(error.stack?.split('\n')[1]).toBe(`    at ${pathToFileURL(file).href}:2:7`)
    expect((error.cause as Error).message).toBe('boom at import')
    // Reported once, by the rejection: no worker warnings before it.
    expect(lines).toEqual([])
  })

  it('names the imported file that threw, and places a syntax error anywhere in the graph', async () => {
    const nested = await failToStart({
      'nested.mjs': "import './db.mjs'\nexport default () => {}\n",
      'db.mjs': 'export const a = 1\n\nnull.boom\n',
    })
    expect(nested.error.message).toBe(
      `cannot load ${path.join(dir, 'nested.mjs')} in a worker: TypeError: Cannot read properties of null (reading 'boom') (at ${path.join(dir, 'db.mjs')}:3:6)`,
    )
    const syntax = await failToStart({
      'syntax.mjs': "import './bad.mjs'\nexport default () => {}\n",
      'bad.mjs': 'const a = 1\nconst = 5\n',
    })
    expect(syntax.error.code).toBe('ERR_MUMMY_APP_LOAD')
    expect(syntax.error.message).toBe(
      `cannot load ${path.join(dir, 'syntax.mjs')} in a worker: SyntaxError: Unexpected token '=' (at ${path.join(dir, 'bad.mjs')}:2)`,
    )
    expect(syntax.lines).toEqual([])
  })

  it('a port in use: one ERR_MUMMY_LISTEN rejection, no worker noise', async () => {
    const taken = net.createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as net.AddressInfo).port
    const lines: string[] = []
    const server = createServer({
      app: new URL('./fixtures/app.js', import.meta.url),
      workers: 2,
      logHandler: (level, message) => lines.push(`${level} ${message}`),
    })
    const error = (await server.listen(port, '127.0.0.1').catch((e: unknown) => e)) as MummyError
    taken.close()
    expect(error.code).toBe('ERR_MUMMY_LISTEN')
    expect(error.message).toContain('EADDRINUSE')
    await new Promise((r) => setTimeout(r, 300))
    expect(lines.filter((l) => !l.startsWith('debug'))).toEqual([])
  })

  it('single-file form: the code after `await server.listen()` runs on the IO thread only', async () => {
    const script = fileURLToPath(new URL('./fixtures/single-file.js', import.meta.url))
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 })
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.filter((l) => l.after === 'listen')).toEqual([{ after: 'listen', threadId: 0 }])
    expect(lines.find((l) => l.answer !== undefined)?.answer).toMatch(/^hi from [1-9]\d*$/)
  })

  it('TypeScript app modules and single-file scripts load in the workers under tsx (its CLI and --import tsx)', async () => {
    const server = new URL('../dist/index.js', import.meta.url).href
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }')
    writeFileSync(
      path.join(dir, 'app.ts'),
      `import { Router, type Request } from '${server}'
const router = new Router()
const greet = (name: string): string => \`Hello, \${name}!\`
router.get('/', (request: Request) => request.respond(200, {}, greet('TypeScript')))
export default router
`,
    )
    writeFileSync(
      path.join(dir, 'main.ts'),
      `import { createServer } from '${server}'
const server = createServer({ app: new URL('./app.ts', import.meta.url), workers: 2, logHandler: () => {} })
await server.listen(0, '127.0.0.1')
const text: string = await (await fetch(server.url)).text()
console.log(text)
await server.close()
`,
    )
    writeFileSync(
      path.join(dir, 'single.ts'),
      `import { threadId } from 'node:worker_threads'
import { Router, createServer, type Request } from '${server}'
const router = new Router()
const answer: string = 'single-file TypeScript'
router.get('/', (request: Request) => request.respond(200, {}, \`\${answer} from \${threadId}\`))
const server = createServer(router, { workers: 2, logHandler: () => {} })
await server.listen(0, '127.0.0.1')
console.log(await (await fetch(server.url)).text())
await server.close()
`,
    )
    const pkg = fileURLToPath(new URL('..', import.meta.url))
    const tsx = path.join(pkg, 'node_modules', '.bin', 'tsx')
    const exec = promisify(execFile)
    const cli = await exec(tsx, [path.join(dir, 'main.ts')], { timeout: 30_000, cwd: pkg })
    expect(cli.stdout.trim()).toBe('Hello, TypeScript!')
    const imported = await exec(
      process.execPath,
      ['--import', 'tsx', path.join(dir, 'single.ts')],
      {
        timeout: 30_000,
        cwd: pkg,
      },
    )
    expect(imported.stdout.trim()).toMatch(/^single-file TypeScript from [1-9]\d*$/)
  }, 60_000)
})
