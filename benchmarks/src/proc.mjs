// /proc readers: a process's CPU time (all its threads: utime + stime of /proc/<pid>/stat) and
// resident memory (VmRSS, VmHWM of /proc/<pid>/status), and the machine's busy time (/proc/stat).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

let clockTicks = 100
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
} catch {
  // keep the Linux default
}

/** CPU seconds used so far by process `pid` (all threads), or null if it is gone. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may contain spaces), which ends with ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / clockTicks // utime, stime
  } catch {
    return null
  }
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
 * Samples process `pid`'s RSS every `intervalMs` until `stop()`; returns the peak seen, and the
 * last CPU reading of every extra pid (wrk processes, which exit at the end of their run).
 */
export function startSampler(pid, extraPids = [], intervalMs = 100) {
  let peakRss = 0
  let threads = 0
  const lastCpu = new Map()
  const sample = () => {
    const m = memory(pid)
    if (m !== null) {
      if (m.rss > peakRss) peakRss = m.rss
      if (m.threads > threads) threads = m.threads
    }
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
