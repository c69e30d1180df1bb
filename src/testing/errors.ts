import { HrpCronError } from "../core/errors";
import type { RunResult } from "../core/types";

/** The errors of the test helpers (`hrp-cron/testing`): a drain that did not end, failed runs, a failed expectation. */

/** `model.function` of a run, and what it ran as, for messages. */
function describeRun(run: RunResult): string {
  const what = run.jobId !== null ? `job ${run.jobId}` : `cron ${run.cronId}`;
  return `${what} (${run.model}.${run.function}, as user ${run.userId})`;
}

/**
 * `drain` made `maxRuns` runs and work was still due: a job keeps making
 * new work due at once (typically one that enqueues itself, or a follow-up,
 * without a delay), so draining would never end. `runs` are the runs made.
 */
export class DrainLimitError extends HrpCronError {
  constructor(
    readonly maxRuns: number,
    readonly runs: readonly RunResult[],
    /** Runs still due when it stopped. */
    readonly stillDue: number,
  ) {
    const counts = new Map<string, number>();
    for (const run of runs)
      counts.set(`${run.model}.${run.function}`, (counts.get(`${run.model}.${run.function}`) ?? 0) + 1);
    const busiest = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([method, n]) => `${method} ×${n}`)
      .join(", ");
    super(
      "DRAIN_LIMIT",
      `drain made ${runs.length} runs (maxRuns) and ${stillDue} more ${stillDue === 1 ? "is" : "are"} still due: ` +
        `a job keeps making work due at once, so draining would never end (most runs: ${busiest}). ` +
        `Give the follow-up job a delay and advance the test clock between drains, or raise maxRuns if this much work is expected`,
      { maxRuns, stillDue, runs: runs.length },
    );
  }
  override get name(): string {
    return "DrainLimitError";
  }
}

/** A drain or `runJob` with `throwOnFailure` made runs that failed; `failed` are those runs, `runs` all of them. */
export class JobsFailedError extends HrpCronError {
  constructor(
    readonly failed: readonly RunResult[],
    readonly runs: readonly RunResult[],
  ) {
    const lines = failed.map((run) => `${describeRun(run)}: ${firstLine(run.error)}`);
    super(
      "JOBS_FAILED",
      `${failed.length} of ${runs.length} runs failed (throwOnFailure):\n  ${lines.join("\n  ")}\n` +
        `Their full errors are in the runs' error (and in hrp_cron_runs)`,
      { failed: failed.length, runs: runs.length },
    );
  }
  override get name(): string {
    return "JobsFailedError";
  }
}

/** An expectation of the test helpers (`expectEnqueued`, `expectNotEnqueued`, `expectRun`) did not hold; the message shows what was found instead. */
export class JobExpectationError extends HrpCronError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super("EXPECTATION_FAILED", message, context);
  }
  override get name(): string {
    return "JobExpectationError";
  }
}

function firstLine(text: string | undefined): string {
  return (text ?? "(no error recorded)").split("\n")[0];
}
