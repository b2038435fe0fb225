// The benchmark runner: for each scenario, starts every server in its own process, checks that
// they all answer the same bytes, warms them up, then drives them with wrk (in separate
// processes) for `--runs` interleaved runs, sampling the server's CPU and RSS from /proc.
// Writes latest.md, latest.json and latest.svg to --out and prints the Markdown on stdout;
// progress goes to stderr. Exit code 1 when a server failed (skipped ones don't count).
//
//   node benchmarks/src/run.mjs [--scenario hello,cpu] [--servers mummy,node] [--duration 5]
//                               [--runs 3] [--out DIR] …    (--help for all)
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ADAPTERS } from './adapters/index.mjs'
import { toSVG } from './chart.mjs'
import { allowedCpus, formatCpuList, hasTaskset, splitCpus } from './cpus.mjs'
import { machineTicks, startSampler, threadCpuSeconds, treeCpuSeconds } from './proc.mjs'
import { addRatios, evaluateTargets, toMarkdown } from './report.mjs'
import { toScalingMarkdown, toScalingSVG } from './scaling.mjs'
import { SCENARIOS } from './scenarios.mjs'
import { startServer } from './server-process.mjs'
import { formatInt, formatMB, formatMs, median } from './stats.mjs'
import { verify } from './verify.mjs'
import { WRK_TIMEOUT_S, errorCounts, startWrk, wrkVersion } from './wrk.mjs'

const HELP = `Usage: pnpm bench [options]

  --scenario LIST   scenarios, comma-separated (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}
  --servers LIST    servers, comma-separated (default: all but node-cluster, which joins with
                    --cores): ${ADAPTERS.map((a) => a.id).join(', ')}
  --duration S      seconds per measured run (default 5)
  --runs N          measured runs per server; medians are reported (default 3)
  --warmup S        untimed warm-up per server, seconds (default: min(1, duration); sleep10: 10)
  --connections N   wrk connections (default 100)
  --threads N       wrk threads (default 2: one per core of the reference machine; with --pin,
                    one per core of wrk's CPU set)
  --think MS        mixed: mean think time between a connection's requests (default 1000)
  --workers N       override every @mummy server's worker count
  --pin             run the servers and wrk on disjoint CPU sets (taskset): the server on the
                    first half of the CPUs this process may use, wrk on the rest
  --cores LIST      with --pin: run everything once per server CPU-set size, e.g. 1,2,4,8
                    (wrk gets the CPUs left over); writes cores-N/latest.* per size and a
                    scaling table and chart (scaling.md/json/svg). @mummy gets one worker per
                    core in hello, cpu, mixed and json; node:http also runs as node:cluster
  --out DIR         where latest.md/json/svg go (default benchmarks/results)
  --render FILE     measure nothing: rewrite latest.md and latest.svg from a saved latest.json
  --help            this text`

const DEFAULT_OUT = fileURLToPath(new URL('../results', import.meta.url))

