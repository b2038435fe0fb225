import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from '@jest/globals'
import { MummyError } from '@mummy/errors'
import { Router, createServer } from '../dist/index.js'
import { validateOptions } from '../dist/options.js'
import { workerLimits } from '../dist/executor.js'

const router = new Router()

/** What createServer throws for `options` (single-file form), or null. */
function refusal(options: Record<string, unknown>): { code: string; message: string } | null {
  try {
    createServer(router, options)
    return null
  } catch (error) {
    expect(error).toBeInstanceOf(MummyError)
    return { code: (error as MummyError).code, message: (error as MummyError).message }
  }
}

describe('createServer options', () => {
  it.each([
    ['workers', 'four', 'option workers must be an integer >= 0, got "four"'],
    ['workers', -1, 'option workers must be an integer >= 0, got -1'],
    ['workers', 2.5, 'option workers must be an integer >= 0, got 2.5'],
    ['maxBodyLen', '1mb', 'option maxBodyLen must be an integer >= 0, got "1mb"'],
    ['compression', 'yes', 'option compression must be true, false or an object, got "yes"'],
    ['headersTimeout', -5, 'option headersTimeout must be a number of ms > 0, got -5'],
    ['handlerTimeout', Infinity, 'option handlerTimeout must be a number of ms >= 0, got Infinity'],
    ['transport', 'fast', "option transport must be 'node' or 'uws' or 'auto', got \"fast\""],
    ['backpressure', 'block', "option backpressure must be 'close' or 'drop', got \"block\""],
    ['logHandler', 'stderr', 'option logHandler must be a function, got "stderr"'],
    ['uploads', 3, 'option uploads must be true, false or an object, got 3'],
    [
      'shutdownSignals',
      ['sigterm'],
      "option shutdownSignals must be true, false or a list of signal names such as ['SIGTERM'], got an array",
    ],
    ['resourceLimits', [], 'option resourceLimits must be an object, got an array'],
    ['app', 42, 'option app must be a string or a URL, got 42'],
  ])('refuses %s: %p', (key, value, message) => {
    expect(refusal({ [key]: value })).toEqual({ code: 'ERR_MUMMY_INVALID_OPTION', message })
  })

  it('names an unknown option, with the closest known one', () => {
    expect(refusal({ maxBodyLength: 10 })?.message).toBe(
      'unknown option maxBodyLength (did you mean maxBodyLen?)',
    )
    expect(refusal({ Workers: 2 })?.message).toBe('unknown option Workers (did you mean workers?)')
    expect(refusal({ hadnlerTimeout: 1 })?.message).toBe(
      'unknown option hadnlerTimeout (did you mean handlerTimeout?)',
    )
    expect(refusal({ port: 8080 })?.message).toBe('unknown option port')
  })

  it('refuses the same in the app-module form, and accepts good options and undefined values', () => {
    expect(() =>
      createServer({ app: new URL('./fixtures/app.js', import.meta.url), workerz: 2 } as never),
    ).toThrow('unknown option workerz (did you mean workers?)')
    expect(
      refusal({
        workers: 0,
        maxBodyLen: 0,
        handlerTimeout: 0,
        compression: { threshold: 10 },
        transport: 'auto',
        uploads: true,
        logHandler: () => {},
        maxMessageLen: undefined,
      }),
    ).toBeNull()
    expect(() => validateOptions(null)).toThrow('options must be an object, got null')
  })
})

describe('worker V8 limits', () => {
  it('sizes the young generation to the pool unless the user set it', () => {
    expect(workerLimits(1, undefined)).toEqual({})
    expect(workerLimits(5, undefined)).toEqual({})
    expect(workerLimits(6, undefined)).toEqual({ maxYoungGenerationSizeMb: 42 })
    expect(workerLimits(16, undefined)).toEqual({ maxYoungGenerationSizeMb: 16 })
    expect(workerLimits(100, undefined)).toEqual({ maxYoungGenerationSizeMb: 3 })
    expect(workerLimits(254, { maxOldGenerationSizeMb: 64 })).toEqual({
      maxOldGenerationSizeMb: 64,
      maxYoungGenerationSizeMb: 3,
    })
    expect(workerLimits(100, { maxYoungGenerationSizeMb: 20 })).toEqual({
      maxYoungGenerationSizeMb: 20,
    })
  })

  it.each([
    [8, undefined, 32],
    [8, { maxYoungGenerationSizeMb: 20 }, 20],
  ])('workers run under them (%i workers, resourceLimits %j)', async (workers, limits, young) => {
    const server = createServer({
      app: new URL('./fixtures/limits-app.js', import.meta.url),
      workers,
      logHandler: () => {},
      ...(limits === undefined ? {} : { resourceLimits: limits }),
    })
    await server.listen(0, '127.0.0.1')
    try {
      const seen = (await (await fetch(server.url)).json()) as Record<string, number>
      expect(seen.maxYoungGenerationSizeMb).toBe(young)
    } finally {
      await server.close()
    }
  })
})

describe('eagerOptimization', () => {
  const main = fileURLToPath(new URL('./fixtures/eager-main.js', import.meta.url))
  /** Calls until V8 optimizes a function, in a process whose server has `workers`. */
  function run(workers: number, setting: string, flags: string[] = []) {
    const out = execFileSync(
      process.execPath,
      [
        '--allow-natives-syntax',
        '--no-concurrent-recompilation',
        ...flags,
        main,
        `${workers}`,
        setting,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    return JSON.parse(out.trim().split('\n').pop() as string) as { calls: number; logged: string[] }
  }

  it('validates its value', () => {
    expect(() => createServer(() => {}, { eagerOptimization: 'yes' as never })).toThrow(
      "eagerOptimization must be true, false or 'auto'",
    )
  })

  it("lowers V8's interrupt budget for pools of 16 or more workers, unless told otherwise", () => {
    const plain = run(16, 'false')
    const auto = run(16, 'auto')
    const small = run(4, 'auto')
    const forced = run(2, 'true')
    // The user's own --interrupt-budget wins.
    const own = run(16, 'true', ['--interrupt-budget=67584'])
    expect(plain.logged).toEqual([])
    expect(auto.logged).toEqual([
      'debug: V8 optimizes sooner for 16 workers (--interrupt-budget=8192)',
    ])
    expect(auto.calls).toBeLessThan(plain.calls * 0.75)
    expect(forced.calls).toBeLessThan(plain.calls * 0.75)
    expect(Math.abs(small.calls - plain.calls)).toBeLessThan(plain.calls * 0.1)
    expect(Math.abs(own.calls - plain.calls)).toBeLessThan(plain.calls * 0.1)
    expect(own.logged).toEqual([])
  }, 60_000)
})

describe('listen() arguments', () => {
  it.each([
    ['8080', undefined, 'listen() port must be an integer 0…65535, got "8080"'],
    [70000, undefined, 'listen() port must be an integer 0…65535, got 70000'],
    [-1, undefined, 'listen() port must be an integer 0…65535, got -1'],
    [80.5, undefined, 'listen() port must be an integer 0…65535, got 80.5'],
    [0, '', 'listen() host must be a non-empty string, got ""'],
    [0, 127, 'listen() host must be a non-empty string, got 127'],
  ])('rejects listen(%p, %p)', async (port, host, message) => {
    const server = createServer(router, { workers: 0, logHandler: () => {} })
    const error = (await server
      .listen(port as never, host as never)
      .catch((e: unknown) => e)) as MummyError
    expect([error.code, error.message]).toEqual(['ERR_MUMMY_INVALID_OPTION', message])
  })
})
