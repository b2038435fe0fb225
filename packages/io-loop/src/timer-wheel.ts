/**
 * One coarse timer for every timeout on the IO thread.
 *
 * Entries carry their own `deadline` (ms since epoch, `0` = none). Moving a deadline is a
 * field write: the wheel only looks at an entry when the bucket it sits in comes due, and
 * re-files it if its deadline moved later. So the hot path (every read, every write) never
 * touches a timer, and there is exactly one `setInterval` however many sockets are open.
 */

/** Something with a deadline that the {@link TimerWheel} watches. */
export interface WheelEntry {
  /** Absolute deadline in ms (`Date.now()` clock); `0` means no deadline. */
  deadline: number
  /** Bucket the entry is filed in, or -1. Owned by the wheel. */
  wheelSlot: number
  /** Called once when `Date.now() >= deadline` (at tick resolution). */
  onTimeout(now: number): void
}

/**
 * A hashed timer wheel with `resolution`-ms ticks.
 *
 * @example
 * ```ts
 * const wheel = new TimerWheel(250)
 * const entry = { deadline: Date.now() + 5000, wheelSlot: -1, onTimeout() { socket.destroy() } }
 * wheel.add(entry)
 * entry.deadline = Date.now() + 10000 // pushing it back is a plain write
 * ```
 */
export class TimerWheel {
  /** Tick length in ms. */
  readonly resolution: number
  readonly #buckets: Set<WheelEntry>[]
  #cursor = 0
  #cursorTime: number
  #timer: NodeJS.Timeout | null = null
  #size = 0

  constructor(resolution = 250, buckets = 256) {
    this.resolution = resolution
    this.#buckets = Array.from({ length: buckets }, () => new Set<WheelEntry>())
    this.#cursorTime = Date.now()
  }

  /** Number of entries being watched. */
  get size(): number {
    return this.#size
  }

  /** Starts watching `entry` (its current `deadline` may be 0 and set later). */
  add(entry: WheelEntry): void {
    if (entry.wheelSlot !== -1) return
    this.#file(entry)
    this.#size++
    if (this.#timer === null) {
      this.#cursorTime = Date.now()
      this.#timer = setInterval(() => this.#tick(), this.resolution)
      this.#timer.unref()
    }
  }

  /** Stops watching `entry`. */
  remove(entry: WheelEntry): void {
    if (entry.wheelSlot === -1) return
    this.#buckets[entry.wheelSlot]?.delete(entry)
    entry.wheelSlot = -1
    this.#size--
    if (this.#size === 0) this.stop()
  }

  /** Stops the interval (entries are kept; `add` restarts it). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  #file(entry: WheelEntry): void {
    const n = this.#buckets.length
    // Entries without a deadline, or far away, are parked one lap ahead and looked at again then.
    let ticks =
      entry.deadline === 0
        ? n - 1
        : Math.ceil((entry.deadline - this.#cursorTime) / this.resolution)
    if (ticks < 1) ticks = 1
    if (ticks > n - 1) ticks = n - 1
    const slot = (this.#cursor + ticks) % n
    entry.wheelSlot = slot
    this.#buckets[slot]!.add(entry)
  }

  #tick(): void {
    const now = Date.now()
    // Catch up if the event loop was blocked for several ticks.
    while (this.#cursorTime + this.resolution <= now) {
      this.#cursorTime += this.resolution
      this.#cursor = (this.#cursor + 1) % this.#buckets.length
      const bucket = this.#buckets[this.#cursor]!
      if (bucket.size === 0) continue
      const due = [...bucket]
      bucket.clear()
      for (const entry of due) {
        entry.wheelSlot = -1
        if (entry.deadline !== 0 && entry.deadline <= now) {
          this.#size--
          entry.onTimeout(now)
        } else {
          this.#file(entry)
        }
      }
    }
    if (this.#size === 0) this.stop()
  }
}
