// Turns measurements into the Markdown report, the JSON document and the target verdicts.
import { BASELINE } from './adapters/index.mjs'
import { formatInt, formatMB, formatMs, formatRatio, formatUs } from './stats.mjs'

/** The targets the project set itself, per @mummy variant; evaluated on whatever was measured. */
const TARGET_DEFS = [
  {
    scenario: 'sleep10',
    text: (m) => `${m} ≥ 9,000 req/s`,
    value: (s, id) => rps(s, id),
    show: formatInt,
    met: (v) => v >= 9000,
  },
  {
    scenario: 'sleep10',
    text: (m) => `${m} ≥ node:http's req/s`,
    value: (s, id) => ratio(s, id, 'node'),
    show: formatRatio,
    met: (v) => v >= 1,
  },
  {
    scenario: 'sleep10-async',
    text: (m) => `${m} ≥ 0.95 × node:http`,
    value: (s, id) => ratio(s, id, 'node'),
    show: formatRatio,
    met: (v) => v >= 0.95,
  },
  {
    scenario: 'cpu',
    text: (m) => `${m} ≥ 1.6 × node:http`,
    value: (s, id) => ratio(s, id, 'node'),
    show: formatRatio,
    met: (v) => v >= 1.6,
  },
  {
    scenario: 'mixed',
    text: (m) => `${m}'s cheap-request p99 ≤ 1/10 of node:http's`,
    value: (s, id) => p99Ratio(s, id, 'node'),
    show: formatRatio,
    met: (v) => v <= 0.1,
  },
  {
    scenario: 'hello',
    text: (m) => `${m} ≥ 1.3 × node:http`,
    value: (s, id) => ratio(s, id, 'node'),
    show: formatRatio,
    met: (v) => v >= 1.3,
  },
  {
    scenario: 'hello',
    text: (m) => `${m} ≥ 0.6 × uWebSockets.js`,
    value: (s, id) => ratio(s, id, 'uws'),
    show: formatRatio,
    met: (v) => v >= 0.6,
  },
]

/** The @mummy variants targets are evaluated for: adapter id → name in the targets table. */
const VARIANTS = [
  ['mummy', '@mummy'],
  ['mummy-uws', '@mummy (uws)'],
]

/** Every target, once per variant. */
const TARGETS = TARGET_DEFS.flatMap((t) =>
  VARIANTS.map(([id, name]) => ({
    scenario: t.scenario,
    id,
    text: t.text(name),
    value: (s) => t.value(s, id),
    show: t.show,
    met: t.met,
  })),
)

function ok(scenario, id) {
  const server = scenario.servers.find((s) => s.id === id)
  return server?.status === 'ok' ? server : null
}
function rps(scenario, id) {
  return ok(scenario, id)?.median.rps ?? null
}
function ratio(scenario, a, b) {
  const x = rps(scenario, a)
  const y = rps(scenario, b)
  return x !== null && y ? x / y : null
}
function p99Ratio(scenario, a, b) {
  const x = ok(scenario, a)?.median.p99Ms
  const y = ok(scenario, b)?.median.p99Ms
  return x != null && y ? x / y : null
}

/** Adds `ratio` (to node:http) to every server of every scenario, in place. */
export function addRatios(scenarios) {
  for (const scenario of scenarios) {
    for (const server of scenario.servers) {
      server.ratio =
        server.status !== 'ok'
          ? null
          : scenario.metric === 'p99'
            ? p99Ratio(scenario, server.id, BASELINE)
            : ratio(scenario, server.id, BASELINE)
    }
  }
}

/** [{ scenario, text, value, shown, met }] for the targets whose scenario was measured. */
export function evaluateTargets(scenarios) {
  const out = []
  for (const target of TARGETS) {
    const scenario = scenarios.find((s) => s.name === target.scenario)
    if (scenario === undefined || !scenario.servers.some((x) => x.id === target.id)) continue
    const value = target.value(scenario)
    out.push({
      scenario: target.scenario,
      text: target.text,
      value,
      shown: value === null ? 'not measured' : target.show(value),
      met: value === null ? null : target.met(value),
    })
  }
  return out
}

function serverLabel(server) {
  return server.workers === undefined
    ? server.label
    : `${server.label} (${server.workers} worker${server.workers === 1 ? '' : 's'})`
}

/**
 * One row per scenario, one column per server: req/s (or the cheap requests' p99 for mixed),
 * with the ratio to node:http.
 */
export function summaryTable(report) {
  const ids = []
  const labels = new Map()
  for (const scenario of report.scenarios) {
    for (const server of scenario.servers) {
      if (!labels.has(server.id)) {
        ids.push(server.id)
        labels.set(server.id, server.label)
      }
    }
  }
  const head = ['scenario', 'metric', ...ids.map((id) => labels.get(id))]
  const lines = [`| ${head.join(' | ')} |`, `| --- | --- | ${ids.map(() => '---:').join(' | ')} |`]
  for (const scenario of report.scenarios) {
    const p99 = scenario.metric === 'p99'
    const cells = ids.map((id) => {
      const server = scenario.servers.find((s) => s.id === id)
      if (server === undefined) return ''
      if (server.status !== 'ok') return server.status
      const value = p99 ? formatMs(server.median.p99Ms) : formatInt(server.median.rps)
      const workers = id === 'mummy' && server.workers !== undefined ? `, ${server.workers}w` : ''
      return id === BASELINE
        ? `${value}${workers}`
        : `${value} (${formatRatio(server.ratio)}${workers})`
    })
    const metric = p99 ? 'cheap p99 (lower is better)' : 'req/s'
    lines.push(`| ${scenario.name} | ${metric} | ${cells.join(' | ')} |`)
  }
  return lines
}

