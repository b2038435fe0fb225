/**
 * Holding writes until the end of the current IO callback: many pieces written to one
 * connection in one go (a worker's batch of commands, a burst of publishes) then leave in one
 * write instead of one syscall each. Used by WebSocket connections and streamed responses on
 * both transports.
 */

/** Something whose held writes can be let go. */
export interface Holder {
  /** Lets go of what is held (one write). */
  releaseHeld(): void
}

/** Bytes held for one connection before they are let go at once (so a reader that keeps up never looks slow). */
export const HOLD_FLUSH = 32 * 1024

let held: Holder[] = []

function releaseAll(): void {
  const list = held
  held = []
  for (const holder of list) holder.releaseHeld()
}

/** Calls `holder.releaseHeld()` when the IO thread finishes what it is doing now (`process.nextTick`). */
export function releaseAtCallbackEnd(holder: Holder): void {
  held.push(holder)
  if (held.length === 1) process.nextTick(releaseAll)
}
