import { describe, expect, it } from '@jest/globals'
import { MummyError, isMummyError } from '../dist/index.js'

describe('MummyError', () => {
  it('carries a stable code, status and close code', () => {
    const err = new MummyError('ERR_MUMMY_TEST', 'boom', { status: 413, closeCode: 1009 })
    expect(err.code).toBe('ERR_MUMMY_TEST')
    expect(err.status).toBe(413)
    expect(err.closeCode).toBe(1009)
    expect(err).toBeInstanceOf(Error)
    expect(isMummyError(err)).toBe(true)
  })
  it('brand-checks instanceof so a foreign copy is recognised', () => {
    const foreign = Object.create(
      Object.getPrototypeOf(new MummyError('ERR_MUMMY_X', 'x')),
    ) as object
    expect(foreign instanceof MummyError).toBe(true)
    expect(new Error('plain') instanceof MummyError).toBe(false)
    expect(isMummyError(null)).toBe(false)
  })
  it('keeps instanceof working for subclasses', () => {
    class Sub extends MummyError {}
    expect(new Sub('ERR_MUMMY_SUB', 's') instanceof Sub).toBe(true)
    expect(new MummyError('ERR_MUMMY_BASE', 'b') instanceof Sub).toBe(false)
  })
})
