/**
 * The transport a server listens with: node:net from `@mummy/io-loop`, or uWebSockets.js from
 * `@mummy/uws` — a package of its own (native builds), loaded only when asked for, so that
 * `@mummy/server` alone installs nothing native.
 */
import { MummyError } from '@mummy/errors'
import {
  NodeTransport,
  type Transport,
  type TransportOptions,
  type WebSocketSettings,
} from '@mummy/io-loop'
import type * as Uws from '@mummy/uws'

type UwsModule = typeof Uws

/** `@mummy/uws` when it is installed, else why not. */
async function importUws(): Promise<UwsModule | string> {
  try {
    return await import('@mummy/uws')
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (code === 'ERR_MODULE_NOT_FOUND' && String(error).includes('@mummy/uws'))
      return 'the @mummy/uws package is not installed (npm install @mummy/uws)'
    return `@mummy/uws did not load: ${error instanceof Error ? error.message : String(error)}`
  }
}

/**
 * A transport as `kind` asks: `'uws'` throws `ERR_MUMMY_TRANSPORT_UNAVAILABLE` (with the way
 * to fix it) where `@mummy/uws` is not installed or its native build does not load; `'auto'`
 * takes node:net then.
 */
export async function createTransport(
  kind: 'node' | 'uws' | 'auto',
  options: Partial<TransportOptions> & Pick<TransportOptions, 'onRequest'>,
  websocket: WebSocketSettings,
): Promise<Transport> {
  if (kind === 'node') return new NodeTransport(options)
  const uws = await importUws()
  if (typeof uws === 'string') {
    if (kind === 'auto') return new NodeTransport(options)
    throw new MummyError('ERR_MUMMY_TRANSPORT_UNAVAILABLE', `transport 'uws': ${uws}`)
  }
  if (kind === 'auto' && !uws.loadUws().available) return new NodeTransport(options)
  return new uws.UwsTransport({ ...options, websocket })
}