function options() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      servers: { type: 'string' },
      duration: { type: 'string', default: '5' },
      runs: { type: 'string', default: '3' },
      warmup: { type: 'string' },
      connections: { type: 'string', default: '100' },
      threads: { type: 'string' },
      pin: { type: 'boolean', default: false },
      cores: { type: 'string' },
      think: { type: 'string', default: '1000' },
      workers: { type: 'string' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(HELP)
    process.exit(0)
  }
  const pick = (list, all, what) => {
    if (list === undefined) return all.filter((x) => !x.scalingOnly || values.cores !== undefined)
    const names = list
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    for (const name of names) {
      if (!all.some((x) => (x.name ?? x.id) === name)) usage(`unknown ${what} "${name}"`)
    }
    return all.filter((x) => names.includes(x.name ?? x.id))
  }
  const number = (name, min, integer = true) => {
    const value = Number(values[name])
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value)))
      usage(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}`)
    return value
  }
  const duration = number('duration', 1)
  let sizes
  if (values.cores !== undefined) {
    if (!values.pin) usage('--cores needs --pin')
    sizes = values.cores.split(',').map((x) => Number(x.trim()))
    if (sizes.some((n) => !Number.isInteger(n) || n < 1))
      usage('--cores must list core counts ≥ 1, e.g. 1,2,4')
  }
  const threadsGiven = values.threads !== undefined
  values.threads ??= '2'
  return {
    scenarios: pick(values.scenario, SCENARIOS, 'scenario'),
    adapters: pick(values.servers, ADAPTERS, 'server'),
    duration,
    runs: number('runs', 1),
    warmup: values.warmup === undefined ? undefined : number('warmup', 0, false),
    connections: number('connections', 2),
    threads: number('threads', 1),
    threadsGiven,
    pin: values.pin,
    sizes,
    thinkMs: number('think', 0),
    workers: values.workers === undefined ? undefined : number('workers', 0),
    render: values.render === undefined ? undefined : path.resolve(values.render),
    out: path.resolve(
      values.out ?? (values.render === undefined ? DEFAULT_OUT : path.dirname(values.render)),
    ),
  }
}

function usage(message) {
  console.error(`${message}\n\n${HELP}`)
  process.exit(2)
}

const say = (line) => process.stderr.write(`${line}\n`)

function machineInfo() {
  let distro = `${os.type()} ${os.release()}`
  try {
    const name = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]
    if (name) distro = `${name}, Linux ${os.release()}`
  } catch {
    // not Linux, or no os-release
  }
  let commit = null
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim()
  } catch {
    // not a git checkout
  }
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: distro,
    node: process.versions.node,
    wrk: wrkVersion() ?? 'wrk (unknown version)',
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    commit,
  }
}

/** Seconds of untimed warm-up per server in `scenario`. */
function warmupOf(scenario, opts) {
  return opts.warmup ?? scenario.warmupS ?? Math.min(1, opts.duration)
}

/**
 * One measured run: all of the scenario's wrk processes at once against `server`. `duration`
 * null: a warm-up of `seconds` (nothing is kept).
 */
async function measure(server, scenario, opts, duration, seconds = warmupOf(scenario, opts)) {
  const loads = (duration === null ? (scenario.warmup ?? scenario.loads) : scenario.loads)(opts)
  seconds = duration ?? seconds
  const base = `http://127.0.0.1:${server.port}`
  const cpu0 = treeCpuSeconds(server.pid)
  const main0 = threadCpuSeconds(server.pid)
  const machine0 = machineTicks()
  const t0 = performance.now()
  const wrks = loads.map((load) => ({
    load,
    ...startWrk(base, load, { duration: seconds, cpus: opts.loadCpus }),
  }))
  const sampler = startSampler(
    server.pid,
    wrks.map((w) => w.pid),
  )
  const settled = await Promise.allSettled(wrks.map((w) => w.result))
  const sampled = sampler.stop()
  const elapsed = (performance.now() - t0) / 1000
  const cpu1 = treeCpuSeconds(server.pid)
  const main1 = threadCpuSeconds(server.pid)
  const machine1 = machineTicks()

  const problems = []
  const roles = {}
  for (let i = 0; i < wrks.length; i++) {
    const s = settled[i]
    if (s.status === 'rejected') {
      problems.push(s.reason.message)
      continue
    }
    const r = s.value
    const { socket, status } = errorCounts(r)
    if (status > 0) problems.push(`${formatInt(status)} non-2xx/3xx answers (${wrks[i].load.path})`)
    if (socket > 0) {
      const e = r.errors
      const where = wrks[i].load.path
      if (e.timeout > 0)
        problems.push(
          `${formatInt(e.timeout)} request${e.timeout === 1 ? '' : 's'} on ${where} took longer ` +
            `than wrk's ${WRK_TIMEOUT_S} s timeout`,
        )
      if (socket > e.timeout)
        problems.push(
          `socket errors on ${where}: connect ${e.connect}, read ${e.read}, write ${e.write}`,
        )
    }
    if (r.requests === 0) problems.push(`no request completed on ${wrks[i].load.path}`)
    roles[wrks[i].load.role] = {
      path: wrks[i].load.path,
      connections: wrks[i].load.connections,
      rps: r.rps,
      requests: r.requests,
      errors: r.errors,
      latencyMs: Object.fromEntries(Object.entries(r.latencyUs).map(([k, v]) => [k, v / 1000])),
      command: r.command.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT'),
    }
  }
  if (!server.isRunning()) problems.push('the server process exited during the run')
  const main = roles[scenario.latencyOf]
  const total = Object.values(roles).reduce((sum, r) => sum + r.rps, 0)
  const machineBusy =
    machine0 && machine1
      ? ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100
      : null
  const cpuPct = cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) / elapsed) * 100 : null
  return {
    ok: problems.length === 0,
    problems,
    rps: total,
    p50Ms: main?.latencyMs.p50 ?? null,
    p99Ms: main?.latencyMs.p99 ?? null,
    heavyP50Ms: roles.heavy?.latencyMs.p50 ?? null,
    cpuPct,
    // CPU per request (all the server's threads, µs): steadier than req/s on a shared machine,
    // and what decides throughput on a bigger one.
    cpuUsPerReq: cpuPct !== null && total > 0 ? (cpuPct * 1e4) / total : null,
    // The same for the main thread alone: @mummy's IO thread (all the socket work), node:http's
    // only JS thread. 1e6 / this is the most requests per second that thread can carry.
    mainCpuUsPerReq:
      main0 !== null && main1 !== null && total > 0
        ? ((main1 - main0) * 1e6) / (total * elapsed)
        : null,
    peakRss: sampled.peakRss,
    threads: sampled.threads,
    clientCpuPct: (sampled.clientCpu / elapsed) * 100,
    machineBusyPct: machineBusy,
    roles,
  }
}