/** The Markdown report. */
export function toMarkdown(report) {
  const { machine, settings } = report
  const lines = []
  lines.push(`# @mummy benchmark results`, '')
  lines.push(
    `Measured ${report.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu}, ` +
      `${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, ` +
      `${machine.wrk}. Load average when it started: ${machine.loadAverage.join(', ')}.`,
    '',
  )
  lines.push(
    (settings.pin
      ? `Each server runs in its own process on CPU ${settings.pin.server}; wrk runs in others ` +
        `on CPU ${settings.pin.load} (taskset). `
      : `Each server runs in its own process; wrk runs in others, on the same machine. `) +
      `${settings.runs} run${settings.runs === 1 ? '' : 's'} × ${settings.duration} s per server ` +
      (settings.warmup === null
        ? `after a warm-up (1 s; sleep10: 10 s, and 2 s more before each of its runs), `
        : settings.warmup > 0
          ? `after a ${settings.warmup} s warm-up, `
          : 'without warm-up, ') +
      `interleaved across servers; the tables show medians. ` +
      `CPU is the server process's (all threads; 100% = one core) and CPU µs/req that CPU per ` +
      `request (steadier than req/s on a shared machine, and what decides throughput on a ` +
      `bigger one); main µs/req is the main thread's part of it (@mummy's IO thread, which ` +
      `does all socket work: 1e6 / that is one IO thread's ceiling). Peak RSS is the largest ` +
      `resident ` +
      `size sampled during a run. A server that answered anything but 2xx, had socket errors or ` +
      `took longer than wrk's 5 s timeout to answer a request is marked failed.`,
    '',
  )
  lines.push(...summaryTable(report), '')
  for (const scenario of report.scenarios) {
    const summary = scenario.summary[0].toUpperCase() + scenario.summary.slice(1)
    lines.push(`## ${scenario.name}`, '', `${summary}.`, '')
    const cheap = scenario.metric === 'p99'
    const head = cheap
      ? [
          'server',
          'req/s (all)',
          'cheap p50',
          'cheap p99',
          'heavy p50',
          'CPU',
          'CPU µs/req',
          'main µs/req',
          'peak RSS',
          'cheap p99 vs node:http',
        ]
      : [
          'server',
          'req/s',
          'p50',
          'p99',
          'CPU',
          'CPU µs/req',
          'main µs/req',
          'peak RSS',
          'vs node:http',
        ]
    lines.push(`| ${head.join(' | ')} |`)
    lines.push(`| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`)
    for (const server of scenario.servers) {
      const label = serverLabel(server)
      if (server.status !== 'ok') {
        const cells = head.slice(1).map(() => '')
        cells[0] = `**${server.status}**: ${server.reason.replace(/\|/g, '\\|')}`
        lines.push(`| ${label} | ${cells.join(' | ')} |`)
        continue
      }
      const m = server.median
      const row = cheap
        ? [
            formatInt(m.rps),
            formatMs(m.p50Ms),
            formatMs(m.p99Ms),
            formatMs(m.heavyP50Ms),
            `${formatInt(m.cpuPct)}%`,
            formatUs(m.cpuUsPerReq),
            formatUs(m.mainCpuUsPerReq),
            formatMB(m.peakRss),
            formatRatio(server.ratio),
          ]
        : [
            formatInt(m.rps),
            formatMs(m.p50Ms),
            formatMs(m.p99Ms),
            `${formatInt(m.cpuPct)}%`,
            formatUs(m.cpuUsPerReq),
            formatUs(m.mainCpuUsPerReq),
            formatMB(m.peakRss),
            formatRatio(server.ratio),
          ]
      lines.push(`| ${label} | ${row.join(' | ')} |`)
    }
    lines.push('')
    const runs = scenario.servers.flatMap((s) => s.runs)
    const range = (key) => {
      const v = runs.map((r) => r[key]).filter((x) => typeof x === 'number')
      if (v.length === 0) return '—'
      const [low, high] = [formatInt(Math.min(...v)), formatInt(Math.max(...v))]
      return low === high ? `${low}%` : `${low}–${high}%`
    }
    if (runs.length > 0) {
      lines.push(
        `During the runs the machine's cores were ${range('machineBusyPct')} busy (servers, wrk ` +
          `and anything else running); wrk itself used ${range('clientCpuPct')} of one core.`,
        '',
      )
    }
    lines.push('Load (port varies):', '')
    for (const command of scenario.commands) lines.push(`    ${command}`)
    lines.push('')
  }
  if (report.targets.length > 0) {
    lines.push('## Targets', '')
    lines.push('| scenario | target | measured | met |', '| --- | --- | ---: | :---: |')
    for (const t of report.targets) {
      const verdict = t.met === null ? '—' : t.met ? 'yes' : '**no**'
      lines.push(`| ${t.scenario} | ${t.text} | ${t.shown} | ${verdict} |`)
    }
    lines.push('')
  }
  lines.push(`Command: \`${settings.command}\` (${formatInt(report.elapsedS)} s).`, '')
  return lines.join('\n')
}
