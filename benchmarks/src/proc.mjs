// /proc readers: a process's CPU time (all its threads: utime + stime of /proc/<pid>/stat) and
// resident memory (VmRSS, VmHWM of /proc/<pid>/status), and the machine's busy time (/proc/stat).
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'

let clockTicks = 100
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {
  // keep the Linux default
}

/** CPU seconds used so far by process `pid` (all threads), or null if it is gone. */
export function cpuSeconds(pid) {
  try {
    const fields = statFields(`/proc/${pid}/stat`)
    return (Number(fields[11]) + Number(fields[12])) / clockTicks // utime, stime
  } catch {
    return null
  }
}

function statFields(file) {
  const stat = readFileSync(file, 'utf8')
  // Fields after the command name (which may contain spaces), which ends with ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** CPU seconds used so far by thread `tid` of process `pid`, or null if it is gone. */
export function threadCpuSeconds(pid, tid = pid) {
  try {
    const fields = statFields(`/proc/${pid}/task/${tid}/stat`)
    return (Number(fields[11]) + Number(fields[12])) / clockTicks
  } catch {
    return null
  }
}

/**
 * CPU nanoseconds used so far by the live threads of process `pid` (the first field of each
 * /proc/<pid>/task/<tid>/schedstat: nanosecond precision, where /stat counts 10 ms ticks), or
 * null if it is gone. Threads that ended meanwhile no longer count.
 */
export function cpuNanoseconds(pid) {
  let tids
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return null
  }
  let total = 0
  for (const tid of tids) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // the thread just ended
    }
  }
  return total
}

/** `pid` and every live descendant of it (a node:cluster primary and its workers). */
export function processTree(pid) {
  const children = new Map()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const ppid = Number(statFields(`/proc/${name}/stat`)[1])
      let list = children.get(ppid)
      if (list === undefined) children.set(ppid, (list = []))
      list.push(Number(name))
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []))
  return tree
}

/** CPU seconds of `pid` and its live descendants, or null if `pid` is gone. */
export function treeCpuSeconds(pid) {
  const own = cpuSeconds(pid)
  if (own === null) return null
  let total = own
  for (const child of processTree(pid).slice(1)) total += cpuSeconds(child) ?? 0
  return total
}

/** { rss, hwm, threads } of process `pid` in bytes (hwm = peak RSS so far), or null. */
export function memory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (name) =>
      Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024
    const threads = Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0)
    return { rss: kb('VmRSS'), hwm: kb('VmHWM'), threads }
  } catch {
    return null
  }
}

/** { busy, total } jiffies of all cores since boot (/proc/stat), for a machine-busy ratio. */
export function machineTicks() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    const idle = v[3] + (v[4] ?? 0) // idle + iowait
    const total = v.reduce((a, b) => a + b, 0)
    return { busy: total - idle, total }
  } catch {
    return null
  }
}

/**
 * Samples the RSS of process `pid` and its descendants (summed) every `intervalMs` until `stop()`; returns the peak seen, and the
 * last CPU reading of every extra pid (wrk processes, which exit at the end of their run).
 */
export function startSampler(pid, extraPids = [], intervalMs = 100) {
  let peakRss = 0
  let threads = 0
  const lastCpu = new Map()
  // The server and its child processes (node:cluster's workers), summed.
  const members = processTree(pid)
  const sample = () => {
    let rss = 0
    let count = 0
    for (const member of members) {
      const m = memory(member)
      if (m === null) continue
      rss += m.rss
      count += m.threads
    }
    if (rss > peakRss) peakRss = rss
    if (count > threads) threads = count
    for (const extra of extraPids) {
      const cpu = cpuSeconds(extra)
      if (cpu !== null) lastCpu.set(extra, cpu)
    }
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      sample()
      let clientCpu = 0
      for (const value of lastCpu.values()) clientCpu += value
      return { peakRss, threads, clientCpu }
    },
  }
}
