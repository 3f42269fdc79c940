/**
 * A vitest reporter that ends the output with one plain line, `N passed, N failed`, which CI reads.
 */
import type { RunnerTask, RunnerTestFile } from "vitest"
import type { Reporter } from "vitest/reporters"

const count = (tasks: ReadonlyArray<RunnerTask>, totals: { passed: number; failed: number; skipped: number }) => {
  for (const task of tasks) {
    if (task.type === "suite") count(task.tasks, totals)
    else if (task.result?.state === "pass") totals.passed++
    else if (task.result?.state === "fail") totals.failed++
    else totals.skipped++
  }
}

/** Counts test results and prints the closing line after every other reporter. */
export default class SummaryReporter implements Reporter {
  onFinished(files: ReadonlyArray<RunnerTestFile> = []): void {
    const totals = { passed: 0, failed: 0, skipped: 0 }
    for (const file of files) {
      if (file.result?.state === "fail" && file.tasks.length === 0) totals.failed++
      count(file.tasks, totals)
    }
    process.stdout.write(
      `\n${totals.passed} passed, ${totals.failed} failed${totals.skipped > 0 ? `, ${totals.skipped} skipped` : ""}\n`
    )
  }
}
