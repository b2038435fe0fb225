/**
 * `@mummy/redis`: the cross-instance pub/sub engine on Redis that `@mummy/server` plugs in. A
 * message published on one instance reaches the subscribers of every other instance (Redis
 * pub/sub, binary-safe envelopes carrying the origin so that an instance skips its own), and
 * topics may keep a bounded history in Redis Streams (their entry ids are the SSE event ids).
 * Knows nothing of HTTP.
 *
 * @example
 * ```ts
 * import { redisPubSub } from '@mummy/redis'
 * const engine = redisPubSub({ url: 'redis://127.0.0.1:6379', history: { maxLen: 1000 } })
 * await engine.start((topic, message) => console.log(topic, message))
 * engine.subscribe('chat')
 * await engine.publish('chat', { kind: 'text', data: 'hello' })
 * ```
 *
 * @packageDocumentation
 */
export { redisPubSub, type RedisPubSubEngine, type RedisPubSubStats } from './engine.js'
export type {
  DeliverFunction,
  EngineEvent,
  EngineMessage,
  HistoryOptions,
  LogLevel,
  PubSubEngine,
  PubSubStats,
  RedisPubSubOptions,
} from './types.js'
export {
  ENVELOPE_VERSION,
  decodeEnvelope,
  encodeEnvelope,
  encodeEnvelopeParts,
  envelopeOrigin,
  type Envelope,
  type EnvelopeParts,
} from './envelope.js'
export { compareStreamIds, parseStreamId, type StreamId } from './stream-id.js'
