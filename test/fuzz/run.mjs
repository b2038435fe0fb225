// `pnpm fuzz`: runs every fuzz target (or those named) for a time or a number of executions,
// and prints executions, corpus and coverage per target. Exits 1 on a finding (the input is
// saved under test/fuzz/findings/). Usage:
//   node test/fuzz/run.mjs [--seconds 60] [--execs N] [--target http-parser,multipart] [--seed 1]
//                          [--save-corpus] [--json results.json] [--uncovered]
// --uncovered lists, per target, the blocks it never reached (file:line and the code). "Seen"
// blocks include V8's empty continuation ranges after a return, which never run: the share
// covered is a lower bound.
// --save-corpus writes the inputs that reached new blocks to test/fuzz/corpus/<target>/ (the
// next runs, CI's included, start from there); --json writes { passed, failed, targets }.
//   node test/fuzz/run.mjs --replay <file> --target <name>   (runs one saved input)
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { fuzz, startCoverage } from './engine.mjs'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    execs: { type: 'string' },
    target: { type: 'string' },
    seed: { type: 'string', default: '1' },
    replay: { type: 'string' },
    uncovered: { type: 'boolean', default: false },
    'save-corpus': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
})

// Coverage first, then the code under test, so that its blocks are counted.
startCoverage()
const { TARGETS } = await import('./targets.mjs')
const names = values.target === undefined ? Object.keys(TARGETS) : values.target.split(',')
for (const name of names)
  if (!(name in TARGETS))
    throw new Error(`unknown target ${name}; known: ${Object.keys(TARGETS).join(', ')}`)

if (values.replay !== undefined) {
  TARGETS[names[0]].run(fs.readFileSync(values.replay))
  console.log('no violation')
  process.exit(0)
}

const findingsDir = new URL('./findings/', import.meta.url).pathname
const corpusDir = new URL('./corpus/', import.meta.url)
let failed = 0
const results = []
console.log(
  'target         execs        execs/s  corpus  blocks covered / seen (in functions reached)',
)
for (const name of names) {
  const target = TARGETS[name]
  // Committed seeds: the target's own plus any files in corpus/<target>/.
  const extra = fs.existsSync(new URL(`${name}/`, corpusDir))
    ? fs
        .readdirSync(new URL(`${name}/`, corpusDir))
        .map((f) => fs.readFileSync(new URL(`${name}/${f}`, corpusDir)))
    : []
  const result = fuzz({
    name,
    target: target.run,
    seeds: [...target.seeds, ...extra],
    dictionary: target.dictionary,
    maxLen: target.maxLen,
    scopes: target.scopes,
    seconds: Number(values.seconds),
    maxExecs: values.execs === undefined ? Infinity : Number(values.execs),
    seed: Number(values.seed),
    findingsDir,
  })
  results.push({ ...result, corpusEntries: undefined, uncovered: undefined })
  if (values.uncovered) printUncovered(result.uncovered())
  if (values['save-corpus']) {
    const dir = new URL(`${name}/`, corpusDir)
    fs.mkdirSync(dir, { recursive: true })
    for (const input of result.corpusEntries.slice(target.seeds.length)) {
      const file = createHash('sha1').update(input).digest('hex').slice(0, 16)
      fs.writeFileSync(new URL(file, dir), input)
    }
  }
  const rate = Math.round(result.execs / Math.max(result.seconds, 1e-9))
  const pct = result.seen === 0 ? 0 : (100 * result.covered) / result.seen
  console.log(
    `${name.padEnd(14)} ${String(result.execs).padStart(9)} ${String(rate).padStart(10)}  ${String(result.corpus).padStart(6)}  ${result.covered} / ${result.seen} (${pct.toFixed(1)}%)`,
  )
  if (result.finding !== null) {
    failed++
    console.log(
      `  FINDING in ${name}: ${result.finding.file}\n  ${result.finding.error.split('\n').slice(0, 6).join('\n  ')}`,
    )
  }
}
console.log(`fuzz: ${names.length - failed} passed, ${failed} failed`)
if (values.json !== undefined)
  fs.writeFileSync(
    values.json,
    JSON.stringify({ passed: names.length - failed, failed, targets: results }),
  )
process.exit(failed === 0 ? 0 : 1)

/** Prints blocks never reached: `file:line  code` (the first line of each block). */
function printUncovered(keys) {
  const sources = new Map()
  const rows = keys.map((key) => {
    const [, url, start] = /^(.*):(\d+):(\d+)$/.exec(key)
    if (!sources.has(url)) sources.set(url, fs.readFileSync(new URL(url), 'utf8'))
    const text = sources.get(url)
    const line = text.slice(0, Number(start)).split('\n').length
    const code = text.slice(Number(start)).split('\n')[0].trim().slice(0, 90)
    return { file: url.split('/').slice(-2).join('/'), line, code }
  })
  rows.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)
  for (const r of rows) console.log(`    ${r.file}:${r.line}  ${r.code}`)
}
