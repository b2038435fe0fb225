// A coverage-guided fuzzer driven by V8's precise block coverage (node:inspector).
//
// Jazzer.js's native fuzzer does not load on this machine (its prebuild needs glibc 2.38, and
// building it fetches libFuzzer's sources), so the loop libFuzzer runs is written here on what V8
// gives every Node process: `Profiler.takePreciseCoverage` reports, for each function run since
// the last call, the byte ranges of its blocks with their execution counts, and resets them. A
// block (script, start, end) executed for the first time is new coverage; the input that reached
// it joins the corpus and is mutated further. Taking coverage costs ~0.3 ms, so inputs run in
// batches with one take each; only a batch that reached something new is replayed input by
// input to find which inputs did.
//
// A target is `(data: Buffer) => void` that checks its invariants and throws on a violation
// (a finding). Everything is deterministic for a given seed.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import inspector from 'node:inspector'
import path from 'node:path'

const session = new inspector.Session()
session.connect()

/** Posts an inspector command; the in-thread session answers synchronously. */
function post(method, params) {
  let result
  let error
  session.post(method, params, (err, res) => {
    error = err
    result = res
  })
  if (error) throw error
  return result
}

/** Starts block coverage. Call it before the code under test is imported (so it is counted). */
export function startCoverage() {
  post('Profiler.enable')
  post('Profiler.startPreciseCoverage', { callCount: true, detailed: true })
}

/** A small, fast, seedable PRNG (xorshift32). */
export function prng(seed) {
  let s = seed >>> 0 || 0x9e3779b9
  const next = () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s
  }
  next.below = (n) => (n <= 0 ? 0 : next() % n)
  return next
}

/** Bytes that matter to text protocols, tried more often than random ones. */
const INTERESTING = Buffer.from('\r\n \t:;,="\\/%?#@[]-+.*0129afxX\x00\x7f\x80\xc3\xff')

/**
 * Mutates `input` with 1–4 stacked edits (byte flips and sets, inserts, deletes, duplications,
 * dictionary tokens, splices with another corpus entry, digit runs), at most `maxLen` bytes.
 */
function mutate(rand, input, corpus, dictionary, maxLen) {
  let out = Buffer.from(input)
  const edits = 1 + rand.below(4)
  for (let e = 0; e < edits; e++) {
    const at = rand.below(out.length + 1)
    switch (rand.below(10)) {
      case 0: // flip a bit
        if (out.length > 0) out[at % out.length] ^= 1 << rand.below(8)
        break
      case 1: // set an interesting or random byte
        if (out.length > 0)
          out[at % out.length] =
            rand.below(3) > 0 ? INTERESTING[rand.below(INTERESTING.length)] : rand.below(256)
        break
      case 2: // insert bytes
        out = Buffer.concat([
          out.subarray(0, at),
          Buffer.from(
            Array.from(
              { length: 1 + rand.below(4) },
              () => INTERESTING[rand.below(INTERESTING.length)],
            ),
          ),
          out.subarray(at),
        ])
        break
      case 3: // delete a range
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + rand.below(16))])
        break
      case 4: // duplicate a range
      case 5: {
        const len = 1 + rand.below(Math.min(64, out.length + 1))
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + len), out.subarray(at)])
        break
      }
      case 6: // insert a dictionary token
      case 7:
        if (dictionary.length > 0)
          out = Buffer.concat([
            out.subarray(0, at),
            dictionary[rand.below(dictionary.length)],
            out.subarray(at),
          ])
        break
      case 8: {
        // splice: this input's head with another entry's tail
        const other = corpus[rand.below(corpus.length)]
        out = Buffer.concat([out.subarray(0, at), other.subarray(rand.below(other.length + 1))])
        break
      }
      default: {
        // a run of digits (lengths, sizes, codes)
        const digits = String(rand.below(4) === 0 ? rand() : rand.below(1000))
        out = Buffer.concat([out.subarray(0, at), Buffer.from(digits), out.subarray(at)])
      }
    }
  }
  return out.length > maxLen ? out.subarray(0, maxLen) : out
}

/** The blocks executed since the last take, in scripts whose URL contains one of `scopes`. */
function takeBlocks(scopes, into) {
  const { result } = post('Profiler.takePreciseCoverage')
  for (const script of result) {
    if (!scopes.some((scope) => script.url.includes(scope))) continue
    for (const fn of script.functions)
      for (const range of fn.ranges) {
        const key = `${script.url}:${range.startOffset}:${range.endOffset}`
        into.seen.add(key)
        if (range.count > 0) into.hit.add(key)
      }
  }
  return into
}

/**
 * Fuzzes one target until `seconds` pass or `maxExecs` inputs ran. Returns the counts; a
 * finding (an invariant the target threw on) is written to `findingsDir` and returned.
 */
export function fuzz({
  name,
  target,
  seeds,
  dictionary = [],
  maxLen = 4096,
  scopes,
  seconds,
  maxExecs = Infinity,
  seed = 1,
  findingsDir,
  batch = 2048,
}) {
  const rand = prng(seed)
  const dict = dictionary.map((token) => Buffer.from(token, 'latin1'))
  const corpus = seeds.map((s) => Buffer.from(s))
  const covered = new Set()
  const seen = new Set()
  const started = performance.now()
  const until = started + seconds * 1000
  let execs = 0
  let finding = null

  const run = (input) => {
    execs++
    try {
      target(input)
      return true
    } catch (error) {
      const hash = createHash('sha1').update(input).digest('hex').slice(0, 12)
      const file = path.join(findingsDir, `${name}-${hash}`)
      fs.mkdirSync(findingsDir, { recursive: true })
      fs.writeFileSync(file, input)
      finding = {
        file,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }
      return false
    }
  }

  /** The blocks of the target's scripts executed since the last take. */
  const take = () => takeBlocks(scopes, { hit: new Set(), seen }).hit
  const hasNew = (hit) => {
    for (const key of hit) if (!covered.has(key)) return true
    return false
  }
  const result = () => ({
    name,
    execs,
    corpus: corpus.length,
    corpusEntries: corpus,
    covered: covered.size,
    seen: seen.size,
    uncovered: () => [...seen].filter((key) => !covered.has(key)),
    seconds: (performance.now() - started) / 1000,
    finding,
  })

  // (What ran before — the modules' top level — is neither counted nor listed.)
  takeBlocks(scopes, { hit: new Set(), seen: new Set() })
  // The seeds first, each on its own, so their coverage is the baseline.
  for (const input of corpus) {
    if (!run(input)) return result()
    for (const key of take()) covered.add(key)
  }

  // Some of `inputs` reached new blocks: halve the group until the inputs that did are found
  // (a few takes per new input instead of one per input), and add them to the corpus.
  const attribute = (inputs) => {
    if (inputs.length === 1) {
      run(inputs[0])
      const hit = take()
      if (!hasNew(hit)) return
      corpus.push(inputs[0])
      for (const key of hit) covered.add(key)
      return
    }
    const half = inputs.length >> 1
    for (const group of [inputs.slice(0, half), inputs.slice(half)]) {
      for (const input of group) run(input)
      if (hasNew(take())) attribute(group)
    }
  }

  const pending = new Array(batch)
  while (finding === null && execs < maxExecs && performance.now() < until) {
    let n = 0
    for (; n < batch && execs < maxExecs; n++) {
      const base = corpus[rand.below(corpus.length)]
      const input = mutate(rand, base, corpus, dict, maxLen)
      pending[n] = input
      if (!run(input)) break
    }
    if (finding === null && hasNew(take())) attribute(pending.slice(0, n))
  }
  return result()
}
