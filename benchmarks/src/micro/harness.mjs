// Timing for the micro-benchmarks: calibrate a batch to ~`roundMs`, run `rounds` batches, keep
// the fastest round's time per call. On a shared, noisy machine, interference only ever adds
// time, so the fastest round is the most repeatable estimate of the code's own cost.
// Synchronous functions only (the pool bench times itself).

/**
 * Milliseconds per call of `fn` (fastest of `rounds` rounds). `fn` must do the same work every
 * call and may return a value (kept in a sink so it is not optimized away).
 */
export function timePerCall(fn, { roundMs = 250, rounds = 7 } = {}) {
  let sink = 0
  let batch = 1
  for (;;) {
    const t = performance.now()
    for (let i = 0; i < batch; i++) sink ^= fn() ? 1 : 0
    const elapsed = performance.now() - t
    if (elapsed >= 30) {
      batch = Math.max(1, Math.ceil((batch * roundMs) / elapsed))
      break
    }
    batch *= 2
  }
  const samples = []
  for (let r = 0; r < rounds; r++) {
    const t = performance.now()
    for (let i = 0; i < batch; i++) sink ^= fn() ? 1 : 0
    samples.push((performance.now() - t) / batch)
  }
  if (sink === 42) console.log('') // keeps `sink` observable
  return Math.min(...samples)
}
