import type { RedisOptions } from 'ioredis'

/** An SSE event as it crosses instances: the fields of `stream.send()` that travel. */
export interface EngineEvent {
  /** The event type; omitted: `message`. */
  event?: string
  /** The payload. */
  data: string
  /** The event id. On a topic that keeps history, replaced by the history id. */
  id?: string
}

/**
 * A message crossing instances. Text and binary round-trip byte for byte (text is carried as
 * UTF-8: a string with a lone surrogate arrives with U+FFFD in its place, as it would on a
 * WebSocket).
 */
export type EngineMessage =
  | { kind: 'text'; data: string }
  | { kind: 'binary'; data: Uint8Array }
  | { kind: 'event'; event: EngineEvent }

/**
 * Called for every message another instance published to a topic this instance subscribes.
 * `historyId` is the message's history id (a Redis Stream entry id) when the topic keeps
 * history, else `undefined`; for an `event` message it is also in `message.event.id`.
 * A binary message's `data` is a fresh `Uint8Array` owned by the callee.
 */
export type DeliverFunction = (topic: string, message: EngineMessage, historyId?: string) => void

/** The engine's counters (a snapshot: read `engine.stats` again for new values). */
export interface PubSubStats {
  /** Publishes Redis acknowledged. */
  published: number
  /** Messages from other instances handed to `deliver`. */
  received: number
  /** Publishes that could not reach Redis (not connected, buffer full, timed out, failed). */
  lost: number
  /** Connections to Redis re-established after a loss (each of the two connections counts). */
  reconnects: number
  /** Topics currently subscribed. */
  topics: number
}

/**
 * The cross-instance pub/sub engine `@mummy/server` plugs in (the contract the server
 * consumes). One engine per instance (per process).
 */
export interface PubSubEngine {
  /**
   * Connects; afterwards `deliver` is called for every message another instance published to a
   * topic this instance subscribed. Never for this instance's own publishes (the server delivers
   * those locally: never twice).
   */
  start(deliver: DeliverFunction): Promise<void>
  /**
   * First local subscriber of `topic`: take the Redis subscription (one per topic per instance;
   * reference counting is the server's job: it calls `subscribe` once and `unsubscribe` once).
   */
  subscribe(topic: string): void
  /** Last local subscriber left: drop the Redis subscription. */
  unsubscribe(topic: string): void
  /**
   * Publishes to the other instances. When the topic keeps history, resolves with the history id
   * given to the message (a Redis Stream entry id, e.g. `'1733390000000-0'`), which the server
   * uses as the SSE event id; otherwise resolves with `null`. Never rejects: when Redis is
   * unreachable the message is counted as lost (`stats.lost`), a rate-limited log line is
   * written, and it resolves `null`.
   */
  publish(topic: string, message: EngineMessage): Promise<string | null>
  /** Whether `topic` keeps history (by the options). */
  keepsHistory(topic: string): boolean
  /**
   * History entries of `topic` after `sinceId` (exclusive), oldest first, at most `limit`;
   * `null` when `sinceId` is older than what history still holds (a gap: the caller decides),
   * when history is off for the topic, when `sinceId` is not a stream id (`<ms>-<seq>`), or when
   * Redis cannot be reached (logged). Never rejects.
   */
  history(
    topic: string,
    sinceId: string,
    limit: number,
  ): Promise<Array<{ id: string; message: EngineMessage }> | null>
  /** Unsubscribes and disconnects. */
  close(): Promise<void>
  /** Counters: see {@link PubSubStats}. */
  readonly stats: PubSubStats
}

/** History options: a bounded Redis Stream per topic. */
export interface HistoryOptions {
  /**
   * About how many entries each topic's stream keeps (`XADD … MAXLEN ~ maxLen`: Redis trims in
   * whole nodes, so a stream may hold up to about 100 entries more). A positive integer.
   */
  maxLen: number
  /** Which topics keep history; omitted: every topic. */
  topics?: (topic: string) => boolean
}

/** A log line's level. */
export type LogLevel = 'info' | 'warn' | 'error'

/** Options of {@link redisPubSub}. */
export interface RedisPubSubOptions {
  /**
   * Where Redis is: a `redis://` / `rediss://` URL (default `redis://127.0.0.1:6379`) or an
   * ioredis options object (host, port, password, tls, …). The engine sets what its guarantees
   * need on both connections, whatever is given: `lazyConnect`, `enableOfflineQueue: false`,
   * `autoResubscribe: false`, `autoResendUnfulfilledCommands: false`, `maxRetriesPerRequest: 0`,
   * no `keyPrefix` (use `prefix`). A `retryStrategy` given here is kept; the default waits 50 ms
   * and doubles up to 2 s, forever.
   */
  url?: string | RedisOptions
  /** Prefix of every channel and key the engine uses. Default `'mummy:'`. */
  prefix?: string
  /** Event history in Redis Streams: `false` (default) or which topics keep how much. */
  history?: false | HistoryOptions
  /**
   * Where log lines go. Default: `warn` and `error` lines to `console.warn`, `info` dropped.
   * Repeated lines (lost publishes, connection errors) are written at most once per 5 s, with a
   * count.
   */
  log?: (level: LogLevel, message: string) => void
  /**
   * This instance's id, written into every message so that the instance skips its own. Default:
   * 12 random characters. At most 255 bytes of UTF-8; every instance needs a different one.
   */
  instanceId?: string
  /**
   * How long `start()` waits for Redis before resolving anyway (the engine goes on connecting in
   * the background; publishes count as lost until it is connected), ms. Default 5000.
   */
  startTimeout?: number
  /**
   * A publish not acknowledged by Redis within this many ms counts as lost (it may still be
   * delivered: at most once), ms. Default 5000.
   */
  commandTimeout?: number
  /**
   * Bytes the publishing connection may hold unsent (Redis slow or unreachable behind a
   * connection not yet known to be dead); a publish beyond them counts as lost. Default 16 MiB.
   */
  maxBufferedBytes?: number
}
