/**
 * Owners of embedded runs are `host:pid`. A run whose owner is a live process on this host is not ours to resume.
 */
import { hostname } from "node:os"

/** True when `owner` names a process on this host, other than this one, that is still alive. */
export const isOtherLiveProcess = (owner: string): boolean => {
  const at = owner.lastIndexOf(":")
  if (at < 0) return false
  const host = owner.slice(0, at)
  const pid = Number(owner.slice(at + 1))
  if (host !== hostname() || !Number.isInteger(pid) || pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"
  }
}
