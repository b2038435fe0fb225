// A hand-written SVG bar chart of a report: one panel per scenario, one bar per server.
// Throughput panels draw req/s (longer is better); the mixed panel draws the cheap requests'
// p99 latency (shorter is better).
import { formatInt, formatMs, formatRatio } from './stats.mjs'

const WIDTH = 900
const LABEL_W = 215
const BAR_MAX = 480
const BAR_H = 20
const BAR_GAP = 8
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'

/** `text` escaped for SVG text and attributes. */
export function esc(text) {
  return String(text).replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c],
  )
}

/** The SVG document for `report` (see report.mjs), with `colors` { adapterId: '#rrggbb' }. */
export function toSVG(report, colors) {
  const parts = []
  let y = 0
  const { machine, settings } = report
  parts.push(
    `<text x="20" y="${(y += 30)}" font-size="19" font-weight="600">@mummy benchmarks</text>`,
    `<text x="20" y="${(y += 20)}" font-size="12" fill="#555">${esc(
      `${machine.cpu}, ${machine.cores} cores · Node ${machine.node} · ` +
        `wrk -t${settings.threads} -c${settings.connections} · median of ${settings.runs} × ` +
        `${settings.duration} s · ${report.startedAt.slice(0, 10)}`,
    )}</text>`,
  )
  const busy = report.scenarios
    .flatMap((s) => s.servers.flatMap((server) => server.runs))
    .map((run) => run.machineBusyPct)
    .filter((x) => typeof x === 'number')
  if (busy.length > 0) {
    parts.push(
      `<text x="20" y="${(y += 16)}" font-size="12" fill="#555">${esc(
        `A shared machine: during the runs its cores were ${Math.round(Math.min(...busy))}–` +
          `${Math.round(Math.max(...busy))}% busy (servers, wrk and other work). ` +
          `Load average at the start: ${machine.loadAverage.join(', ')}.`,
      )}</text>`,
    )
  }
  y += 10
  for (const scenario of report.scenarios) {
    const latency = scenario.metric === 'p99'
    y += 28
    parts.push(
      `<text x="20" y="${y}" font-size="15" font-weight="600">${esc(scenario.name)}` +
        `<tspan dx="8" font-size="12" font-weight="400" fill="#555">${esc(
          latency
            ? 'p99 latency of the cheap requests (shorter is better)'
            : 'requests per second (longer is better)',
        )}</tspan></text>`,
    )
    y += 10
    const values = scenario.servers
      .filter((s) => s.status === 'ok')
      .map((s) => (latency ? s.median.p99Ms : s.median.rps))
    const max = Math.max(...values, 1e-9)
    for (const server of scenario.servers) {
      const top = y
      const label =
        server.workers === undefined
          ? server.label
          : `${server.label} (${server.workers} worker${server.workers === 1 ? '' : 's'})`
      parts.push(
        `<text x="${LABEL_W - 10}" y="${top + 14}" font-size="13" text-anchor="end">${esc(label)}</text>`,
      )
      if (server.status === 'ok') {
        const value = latency ? server.median.p99Ms : server.median.rps
        const w = Math.max(2, (value / max) * BAR_MAX)
        const color = colors[server.id] ?? '#888'
        const text = latency
          ? `${formatMs(value)}${server.ratio === null ? '' : ` (${formatRatio(server.ratio)} node:http)`}`
          : `${formatInt(value)} req/s${server.ratio === null ? '' : ` (${formatRatio(server.ratio)})`}`
        parts.push(
          `<rect x="${LABEL_W}" y="${top}" width="${w.toFixed(1)}" height="${BAR_H}" rx="2" fill="${color}"/>`,
          `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${top + 14}" font-size="12">${esc(text)}</text>`,
        )
      } else {
        const fill = server.status === 'failed' ? '#b00020' : '#777'
        const reason = server.reason.length > 80 ? `${server.reason.slice(0, 77)}…` : server.reason
        parts.push(
          `<text x="${LABEL_W}" y="${top + 14}" font-size="12" fill="${fill}">${esc(
            `${server.status}: ${reason}`,
          )}</text>`,
        )
      }
      y += BAR_H + BAR_GAP
    }
  }
  y += 12
  parts.push(
    `<text x="20" y="${y}" font-size="11" fill="#777">Ratios in parentheses are to node:http. ` +
      `Every server answered the same bytes (checked before load).</text>`,
  )
  y += 14
  return svgDocument(WIDTH, y, parts)
}

/** A white `width` × `height` SVG document of `parts` (elements), in the charts' font. */
export function svgDocument(width, height, parts) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...parts,
    `</svg>`,
    '',
  ].join('\n')
}
