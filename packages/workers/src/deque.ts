/**
 * A FIFO queue with O(1) amortised `push`/`shift` (an array plus a head index,
 * compacted when the consumed prefix dominates). Internal.
 */
export class Deque<T> {
  #items: (T | undefined)[] = []
  #head = 0

  get length(): number {
    return this.#items.length - this.#head
  }

  push(value: T): void {
    this.#items.push(value)
  }

  peek(): T | undefined {
    return this.#items[this.#head]
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined
    const value = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    if (this.#head === this.#items.length) {
      this.#items.length = 0
      this.#head = 0
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    }
    return value
  }

  /** Puts `values` in front of everything queued, keeping their order. */
  unshiftAll(values: readonly T[]): void {
    if (values.length === 0) return
    this.#items = (values as (T | undefined)[]).concat(this.#items.slice(this.#head))
    this.#head = 0
  }

  /** Removes and returns everything queued, oldest first. */
  drain(): T[] {
    const out = this.#items.slice(this.#head) as T[]
    this.#items = []
    this.#head = 0
    return out
  }
}
