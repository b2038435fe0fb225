// CPU sets for `--pin`: which CPUs this process may use, how to split them between the server
// and the load generator, and how to start a command on a set (taskset, from util-linux).
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'

/** "0-3,8,10-11" → [0, 1, 2, 3, 8, 10, 11]. */
export function parseCpuList(text) {
  const cpus = []
  for (const part of text.trim().split(',')) {
    if (part === '') continue
    const [low, high = low] = part.split('-').map(Number)
    if (!Number.isInteger(low) || !Number.isInteger(high) || high < low)
      throw new Error(`not a CPU list: "${text}"`)
    for (let cpu = low; cpu <= high; cpu++) cpus.push(cpu)
  }
  return cpus
}

/** [0, 1, 2, 3, 8] → "0-3,8". */
export function formatCpuList(cpus) {
  const out = []
  for (let i = 0; i < cpus.length;) {
    let j = i
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j] + 1) j++
    out.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`)
    i = j + 1
  }
  return out.join(',')
}

/** The CPUs this process may run on (its affinity mask), lowest first. */
export function allowedCpus() {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1]
    if (list) return parseCpuList(list)
  } catch {
    // not Linux
  }
  return Array.from({ length: os.availableParallelism?.() ?? os.cpus().length }, (_, i) => i)
}

/** Whether `taskset` can be run here. */
export function hasTaskset() {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Splits `allowed` into the server's CPUs (the first `serverCores`) and the load generator's
 * (all the rest), or returns a reason string when that leaves the load generator nothing.
 * `serverCores` undefined: half for each (the server gets the larger half).
 */
export function splitCpus(allowed, serverCores) {
  const n = serverCores ?? Math.ceil(allowed.length / 2)
  if (n < 1) return 'a server needs at least one core'
  if (n >= allowed.length)
    return (
      `${n} core${n === 1 ? '' : 's'} for the server leave none for wrk ` +
      `(${allowed.length} allowed here: ${formatCpuList(allowed)})`
    )
  return { server: allowed.slice(0, n), load: allowed.slice(n) }
}

/** `[command, args]` that run `command args` on `cpus` (unchanged when `cpus` is undefined). */
export function onCpus(cpus, command, args) {
  return cpus === undefined
    ? [command, args]
    : ['taskset', ['-c', formatCpuList(cpus), command, ...args]]
}
