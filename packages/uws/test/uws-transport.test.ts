// The uWebSockets.js transport's own test: that it loads here. Everything the Transport contract
// promises — and the deviations its README documents, asserted as what they are — runs on it in
// contract.test.ts; the server-level suites, Autobahn included, run on both transports too.
import { describe, expect, it } from '@jest/globals'
import { loadUws } from '../dist/index.js'

describe('UwsTransport', () => {
  it('loads here (linux x64, Node 20): the conformance suites run on it', () => {
    expect(loadUws()).toEqual({ available: true, reason: '' })
  })
})