function eta(seconds) {
  const s = Math.max(0, Math.round(seconds))
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

/**
 * Writes latest.md, latest.svg (and latest.json when `withJSON`) to `out`; the Markdown also to
 * stdout unless `print` is false.
 */
function writeReport(report, out, withJSON, print = true) {
  const markdown = toMarkdown(report)
  const colors = Object.fromEntries(ADAPTERS.map((a) => [a.id, a.color]))
  mkdirSync(out, { recursive: true })
  writeFileSync(path.join(out, 'latest.md'), markdown)
  if (withJSON) writeFileSync(path.join(out, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`)
  writeFileSync(path.join(out, 'latest.svg'), toSVG(report, colors))
  if (print) {
    process.stdout.write(markdown)
    if (!markdown.endsWith('\n')) process.stdout.write('\n')
  }
  say(
    `bench: wrote latest.md${withJSON ? ', latest.json' : ''} and latest.svg to ${out}` +
      (withJSON ? ` (measured in ${eta(report.elapsedS)})` : ''),
  )
}

async function main() {
  const opts = options()
  if (opts.render !== undefined) {
    const report = JSON.parse(readFileSync(opts.render, 'utf8'))
    addRatios(report.scenarios)
    report.targets = evaluateTargets(report.scenarios)
    writeReport(report, opts.out, false)
    return
  }
  if (wrkVersion() === null) {
    console.error('wrk is not installed (Debian/Ubuntu: apt-get install wrk)')
    process.exit(2)
  }
  const started = new Date()
  const t0 = performance.now()
  const machine = machineInfo()
  const allowed = allowedCpus()
  if (opts.pin && !hasTaskset()) {
    console.error('--pin needs taskset (Debian/Ubuntu: apt-get install util-linux)')
    process.exit(2)
  }
  // What runs: once unpinned, once pinned, or once per server CPU-set size.
  const plans = []
  if (opts.sizes !== undefined) {
    for (const size of opts.sizes) {
      const split = splitCpus(allowed, size)
      if (typeof split === 'string') say(`bench: --cores ${size} skipped: ${split}`)
      plans.push({ size, split })
    }
    if (plans.every((p) => typeof p.split === 'string')) process.exit(2)
  } else if (opts.pin) {
    const split = splitCpus(allowed, undefined)
    if (typeof split === 'string') {
      console.error(`--pin: ${split}`)
      process.exit(2)
    }
    plans.push({ size: undefined, split })
  } else {
    plans.push({ size: undefined, split: undefined })
  }
  const runnable = plans.filter((p) => typeof p.split !== 'string')
  // Per server: start + byte check + warm-up, then each run (+ re-warm and the pause after it).
  const setupOf = (scenario) => warmupOf(scenario, opts) + 2.5
  const runOf = (scenario) => opts.duration + 0.6 + (scenario.rewarmS ?? 0)
  const costOf = (scenario) => setupOf(scenario) + opts.runs * runOf(scenario)
  const perSize = opts.scenarios.reduce((sum, s) => sum + costOf(s), 0) * opts.adapters.length
  const plan = {
    setupOf,
    runOf,
    costOf,
    spent: 0, // estimated seconds of the plan done so far
    before: 0, // estimated seconds of the sizes already measured
    estimate: runnable.length * perSize,
  }
  say(
    `bench: ${opts.scenarios.length} scenario(s) × ${opts.adapters.length} server(s)` +
      `${opts.sizes === undefined ? '' : ` × ${runnable.length} CPU-set size(s)`}, ` +
      `${opts.runs} run(s) × ${opts.duration} s, -c${opts.connections}; ` +
      `about ${eta(plan.estimate)} (m:ss). Load average now ${machine.loadAverage.join(', ')}.`,
  )
  let failed = 0
  const sizes = []
  for (const { size, split } of plans) {
    if (typeof split === 'string') {
      sizes.push({ cores: size, skipped: split })
      continue
    }
    const sized = {
      ...opts,
      size,
      serverCpus: split?.server,
      loadCpus: split?.load,
      threads: split !== undefined && !opts.threadsGiven ? split.load.length : opts.threads,
    }
    if (split !== undefined)
      say(
        `bench: server on CPU ${formatCpuList(split.server)}, wrk on CPU ` +
          `${formatCpuList(split.load)} (wrk -t${sized.threads})`,
      )
    const t1 = performance.now()
    const result = await runScenarios(sized, plan)
    failed += result.failed
    plan.before = plan.spent
    const report = {
      startedAt: started.toISOString(),
      elapsedS: (performance.now() - t1) / 1000,
      machine,
      settings: {
        scenarios: opts.scenarios.map((s) => s.name),
        servers: opts.adapters.map((a) => a.id),
        duration: opts.duration,
        runs: opts.runs,
        warmup: opts.warmup ?? null,
        connections: opts.connections,
        threads: sized.threads,
        thinkMs: opts.thinkMs,
        workers: opts.workers ?? null,
        pin:
          split === undefined
            ? null
            : { server: formatCpuList(split.server), load: formatCpuList(split.load) },
        command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
      },
      scenarios: result.scenarios,
      targets: evaluateTargets(result.scenarios),
    }
    if (size === undefined) writeReport(report, opts.out, true)
    else {
      writeReport(report, path.join(opts.out, `cores-${size}`), true, false)
      sizes.push({
        cores: size,
        server: report.settings.pin.server,
        load: report.settings.pin.load,
        report,
      })
    }
  }
  if (opts.sizes !== undefined) {
    const scaling = {
      startedAt: started.toISOString(),
      elapsedS: (performance.now() - t0) / 1000,
      machine,
      allowedCpus: formatCpuList(allowed),
      command: `pnpm bench ${process.argv.slice(2).join(' ')}`.trim(),
      sizes,
    }
    const colors = Object.fromEntries(ADAPTERS.map((a) => [a.id, a.color]))
    const markdown = toScalingMarkdown(scaling)
    mkdirSync(opts.out, { recursive: true })
    writeFileSync(path.join(opts.out, 'scaling.md'), markdown)
    writeFileSync(path.join(opts.out, 'scaling.json'), `${JSON.stringify(scaling, null, 2)}\n`)
    writeFileSync(path.join(opts.out, 'scaling.svg'), toScalingSVG(scaling, colors))
    process.stdout.write(markdown)
    say(`bench: wrote scaling.md, scaling.json and scaling.svg to ${opts.out}`)
  }
  if (failed > 0) {
    say(`bench: ${failed} server run(s) FAILED`)
    process.exitCode = 1
  }
}

/** Every scenario × server of `opts` (one CPU-set size): { scenarios, failed }. */
async function runScenarios(opts, plan) {
  const scenarios = []
  let failed = 0
  for (const scenario of opts.scenarios) {
    const tag = opts.size === undefined ? `[${scenario.name}]` : `[${scenario.name}, ${opts.size}c]`
    const entries = []
    // Start and check every server, then warm each up.
    for (const adapter of opts.adapters) {
      const entry = {
        id: adapter.id,
        label: adapter.label,
        status: 'ok',
        reason: '',
        workers: undefined,
        runs: [],
      }
      entries.push(entry)
      try {
        entry.process = await startServer({
          script: adapter.script(scenario.name),
          env: adapter.env(
            // With --cores, @mummy runs one worker per core where the work is CPU-bound.
            opts.size !== undefined && scenario.scalesWithCores && opts.workers === undefined
              ? { ...opts, workers: opts.size }
              : opts,
            scenario.name,
          ),
          cpus: opts.serverCpus,
          probePath: scenario.checks[0].path,
          skipExitCode: adapter.skipExitCode,
        })
      } catch (error) {
        entry.status = error.skipped ? 'skipped' : 'failed'
        entry.reason = error.message
        say(`${tag} ${adapter.label}: ${entry.status} — ${error.message}`)
        continue
      }
      // "… with N workers", printed once listening (a cluster's last process may come later).
      let workers = /with (\d+) workers/.exec(entry.process.output())
      for (let i = 0; workers === null && adapter.countsWorkers && i < 10; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        workers = /with (\d+) workers/.exec(entry.process.output())
      }
      if (workers) entry.workers = Number(workers[1])
      entry.startMs = entry.process.startMs
      try {
        await verify(entry.process.port, scenario)
        say(
          `${tag} ${adapter.label}${entry.workers === undefined ? '' : ` (${entry.workers} worker${entry.workers === 1 ? '' : 's'})`}: ` +
            `answering after ${(entry.startMs / 1000).toFixed(1)} s, bytes verified`,
        )
      } catch (error) {
        entry.status = 'failed'
        entry.reason = `wrong answer: ${error.message}`
        say(`${tag} ${adapter.label}: FAILED the byte check — ${error.message}`)
      }
    }
    const live = entries.filter((e) => e.status === 'ok')
    plan.spent += opts.adapters.length * plan.setupOf(scenario)
    const warmup = warmupOf(scenario, opts)
    if (warmup > 0) {
      for (const entry of live) await measure(entry.process, scenario, opts, null)
      say(`${tag} warmed up (${warmup} s each)`)
    }
    // Interleaved runs: a burst of background noise hits every server, not one.
    for (let run = 1; run <= opts.runs; run++) {
      for (const entry of live) {
        if (entry.status !== 'ok') continue
        if (scenario.rewarmS > 0)
          await measure(entry.process, scenario, opts, null, scenario.rewarmS)
        const result = await measure(entry.process, scenario, opts, opts.duration)
        entry.runs.push(result)
        plan.spent += plan.runOf(scenario)
        if (scenario.commands === undefined) {
          scenario.commands = Object.values(result.roles).map((r) => r.command)
        }
        const latencyName = scenario.latencyOf === 'all' ? '' : `${scenario.latencyOf} `
        say(
          `${tag} run ${run}/${opts.runs} ${entry.label.padEnd(15)} ` +
            `${formatInt(result.rps).padStart(7)} req/s  ${latencyName}p50 ${formatMs(result.p50Ms)}  ` +
            `p99 ${formatMs(result.p99Ms)}  cpu ${formatInt(result.cpuPct)}% ` +
            `(${result.cpuUsPerReq === null ? '—' : result.cpuUsPerReq.toFixed(1)} µs/req)  ` +
            `rss ${formatMB(result.peakRss)}` +
            (result.ok ? '' : `  FAILED: ${result.problems.join('; ')}`) +
            `   (~${eta(plan.estimate - plan.spent)} left)`,
        )
        if (!result.ok) {
          entry.status = 'failed'
          entry.reason = result.problems.join('; ')
          const tail = entry.process.output().trim().split('\n').slice(-5).join('\n')
          if (tail) say(`${tag} ${entry.label} output:\n${tail}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 300))
      }
    }
    for (const entry of entries) {
      await entry.process?.stop()
      if (entry.status === 'failed') failed++
    }
    // Whatever did not run (skipped or failed servers) is no longer ahead of us.
    plan.spent = Math.max(
      plan.spent,
      plan.before +
        opts.adapters.length *
          opts.scenarios.slice(0, scenarios.length + 1).reduce((sum, s) => sum + plan.costOf(s), 0),
    )

    scenarios.push({
      name: scenario.name,
      summary: scenario.summary,
      metric: scenario.metric,
      latencyOf: scenario.latencyOf,
      commands: scenario.commands ?? [],
      servers: entries.map((e) => {
        const okRuns = e.runs.filter((r) => r.ok)
        const pick = (key) => median(okRuns.map((r) => r[key]))
        return {
          id: e.id,
          label: e.label,
          status: e.status,
          reason: e.reason,
          workers: e.workers,
          startMs: e.startMs === undefined ? null : Math.round(e.startMs),
          median: {
            rps: pick('rps'),
            p50Ms: pick('p50Ms'),
            p99Ms: pick('p99Ms'),
            heavyP50Ms: pick('heavyP50Ms'),
            cpuPct: pick('cpuPct'),
            cpuUsPerReq: pick('cpuUsPerReq'),
            mainCpuUsPerReq: pick('mainCpuUsPerReq'),
            peakRss: pick('peakRss'),
            clientCpuPct: pick('clientCpuPct'),
            machineBusyPct: pick('machineBusyPct'),
          },
          runs: e.runs,
        }
      }),
    })
  }

  addRatios(scenarios)
  return { scenarios, failed }
}

await main()
