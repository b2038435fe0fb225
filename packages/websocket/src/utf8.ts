import { isUtf8 } from 'node:buffer'

// A byte-class DFA for strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800–U+DFFF),
// nothing above U+10FFFF. Noncharacters such as U+FFFF are valid.
//
// Byte classes:
//   0: 00–7F   1: 80–8F   2: 90–9F   3: A0–BF   4: C0–C1, F5–FF (never valid)
//   5: C2–DF   6: E0      7: E1–EC, EE–EF      8: ED      9: F0      10: F1–F3   11: F4
const CLASS = new Uint8Array(256)
for (let b = 0; b < 256; b++) {
  CLASS[b] =
    b < 0x80
      ? 0
      : b < 0x90
        ? 1
        : b < 0xa0
          ? 2
          : b < 0xc0
            ? 3
            : b < 0xc2
              ? 4
              : b < 0xe0
                ? 5
                : b === 0xe0
                  ? 6
                  : b === 0xed
                    ? 8
                    : b < 0xf0
                      ? 7
                      : b === 0xf0
                        ? 9
                        : b < 0xf4
                          ? 10
                          : b === 0xf4
                            ? 11
                            : 4
}

// States. ACCEPT must be 0; REJECT is sticky.
const ACCEPT = 0
const NEED1 = 1 // one continuation byte 80–BF left
const NEED2 = 2 // two continuation bytes left, the next 80–BF
const NEED3 = 3 // three continuation bytes left, the next 80–BF
const E0 = 4 // after E0: next A0–BF (no overlong), then one more
const ED = 5 // after ED: next 80–9F (no surrogates), then one more
const F0 = 6 // after F0: next 90–BF (no overlong), then two more
const F4 = 7 // after F4: next 80–8F (≤ U+10FFFF), then two more
const REJECT = 8
const CLASSES = 12

const TRANSITION = new Uint8Array(9 * CLASSES).fill(REJECT)
function edge(state: number, classes: readonly number[], next: number): void {
  for (const c of classes) TRANSITION[state * CLASSES + c] = next
}
edge(ACCEPT, [0], ACCEPT)
edge(ACCEPT, [5], NEED1)
edge(ACCEPT, [6], E0)
edge(ACCEPT, [7], NEED2)
edge(ACCEPT, [8], ED)
edge(ACCEPT, [9], F0)
edge(ACCEPT, [10], NEED3)
edge(ACCEPT, [11], F4)
edge(NEED1, [1, 2, 3], ACCEPT)
edge(NEED2, [1, 2, 3], NEED1)
edge(NEED3, [1, 2, 3], NEED2)
edge(E0, [3], NEED1)
edge(ED, [1, 2], NEED1)
edge(F0, [2, 3], NEED2)
edge(F4, [1], NEED2)

/** Runs the DFA over `buf[start, end)` from `state`; stops early on REJECT. */
function step(buf: Uint8Array, start: number, end: number, state: number): number {
  let s = state
  let i = start
  while (i < end) {
    const b = buf[i]!
    if (s === ACCEPT && b < 0x80) {
      // ASCII run: the common case for JSON and text protocols.
      i++
      while (i < end && buf[i]! < 0x80) i++
      continue
    }
    s = TRANSITION[s * CLASSES + CLASS[b]!]!
    if (s === REJECT) return REJECT
    i++
  }
  return s
}

// Below this size the DFA is cheaper than a native call.
const NATIVE_MIN = 64

/**
 * `true` when `buf` is strict UTF-8 (RFC 3629): no overlong forms, no UTF-16 surrogates, nothing
 * above U+10FFFF, no truncated sequence at the end. This is the check RFC 6455 requires for text
 * messages and close reasons.
 *
 * @example
 * ```ts
 * isValidUtf8(Buffer.from('κόσμε')) // true
 * isValidUtf8(Buffer.from([0xed, 0xa0, 0x80])) // false: a lone surrogate
 * ```
 */
export function isValidUtf8(buf: Uint8Array): boolean {
  if (buf.length >= NATIVE_MIN) return isUtf8(buf)
  return step(buf, 0, buf.length, ACCEPT) === ACCEPT
}

/**
 * An incremental UTF-8 validator: feed a message fragment by fragment (split at any byte) and
 * learn as soon as a byte makes the text invalid, without waiting for the end of the message. The
 * state between `update()` calls is one small integer.
 *
 * @example
 * ```ts
 * const v = new Utf8Validator()
 * v.update(Buffer.from([0xce]))   // true: a sequence has started
 * v.update(Buffer.from([0xba]))   // true: 'κ' is complete
 * v.end()                         // true: nothing is left open
 * v.update(Buffer.from([0xc0]))   // false: 0xC0 never occurs in UTF-8; the validator stays failed
 * ```
 */
export class Utf8Validator {
  #state = ACCEPT

  /** `false` once an invalid byte has been seen (until {@link Utf8Validator.reset}). */
  get valid(): boolean {
    return this.#state !== REJECT
  }

  /**
   * Validates `buf[start, end)` as the continuation of what came before. Returns `false` as soon as
   * the bytes so far cannot be the beginning of valid UTF-8; the validator then stays failed.
   */
  update(buf: Uint8Array, start = 0, end = buf.length): boolean {
    let s = this.#state
    if (s === REJECT) return false
    let i = start
    // Finish a sequence left open by the previous fragment.
    while (s !== ACCEPT && i < end) {
      s = TRANSITION[s * CLASSES + CLASS[buf[i]!]!]!
      if (s === REJECT) {
        this.#state = REJECT
        return false
      }
      i++
    }
    if (end - i >= NATIVE_MIN) {
      // Split at the start of the last (possibly incomplete) sequence: the bulk before it is
      // checked natively, the tail by the DFA so that its state carries to the next fragment.
      let cut = end - 1
      const floor = end - 4
      while (cut > floor && (buf[cut]! & 0xc0) === 0x80) cut--
      if ((buf[cut]! & 0xc0) === 0x80) {
        // Four continuation bytes in a row never occur in UTF-8.
        this.#state = REJECT
        return false
      }
      if (!isUtf8(buf.subarray(i, cut))) {
        this.#state = REJECT
        return false
      }
      i = cut
    }
    s = step(buf, i, end, s)
    this.#state = s
    return s !== REJECT
  }

  /** `true` when everything fed so far is valid and no sequence is left open. */
  end(): boolean {
    return this.#state === ACCEPT
  }

  /** Forgets everything fed so far (start of a new message). */
  reset(): void {
    this.#state = ACCEPT
  }
}
