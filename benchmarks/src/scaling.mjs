// The scaling report of `pnpm bench --pin --cores 1,2,4,…`: per scenario, every server's median
// at each server CPU-set size (Markdown table and SVG line chart), and how busy @mummy's IO
// thread was — the point where one IO thread saturates.
import { esc, svgDocument } from './chart.mjs'
import { formatInt, formatMs, formatUs } from './stats.mjs'

/** The measured sizes (skipped ones left out), and every scenario name and server seen. */
function shape(scaling) {
  const sizes = scaling.sizes.filter((s) => s.report !== undefined)
  const scenarios = []
  const servers = new Map()
  for (const size of sizes) {
    for (const scenario of size.report.scenarios) {
      if (!scenarios.some((s) => s.name === scenario.name))
        scenarios.push({ name: scenario.name, metric: scenario.metric })
      for (const server of scenario.servers)
        if (!servers.has(server.id)) servers.set(server.id, server.label)
    }
  }
  return { sizes, scenarios, servers }
}

function find(size, scenario, id) {
  return size.report.scenarios
    .find((s) => s.name === scenario)
    ?.servers.find((s) => s.id === id && s.status === 'ok')
}

/**
 * The IO thread's share at each size: @mummy's main thread does all socket work, so its CPU per
 * request bounds one server's throughput at 1e6 / µs req/s, whatever the core count.
 */
export function ioThreadCeilings(scaling) {
  const { sizes } = shape(scaling)
  const rows = []
  for (const id of ['mummy', 'mummy-uws']) {
    for (const size of sizes) {
      const server = find(size, 'hello', id)
      const us = server?.median.mainCpuUsPerReq
      if (server === undefined || typeof us !== 'number' || us <= 0) continue
      rows.push({
        id,
        label: server.label,
        cores: size.cores,
        rps: server.median.rps,
        mainUsPerReq: us,
        mainBusyPct: (server.median.rps * us) / 1e4,
        ceilingRps: 1e6 / us,
      })
    }
  }
  return rows
}

/** The Markdown scaling report. */
export function toScalingMarkdown(scaling) {
  const { machine } = scaling
  const { sizes, scenarios, servers } = shape(scaling)
  const lines = ['# @mummy scaling', '']
  lines.push(
    `Measured ${scaling.startedAt.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpu}, ` +
      `${machine.cores} cores (this run may use CPUs ${scaling.allowedCpus}), ` +
      `${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, ${machine.wrk}.`,
    '',
    'Each size pins the server (all its threads or processes) to the first N CPUs and wrk to ' +
      'the rest (taskset), so the load generator never takes the server’s cores. @mummy runs ' +
      'one worker per core in hello, cpu, mixed and json (the sleep scenarios keep their ' +
      'counts); node:http cluster forks one process per core. Cells: median req/s (mixed: the ' +
      'cheap requests’ p99) and the server’s CPU per request, all threads and processes.',
    '',
  )
  for (const size of scaling.sizes) {
    lines.push(
      size.report === undefined
        ? `- ${size.cores} core${size.cores === 1 ? '' : 's'}: skipped — ${size.skipped}`
        : `- ${size.cores} core${size.cores === 1 ? '' : 's'}: server on CPU ${size.server}, ` +
            `wrk on CPU ${size.load} (wrk -t${size.report.settings.threads}); details in ` +
            `cores-${size.cores}/latest.md`,
    )
  }
  lines.push('')
  for (const scenario of scenarios) {
    const p99 = scenario.metric === 'p99'
    lines.push(`## ${scenario.name}`, '')
    const head = ['server', ...sizes.map((s) => `${s.cores} core${s.cores === 1 ? '' : 's'}`)]
    lines.push(`| ${head.join(' | ')} |`, `| --- | ${sizes.map(() => '---:').join(' | ')} |`)
    for (const [id, label] of servers) {
      const cells = sizes.map((size) => {
        const all = size.report.scenarios.find((s) => s.name === scenario.name)
        const entry = all?.servers.find((s) => s.id === id)
        if (entry === undefined) return ''
        if (entry.status !== 'ok') return entry.status
        const m = entry.median
        const value = p99 ? `p99 ${formatMs(m.p99Ms)}` : formatInt(m.rps)
        const workers = entry.workers === undefined ? '' : `, ${entry.workers}w`
        return `${value} · ${formatUs(m.cpuUsPerReq)}${workers}`
      })
      if (cells.every((c) => c === '')) continue
      lines.push(`| ${label} | ${cells.join(' | ')} |`)
    }
    lines.push('')
  }
  const io = ioThreadCeilings(scaling)
  if (io.length > 0) {
    lines.push('## One IO thread', '')
    lines.push(
      'hello (the cheapest request): CPU of @mummy’s IO thread per request, how busy it was, ' +
        'and the most requests per second one IO thread can carry at that cost (1e6 / µs). ' +
        'Once the IO thread is near 100 % busy, more cores add workers but not throughput: ' +
        'that is the point to run one server per group of cores (`pnpm start:cluster`).',
      '',
      '| server | cores | req/s | IO thread µs/req | IO thread busy | ceiling req/s |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
    )
    for (const row of io) {
      lines.push(
        `| ${row.label} | ${row.cores} | ${formatInt(row.rps)} | ${formatUs(row.mainUsPerReq)} | ` +
          `${formatInt(row.mainBusyPct)} % | ${formatInt(row.ceilingRps)} |`,
      )
    }
    lines.push('')
  }
  lines.push(`Command: \`${scaling.command}\` (${formatInt(scaling.elapsedS)} s).`, '')
  return lines.join('\n')
}

