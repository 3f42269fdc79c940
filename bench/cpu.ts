/**
 * CPU time of processes, for the cluster bench: other processes' from `/proc/<pid>/stat` (utime + stime, in clock
 * ticks), this process's from `process.cpuUsage()`.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"

/** Clock ticks per second of `/proc` times (`getconf CLK_TCK`, 100 on Linux unless told otherwise). */
export const clockTicks: number = (() => {
  try {
    const ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100
  } catch {
    return 100
  }
})()

/** CPU milliseconds (user + system) a process has used so far; undefined when it is gone. */
export const processCpuMs = (pid: number): number | undefined => {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  } catch {
    return undefined
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  return ((utime + stime) * 1000) / clockTicks
}

/** CPU milliseconds this process has used so far. */
export const selfCpuMs = (): number => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

/** CPU milliseconds the whole host has been busy (all CPUs, everything but idle and iowait), from `/proc/stat`. */
export const hostBusyMs = (): number => {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/)
  const values = ticks.map(Number)
  // user nice system idle iowait irq softirq steal (guest times are already counted in user and nice)
  const busy = values.slice(0, 8).reduce((a, b) => a + b, 0) - values[3]! - values[4]!
  return (busy * 1000) / clockTicks
}

/** CPU times of a set of processes at one moment. */
export type Sample = ReadonlyMap<number, number>

/** Samples the CPU times of `pids` (processes that are gone are left out). */
export const sample = (pids: Iterable<number>): Sample => {
  const times = new Map<number, number>()
  for (const pid of pids) {
    const ms = processCpuMs(pid)
    if (ms !== undefined) times.set(pid, ms)
  }
  return times
}

/**
 * CPU milliseconds used between two samples, summed over processes. A process absent from `before` started in
 * between and counts from zero; one absent from `after` ended in between and its last interval is lost.
 */
export const used = (before: Sample, after: Sample): number => {
  let total = 0
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0)
  return total
}
