import { randomBytes } from 'node:crypto'
import { MummyError } from '@mummy/errors'
import { Redis, type RedisOptions } from 'ioredis'
import { decodeEnvelope, encodeEnvelope, encodeEnvelopeParts, envelopeOrigin } from './envelope.js'
import { HISTORY_LUA, HISTORY_SHA, PUBLISH_LUA, PUBLISH_SHA } from './scripts.js'
import { compareStreamIds, parseStreamId, type StreamId } from './stream-id.js'
import type {
  DeliverFunction,
  EngineMessage,
  LogLevel,
  PubSubEngine,
  PubSubStats,
  RedisPubSubOptions,
} from './types.js'

/** {@link PubSubStats} and what this engine adds. */
export interface RedisPubSubStats extends PubSubStats {
  /** Publishes sent and not yet acknowledged by Redis. */
  pending: number
  /** Bytes the publishing connection holds unsent (bounded by `maxBufferedBytes`). */
  buffered: number
}

/** The engine {@link redisPubSub} returns: a {@link PubSubEngine} and a little more. */
export interface RedisPubSubEngine extends PubSubEngine {
  /** Counters, with `pending` and `buffered`. A fresh snapshot on every read. */
  readonly stats: RedisPubSubStats
  /** This instance's id, as written into its messages. */
  readonly instanceId: string
  /** Whether both connections to Redis are up. */
  readonly connected: boolean
}

const DEFAULT_URL = 'redis://127.0.0.1:6379'
const LOG_INTERVAL_MS = 5000
/** Channels per SUBSCRIBE / UNSUBSCRIBE command. */
const CHANNELS_PER_COMMAND = 1000
const QUIT_TIMEOUT_MS = 1000

/** 50 ms, doubling, at most 2 s; forever. */
function defaultRetryStrategy(times: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 6), 2000)
}

function defaultLog(level: LogLevel, message: string): void {
  if (level !== 'info') console.warn(`[@mummy/redis] ${message}`)
}

function invalidOption(message: string): MummyError {
  return new MummyError('ERR_MUMMY_INVALID_OPTION', `redisPubSub: ${message}`)
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function noop(): void {}

/** The URL for a log line: without its password. */
function redact(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(unparsable URL)'
  }
}

/** Counts repeated events and says when one log line (with the count) is due. */
class Throttle {
  #last = -Infinity
  #count = 0