/** An SVG line chart per throughput scenario: req/s against the server's core count. */
export function toScalingSVG(scaling, colors) {
  const { sizes, scenarios, servers } = shape(scaling)
  const W = 900
  const PANEL_H = 240
  const LEFT = 80
  const PLOT_W = 560
  const parts = []
  let y = 0
  parts.push(
    `<text x="20" y="${(y += 30)}" font-size="19" font-weight="600">@mummy scaling</text>`,
    `<text x="20" y="${(y += 20)}" font-size="12" fill="#555">${esc(
      `${scaling.machine.cpu} · server pinned to N cores, wrk to the rest · Node ` +
        `${scaling.machine.node} · ${scaling.startedAt.slice(0, 10)}`,
    )}</text>`,
  )
  const xs = sizes.map((s) => s.cores)
  const xAt = (i) => LEFT + (xs.length === 1 ? PLOT_W / 2 : (i / (xs.length - 1)) * PLOT_W)
  for (const scenario of scenarios.filter((s) => s.metric === 'rps')) {
    y += 36
    parts.push(
      `<text x="20" y="${y}" font-size="15" font-weight="600">${esc(scenario.name)}` +
        `<tspan dx="8" font-size="12" font-weight="400" fill="#555">req/s by server cores</tspan></text>`,
    )
    const top = y + 12
    const bottom = top + PANEL_H - 40
    const series = [...servers].map(([id, label]) => ({
      id,
      label,
      points: sizes.map((size, i) => {
        const v = find(size, scenario.name, id)?.median.rps
        return typeof v === 'number' ? { i, v } : null
      }),
    }))
    const max = Math.max(1, ...series.flatMap((s) => s.points.filter(Boolean).map((p) => p.v)))
    const yAt = (v) => bottom - (v / max) * (bottom - top)
    parts.push(
      `<line x1="${LEFT}" y1="${bottom}" x2="${LEFT + PLOT_W}" y2="${bottom}" stroke="#999"/>`,
      `<line x1="${LEFT}" y1="${top}" x2="${LEFT}" y2="${bottom}" stroke="#999"/>`,
      `<text x="${LEFT - 6}" y="${top + 4}" font-size="11" text-anchor="end">${formatInt(max)}</text>`,
      `<text x="${LEFT - 6}" y="${bottom + 4}" font-size="11" text-anchor="end">0</text>`,
    )
    xs.forEach((cores, i) =>
      parts.push(
        `<text x="${xAt(i)}" y="${bottom + 16}" font-size="11" text-anchor="middle">${cores}</text>`,
      ),
    )
    let legendY = top
    for (const s of series) {
      const points = s.points.filter(Boolean)
      if (points.length === 0) continue
      const color = colors[s.id] ?? '#888'
      const d = points.map((p) => `${xAt(p.i).toFixed(1)},${yAt(p.v).toFixed(1)}`).join(' ')
      parts.push(`<polyline points="${d}" fill="none" stroke="${color}" stroke-width="2"/>`)
      for (const p of points)
        parts.push(
          `<circle cx="${xAt(p.i).toFixed(1)}" cy="${yAt(p.v).toFixed(1)}" r="3" fill="${color}"/>`,
        )
      const last = points[points.length - 1]
      parts.push(
        `<rect x="${LEFT + PLOT_W + 20}" y="${legendY}" width="10" height="10" fill="${color}"/>`,
        `<text x="${LEFT + PLOT_W + 36}" y="${legendY + 9}" font-size="12">${esc(
          `${s.label}: ${formatInt(last.v)}`,
        )}</text>`,
      )
      legendY += 18
    }
    y = bottom + 24
  }
  y += 16
  return svgDocument(W, y, parts)
}
