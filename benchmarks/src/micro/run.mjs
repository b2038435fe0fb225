// Micro-benchmarks of the hot paths: the request parser, the router and the worker pool's
// hand-off. Each group runs in a fresh process (its own JIT state, no interference). Prints a
// table and, when benchmarks/results/micro-baseline.json exists, the change against it: a
// slowdown beyond the noise band (±15%) is flagged, and the exit code stays 0 (timing is noisy;
// read the flags). `--save` makes this run the new baseline.
//
//   pnpm bench:micro [--only parser,router,pool] [--save]
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const GROUPS = {
  parser: '@mummy/parser — RequestParser.execute',
  router: '@mummy/router — Router.match',
  pool: '@mummy/workers — WorkerPool hand-off',
}
const BASELINE = fileURLToPath(new URL('../../results/micro-baseline.json', import.meta.url))
const NOISE = 0.15

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    save: { type: 'boolean', default: false },
    child: { type: 'string' },
  },
})

if (values.child !== undefined) {
  // In the child: run one group, print its rows as JSON.
  const module = await import(`./${values.child}.mjs`)
  const rows = await module.default()
  process.stdout.write(`@@micro ${JSON.stringify(rows)}\n`)
  process.exit(0)
}

const groups = values.only === undefined ? Object.keys(GROUPS) : values.only.split(',')
for (const group of groups) {
  if (!(group in GROUPS)) {
    console.error(`unknown group "${group}" (have: ${Object.keys(GROUPS).join(', ')})`)
    process.exit(2)
  }
}

function runGroup(group) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', group], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (chunk) => (out += chunk))
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@micro '))
      if (code !== 0 || line === undefined) reject(new Error(`${group} exited ${code}`))
      else resolve(JSON.parse(line.slice(8)))
    })
  })
}

const baseline = existsSync(BASELINE) ? JSON.parse(readFileSync(BASELINE, 'utf8')) : null
const format = (ns) =>
  ns >= 1e6
    ? `${(ns / 1e6).toFixed(2)} ms`
    : ns >= 1e3
      ? `${(ns / 1e3).toFixed(2)} µs`
      : `${ns.toFixed(0)} ns`

const results = {}
let slower = 0
for (const group of groups) {
  process.stderr.write(`micro: ${group}…\n`)
  const rows = await runGroup(group)
  results[group] = rows
  console.log(`\n${GROUPS[group]}\n`)
  const extra = rows.some((r) => r.mbPerSec !== undefined)
    ? 'MB/s'
    : rows.some((r) => r.note)
      ? 'note'
      : ''
  const table = [['case', 'time/op', 'ops/s', extra, baseline ? 'vs baseline' : '']]
  for (const row of rows) {
    const before = baseline?.results?.[group]?.find((b) => b.name === row.name)
    let change = ''
    if (before) {
      const delta = before.nsPerOp / row.nsPerOp - 1 // + = faster
      change = `${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(0)}%`
      if (delta < -NOISE) {
        change += ' SLOWER'
        slower++
      }
    }
    table.push([
      row.name,
      format(row.nsPerOp),
      Math.round(row.opsPerSec).toLocaleString('en-US'),
      row.mbPerSec === undefined ? (row.note ?? '') : row.mbPerSec.toFixed(0),
      change,
    ])
  }
  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)))
  for (const [i, r] of table.entries()) {
    console.log(
      r
        .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    if (i === 0)
      console.log(
        widths
          .map((w) => '-'.repeat(w))
          .join('  ')
          .trimEnd(),
      )
  }
}

console.log(
  `\nFastest of several rounds per case. Load average: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(
      ', ',
    )} on ${os.availableParallelism()} cores — other work on the machine slows every case.`,
)
if (baseline) {
  console.log(
    `\nBaseline: ${baseline.savedAt} on ${baseline.machine}. "+" = faster than it. ` +
      `Beyond -${NOISE * 100}%: marked SLOWER (${slower} case${slower === 1 ? '' : 's'}).`,
  )
}
if (values.save) {
  mkdirSync(path.dirname(BASELINE), { recursive: true })
  const merged = { ...(baseline?.results ?? {}), ...results }
  writeFileSync(
    BASELINE,
    `${JSON.stringify(
      {
        savedAt: new Date().toISOString(),
        machine: `${os.cpus()[0]?.model.trim()}, ${os.availableParallelism()} cores, Node ${process.versions.node}`,
        results: merged,
      },
      null,
      2,
    )}\n`,
  )
  console.log(`\nSaved as the baseline: ${path.relative(process.cwd(), BASELINE)}`)
}
