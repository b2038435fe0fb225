import {
  CELLS_PER_SLOT,
  CLAIMER_MASK,
  GEN_MASK,
  LAST_FINISHED,
  LAST_SEEN,
  NOT_STARTED,
  REVOKED,
  SEGMENT_SHIFT,
  SEGMENT_SLOTS,
  SLOT_MASK,
} from './protocol.js'

/** {@link ClaimTable.claimer} result for a job no worker has claimed. */
export const UNCLAIMED = -1
/** {@link ClaimTable.claimer} result for a job the pool withdrew. */
export const WITHDRAWN = -2

/**
 * The main thread's side of the claim cells (layout in `protocol.ts`): slot
 * allocation with recycled, generation-tagged slots, and reads of who claimed
 * what. Segments are only ever added (each is 8 KiB), so memory is bounded by
 * the peak number of jobs in flight, not by the number of jobs ever run.
 * Internal.
 */
export class ClaimTable<T> {
  /** Every segment, in slot order; workers get new ones with their next batch. */
  readonly segments: SharedArrayBuffer[] = []
  readonly #views: Int32Array[] = []
  readonly #gens: number[] = []
  readonly #owners: (T | undefined)[] = []
  readonly #free: number[] = []

  /** Allocates a slot for `owner`: unclaimed, not started. */
  alloc(owner: T): number {
    let slot = this.#free.pop()
    if (slot === undefined) slot = this.#grow()
    const view = this.#view(slot)
    const at = (slot & SLOT_MASK) * CELLS_PER_SLOT
    Atomics.store(view, at + 1, NOT_STARTED)
    Atomics.store(view, at + 2, 0)
    Atomics.store(view, at, (this.#gens[slot] as number) << 8)
    this.#owners[slot] = owner
    return slot
  }

  /** Frees `slot`: bumps its generation so stale copies can never claim it. */
  release(slot: number): void {
    const gen = ((this.#gens[slot] as number) + 1) & GEN_MASK
    this.#gens[slot] = gen
    Atomics.store(this.#view(slot), (slot & SLOT_MASK) * CELLS_PER_SLOT, gen << 8)
    this.#owners[slot] = undefined
    this.#free.push(slot)
  }

  owner(slot: number): T | undefined {
    return this.#owners[slot]
  }

  gen(slot: number): number {
    return this.#gens[slot] as number
  }

  /** Index of the worker that claimed `slot`, or {@link UNCLAIMED} / {@link WITHDRAWN}. */
  claimer(slot: number): number {
    const low = Atomics.load(this.#view(slot), (slot & SLOT_MASK) * CELLS_PER_SLOT) & CLAIMER_MASK
    if (low === 0) return UNCLAIMED
    if (low === REVOKED) return WITHDRAWN
    return low - 1
  }

  /** Start time written by the claimer, or `NOT_STARTED`. */
  startedAt(slot: number): number {
    return Atomics.load(this.#view(slot), (slot & SLOT_MASK) * CELLS_PER_SLOT + 1)
  }

  /**
   * The pool has delivered the last message of the job in `slot` (`postLast`). `true` when its
   * worker had already completed the job, and so sends no completion of its own: the pool
   * reports it now. Otherwise marks the message delivered, and the worker will report it.
   */
  lastDelivered(slot: number): boolean {
    const at = (slot & SLOT_MASK) * CELLS_PER_SLOT + 2
    return Atomics.compareExchange(this.#view(slot), at, 0, LAST_SEEN) === LAST_FINISHED
  }

  /**
   * Withdraws an unclaimed job so no worker can start it any more. Returns
   * `false` when a worker claimed it first.
   */
  revoke(slot: number): boolean {
    const expected = (this.#gens[slot] as number) << 8
    const at = (slot & SLOT_MASK) * CELLS_PER_SLOT
    return Atomics.compareExchange(this.#view(slot), at, expected, expected | REVOKED) === expected
  }

  #view(slot: number): Int32Array {
    return this.#views[slot >>> SEGMENT_SHIFT] as Int32Array
  }

  #grow(): number {
    const base = this.segments.length * SEGMENT_SLOTS
    const sab = new SharedArrayBuffer(SEGMENT_SLOTS * CELLS_PER_SLOT * Int32Array.BYTES_PER_ELEMENT)
    this.segments.push(sab)
    this.#views.push(new Int32Array(sab))
    for (let i = 0; i < SEGMENT_SLOTS; i++) this.#gens.push(0)
    for (let i = SEGMENT_SLOTS - 1; i >= 1; i--) this.#free.push(base + i)
    return base
  }
}