  /** Counts one event; returns how many to report when a line is due now, else 0. */
  hit(): number {
    this.#count++
    const now = performance.now()
    if (now - this.#last < LOG_INTERVAL_MS) return 0
    this.#last = now
    return this.take()
  }

  /** The events not reported yet (and forgets them). */
  take(): number {
    const count = this.#count
    this.#count = 0
    return count
  }
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 'es'}`
}

type State = 'new' | 'started' | 'closed'

class RedisPubSub implements RedisPubSubEngine {
  readonly instanceId: string
  readonly #origin: Buffer
  readonly #prefix: string
  readonly #prefixBytes: Buffer
  readonly #maxLen: number
  readonly #historyTopics: ((topic: string) => boolean) | null
  readonly #log: (level: LogLevel, message: string) => void
  readonly #startTimeout: number
  readonly #maxBufferedBytes: number
  readonly #where: string
  readonly #pub: Redis
  readonly #sub: Redis

  #state: State = 'new'
  #deliver: DeliverFunction | null = null
  #pubReady = false
  #subReady = false
  #pubWasReady = false
  #subWasReady = false
  #startWaiter: (() => void) | null = null

  /** Topics this instance wants. */
  readonly #topics = new Set<string>()
  /** Topics subscribed on the current subscriber connection (as sent). */
  readonly #sent = new Set<string>()
  /** Topics whose wanted state changed since the last sync. */
  readonly #dirty = new Set<string>()
  #syncQueued = false

  #published = 0
  #received = 0
  #lost = 0
  #reconnects = 0
  #pending = 0
  readonly #lostLog = new Throttle()
  readonly #errorLog = new Throttle()
  readonly #malformedLog = new Throttle()

  constructor(options: RedisPubSubOptions) {
    const { url = DEFAULT_URL, prefix = 'mummy:', history = false, log = defaultLog } = options
    if (typeof url !== 'string' && (typeof url !== 'object' || url === null))
      throw invalidOption('url must be a redis:// URL or an ioredis options object')
    if (typeof prefix !== 'string') throw invalidOption('prefix must be a string')
    if (typeof log !== 'function') throw invalidOption('log must be a function')
    if (history !== false) {
      if (typeof history !== 'object' || history === null)
        throw invalidOption('history must be false or { maxLen, topics? }')
      if (!Number.isSafeInteger(history.maxLen) || history.maxLen < 1)
        throw invalidOption(`history.maxLen must be a positive integer, got ${history.maxLen}`)
      if (history.topics !== undefined && typeof history.topics !== 'function')
        throw invalidOption('history.topics must be a function')
    }
    const instanceId = options.instanceId ?? randomBytes(9).toString('base64url')
    if (typeof instanceId !== 'string' || instanceId.length === 0)
      throw invalidOption('instanceId must be a non-empty string')
    const origin = Buffer.from(instanceId, 'utf8')
    if (origin.length > 255) throw invalidOption('instanceId must be at most 255 bytes of UTF-8')
    const duration = (name: string, value: number | undefined, fallback: number): number => {
      if (value === undefined) return fallback
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
        throw invalidOption(`${name} must be a non-negative number of ms, got ${String(value)}`)
      return value
    }
    this.#startTimeout = duration('startTimeout', options.startTimeout, 5000)
    const commandTimeout = duration('commandTimeout', options.commandTimeout, 5000)
    this.#maxBufferedBytes = duration(
      'maxBufferedBytes',
      options.maxBufferedBytes,
      16 * 1024 * 1024,
    )

    this.instanceId = instanceId
    this.#origin = origin
    this.#prefix = prefix
    this.#prefixBytes = Buffer.from(prefix, 'utf8')
    this.#maxLen = history === false ? 0 : history.maxLen
    this.#historyTopics = history === false ? null : (history.topics ?? (() => true))
    this.#log = log

    const base: RedisOptions = typeof url === 'string' ? {} : { ...url }
    const forced: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      keyPrefix: '',
      retryStrategy: base.retryStrategy ?? defaultRetryStrategy,
    }
    const create = (role: string, extra: RedisOptions): Redis => {
      const opts: RedisOptions = {
        connectionName: `mummy-${role}-${instanceId}`.replace(/[^\x21-\x7e]/g, '_'),
        ...base,
        ...forced,
        ...extra,
      }
      return typeof url === 'string' ? new Redis(url, opts) : new Redis(opts)
    }
    this.#where =
      typeof url === 'string' ? redact(url) : `${url.host ?? '127.0.0.1'}:${url.port ?? 6379}`
    this.#pub = create('pub', commandTimeout > 0 ? { commandTimeout } : {})
    this.#sub = create('sub', {})
    this.#listen(this.#pub, 'publisher')
    this.#listen(this.#sub, 'subscriber')
    this.#sub.on('messageBuffer', (channel: Buffer, payload: Buffer) =>
      this.#onMessage(channel, payload),
    )
  }

  get stats(): RedisPubSubStats {
    return {
      published: this.#published,
      received: this.#received,
      lost: this.#lost,
      reconnects: this.#reconnects,
      topics: this.#topics.size,
      pending: this.#pending,
      buffered: this.#buffered(),
    }
  }

  get connected(): boolean {
    return this.#state === 'started' && this.#isPubReady() && this.#isSubReady()
  }

  async start(deliver: DeliverFunction): Promise<void> {
    if (this.#state !== 'new')
      throw new MummyError(
        'ERR_MUMMY_REDIS_STARTED',
        `start() on an engine already ${this.#state === 'closed' ? 'closed' : 'started'}`,
      )
    if (typeof deliver !== 'function')
      throw new MummyError('ERR_MUMMY_REDIS_INVALID_ARGUMENT', 'start() needs a deliver function')
    this.#state = 'started'
    this.#deliver = deliver
    // connect() rejects when the first attempt fails; the retry strategy goes on anyway.
    this.#sub.connect().catch(noop)
    this.#pub.connect().catch(noop)
    if (this.connected) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#startWaiter = null
        this.#log(
          'warn',
          `Redis at ${this.#where} not reachable after ${this.#startTimeout} ms; still trying (publishes count as lost until connected)`,
        )
        resolve()
      }, this.#startTimeout)
      this.#startWaiter = () => {
        clearTimeout(timer)
        this.#startWaiter = null
        resolve()
      }
    })
  }

  subscribe(topic: string): void {
    if (this.#state === 'closed' || this.#topics.has(topic)) return
    this.#topics.add(topic)
    this.#markDirty(topic)
  }

  unsubscribe(topic: string): void {
    if (!this.#topics.delete(topic)) return
    this.#markDirty(topic)
  }

  keepsHistory(topic: string): boolean {
    return this.#historyTopics !== null && this.#historyTopics(topic)
  }

  publish(topic: string, message: EngineMessage): Promise<string | null> {
    if (this.#state !== 'started' || !this.#isPubReady()) {
      return Promise.resolve(
        this.#countLost(this.#state === 'closed' ? 'engine closed' : 'not connected to Redis'),
      )
    }
    if (this.#pub.stream.writableLength > this.#maxBufferedBytes) {
      return Promise.resolve(this.#countLost('Redis is not keeping up (send buffer full)'))
    }
    const channel = this.#prefix + topic
    let sent: Promise<string | null>
    try {
      if (this.keepsHistory(topic)) {
        const { head, tail } = encodeEnvelopeParts(this.#origin, message)
        sent = this.#pub
          .callBuffer('evalsha', [
            PUBLISH_SHA,
            1,
            this.#streamKey(topic),
            this.#maxLen,
            channel,
            head,
            tail,
          ])
          .then((id) => {
            if (!Buffer.isBuffer(id)) throw new Error('unexpected reply to the publish script')
            return id.toString('latin1')
          })
      } else {
        sent = this.#pub.publish(channel, encodeEnvelope(this.#origin, message)).then(() => null)
      }
    } catch (err) {
      // Only a message that is not an EngineMessage gets here.
      this.#log(
        'error',
        `publish(${JSON.stringify(topic)}) with a malformed message: ${errorText(err)}`,
      )
      return Promise.resolve(this.#countLost('malformed message'))
    }
    this.#pending++
    return sent.then(
      (id) => {
        this.#pending--
        this.#published++
        return id
      },
      (err: unknown) => {
        this.#pending--
        const text = errorText(err)
        // Someone ran SCRIPT FLUSH: load it again (this message is lost: resending it could
        // overtake a later one).
        if (text.includes('NOSCRIPT')) this.#loadScripts()
        return this.#countLost(text)
      },
    )
  }

  async history(
    topic: string,
    sinceId: string,
    limit: number,
  ): Promise<Array<{ id: string; message: EngineMessage }> | null> {
    if (!this.keepsHistory(topic)) return null
    const since = typeof sinceId === 'string' ? parseStreamId(sinceId) : null
    if (since === null) return null
    const count = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0
    if (this.#state !== 'started' || !this.#isPubReady()) {
      this.#logError('history() while not connected to Redis')
      return null
    }
    const args = [1, this.#streamKey(topic), sinceId, Math.max(1, count)]
    let reply: unknown
    try {
      reply = await this.#pub.callBuffer('evalsha', [HISTORY_SHA, ...args])
    } catch (err) {
      try {
        if (!errorText(err).includes('NOSCRIPT')) throw err
        reply = await this.#pub.callBuffer('eval', [HISTORY_LUA, ...args])
      } catch (err2) {
        this.#logError(`history() failed: ${errorText(err2)}`)
        return null
      }
    }
    // No stream (yet, or any more): nothing to miss from the start; a gap after any other id.
    if (reply === null) return since.ms === 0n && since.seq === 0n ? [] : null
    if (!Array.isArray(reply) || reply.length !== 4 || !Array.isArray(reply[3])) {
      this.#logError('history(): unexpected reply from Redis')
      return null
    }
    const [first, last] = (reply.slice(0, 2) as unknown[]).map((b) =>
      Buffer.isBuffer(b) && b.length > 0 ? parseStreamId(b.toString('latin1')) : null,
    )
    const intact = Buffer.isBuffer(reply[2]) && reply[2].toString() === '1'
    if (!gapFree(since, first ?? null, last ?? null, intact)) return null
    const out: Array<{ id: string; message: EngineMessage }> = []
    for (const entry of (reply[3] as unknown[]).slice(0, count)) {
      if (!Array.isArray(entry) || !Buffer.isBuffer(entry[0]) || !Array.isArray(entry[1])) continue
      const id = entry[0].toString('latin1')
      const fields = entry[1] as unknown[]
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const name = fields[i]
        const value = fields[i + 1]
        if (!Buffer.isBuffer(name) || name.toString() !== 'm' || !Buffer.isBuffer(value)) continue
        const envelope = decodeEnvelope(value)
        if (envelope === null) break
        const message = envelope.message
        if (message.kind === 'event') message.event.id = id
        out.push({ id, message })
        break
      }
    }
    return out
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    const pubReady = this.#isPubReady()
    this.#pubReady = false
    this.#subReady = false
    this.#deliver = null
    this.#topics.clear()
    this.#dirty.clear()
    this.#startWaiter?.()
    this.#sub.disconnect()
    if (pubReady) {
      // QUIT is answered after the publishes before it: they get their replies.
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        this.#pub.quit().catch(noop),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS))),
      ])
      clearTimeout(timer)
    }
    this.#pub.disconnect()
    const lost = this.#lostLog.take()
    if (lost > 0) this.#log('warn', `${plural(lost, 'publish')} lost since the last report`)
  }

  #buffered(): number {
    // Undefined before the first connection, whatever the typings say.
    const stream: { writableLength: number } | undefined = this.#pub.stream
    return stream?.writableLength ?? 0
  }

  #streamKey(topic: string): string {
    return `${this.#prefix}history:${topic}`
  }

  #isPubReady(): boolean {
    return this.#pubReady && this.#pub.status === 'ready'
  }

  #isSubReady(): boolean {
    return this.#subReady && this.#sub.status === 'ready'
  }

  #countLost(reason: string): null {
    this.#lost++
    const count = this.#lostLog.hit()
    if (count > 0) {
      this.#log('warn', `${plural(count, 'publish')} to other instances lost: ${reason}`)
    }
    return null
  }

  #logError(message: string): void {
    const count = this.#errorLog.hit()
    if (count > 0) this.#log('warn', count === 1 ? message : `${message} (${count} times)`)
  }

  #listen(client: Redis, role: 'publisher' | 'subscriber'): void {
    const isPub = role === 'publisher'
    client.on('ready', () => {
      if (client.status !== 'ready' || this.#state === 'closed') return
      const again = isPub ? this.#pubWasReady : this.#subWasReady
      if (again) {
        this.#reconnects++
        const lost = isPub ? this.#lostLog.take() : 0
        this.#log(
          'info',
          `${role} connection to Redis restored` +
            (lost > 0 ? `; ${plural(lost, 'publish')} lost since the last report` : ''),
        )
      }
      if (isPub) {
        this.#pubWasReady = true
        // Loaded before any EVALSHA on this connection (commands run in order).
        this.#loadScripts()
        this.#pubReady = true
      } else {
        this.#subWasReady = true
        this.#subReady = true
        // A new connection has no subscriptions: take every wanted topic.
        this.#sent.clear()
        for (const topic of this.#topics) this.#dirty.add(topic)
        this.#sync()
      }
      if (this.connected) this.#startWaiter?.()
    })
    client.on('close', () => {
      const was = isPub ? this.#pubReady : this.#subReady
      if (isPub) this.#pubReady = false
      else this.#subReady = false
      if (was && this.#state === 'started') {
        this.#log('warn', `${role} connection to Redis lost; reconnecting`)
      }
    })
    client.on('end', () => {
      if (this.#state === 'started') {
        this.#log('error', `${role} connection to Redis ended: the retry strategy gave up`)
      }
    })
    client.on('error', (err: unknown) => {
      if (this.#state === 'started') this.#logError(`Redis ${role}: ${errorText(err)}`)
    })
  }

  #loadScripts(): void {
    if (this.#historyTopics === null) return
    this.#pub.script('LOAD', PUBLISH_LUA).catch((err: unknown) => {
      this.#logError(`could not load the publish script: ${errorText(err)}`)
    })
  }

  #markDirty(topic: string): void {
    this.#dirty.add(topic)
    if (this.#syncQueued) return
    this.#syncQueued = true
    queueMicrotask(() => {
      this.#syncQueued = false
      this.#sync()
    })
  }

  /** Sends what changed since the last sync: SUBSCRIBE / UNSUBSCRIBE, in batches. */
  #sync(): void {
    if (this.#dirty.size === 0 || !this.#isSubReady()) return
    const add: string[] = []
    const drop: string[] = []
    for (const topic of this.#dirty) {
      const wanted = this.#topics.has(topic)
      if (wanted === this.#sent.has(topic)) continue
      const channel = this.#prefix + topic
      if (wanted) {
        add.push(channel)
        this.#sent.add(topic)
      } else {
        drop.push(channel)
        this.#sent.delete(topic)
      }
    }
    this.#dirty.clear()
    const failed = (err: unknown): void => {
      // A lost connection is dealt with on reconnect (every wanted topic is taken again).
      if (this.#isSubReady()) this.#logError(`SUBSCRIBE/UNSUBSCRIBE failed: ${errorText(err)}`)
    }
    for (let i = 0; i < drop.length; i += CHANNELS_PER_COMMAND) {
      this.#sub.unsubscribe(...drop.slice(i, i + CHANNELS_PER_COMMAND)).catch(failed)
    }
    for (let i = 0; i < add.length; i += CHANNELS_PER_COMMAND) {
      this.#sub.subscribe(...add.slice(i, i + CHANNELS_PER_COMMAND)).catch(failed)
    }
  }

  #onMessage(channel: Buffer, payload: Buffer): void {
    const deliver = this.#deliver
    if (deliver === null) return
    const prefix = this.#prefixBytes
    if (channel.length < prefix.length || prefix.compare(channel, 0, prefix.length) !== 0) return
    const at = envelopeOrigin(payload)
    if (at !== null && this.#origin.compare(payload, at.start, at.end) === 0) return // our own
    const topic = channel.toString('utf8', prefix.length)
    if (!this.#topics.has(topic)) return // unsubscribed while this was on the way
    const envelope = decodeEnvelope(payload)
    if (envelope === null) {
      const count = this.#malformedLog.hit()
      if (count > 0)
        this.#log('warn', `${count} malformed message(s) on ${channel.toString()} ignored`)
      return
    }
    this.#received++
    try {
      deliver(topic, envelope.message, envelope.historyId)
    } catch (err) {
      this.#log('error', `deliver() threw for topic ${JSON.stringify(topic)}: ${errorText(err)}`)
    }
  }
}

/**
 * Whether history after `since` is complete. Entries leave a stream only from its head (trimmed
 * by MAXLEN), so it is when `since` is at or after the first entry still there (or, in an empty
 * stream, at or after the last id it gave). Before the first entry it is a gap — unless `since`
 * is `0-0` (from the start) and nothing was ever removed from the stream (Redis 7 tells). An id
 * right before the first kept entry (the last one trimmed) counts as a gap too: the stream cannot
 * tell it from an older one. An id from a stream lost with a restarted Redis is older than the
 * new stream's first entry: a gap.
 */
function gapFree(
  since: StreamId,
  first: StreamId | null,
  last: StreamId | null,
  intact: boolean,
): boolean {
  if (first !== null) {
    if (compareStreamIds(since, first) >= 0) return true
  } else if (last !== null && compareStreamIds(since, last) >= 0) return true
  return intact && since.ms === 0n && since.seq === 0n
}

/**
 * Creates the Redis pub/sub engine: messages published on one instance reach the subscribers of
 * every other instance, through Redis pub/sub (and, for topics that keep history, a Redis Stream
 * each). Nothing connects before `start()`. Throws `ERR_MUMMY_INVALID_OPTION` for a bad option.
 *
 * @example
 * ```ts
 * import { redisPubSub } from '@mummy/redis'
 * const engine = redisPubSub({ url: 'redis://10.0.0.5:6379', history: { maxLen: 1000 } })
 * await engine.start((topic, message) => deliverLocally(topic, message))
 * engine.subscribe('chat')
 * const id = await engine.publish('chat', { kind: 'text', data: 'hello' }) // '1733390000000-0'
 * const missed = await engine.history('chat', lastEventId, 100) // null: a gap
 * await engine.close()
 * ```
 */
export function redisPubSub(options: RedisPubSubOptions = {}): RedisPubSubEngine {
  return new RedisPubSub(options)
}
