import { HrpCronError } from "./hrpCronError";

/** What a run's failure records, and what a job method may throw to steer its retry. */

/** A run that exceeded its timeout: its writes were rolled back and the job failed. */
export class JobTimeoutError extends HrpCronError {
  constructor(readonly timeoutMs: number) {
    super("TIMEOUT", `Job timed out after ${formatSeconds(timeoutMs)} s; its writes were rolled back`, { timeoutMs });
  }
  override get name(): string {
    return "JobTimeoutError";
  }
}

/** A run stopped by an operator (`stopJob`): rolled back, state `stopped`, not retried. */
export class JobStoppedError extends HrpCronError {
  constructor(readonly jobId: number | null) {
    super("STOPPED", `Job ${jobId ?? ""} was stopped by an operator; its writes were rolled back`.replace("  ", " "), {
      jobId,
    });
  }
  override get name(): string {
    return "JobStoppedError";
  }
}

/**
 * Throw from a job method to ask for a retry after `delayMs` (instead of the
 * queue's backoff). It still counts against the job's `maxRetries`.
 */
export class RetryableJobError extends HrpCronError {
  constructor(
    message: string,
    readonly delayMs?: number,
  ) {
    super("RETRYABLE", message, { delayMs });
  }
  override get name(): string {
    return "RetryableJobError";
  }
}

/**
 * The run of a job killed its worker process (a crash, an OOM kill,
 * `process.exit`) `crashes` times — its queue's `maxCrashes` — so it is
 * failed instead of being recovered and run again: a poison job must not
 * take every worker down in turn. Recorded as the job's error; nothing of
 * its runs was committed.
 */
export class WorkerCrashedError extends HrpCronError {
  constructor(
    readonly crashes: number,
    readonly workerId: string,
    reason: string,
  ) {
    super(
      "WORKER_CRASHED",
      `The worker died ${crashes} time${crashes === 1 ? "" : "s"} while running this job (last: worker ${workerId} ${reason}); it was failed so it cannot take more workers down. Fix the method, then retry the job`,
      { crashes, workerId, reason },
    );
  }
  override get name(): string {
    return "WorkerCrashedError";
  }
}

function formatSeconds(ms: number): string {
  return Number.isInteger(ms / 1000) ? String(ms / 1000) : (ms / 1000).toFixed(3).replace(/0+$/, "");
}

/**
 * A job method returned a value hrp-cron cannot store as its result: not
 * JSON (a BigInt, a cycle) or larger than `maxResultBytes`. The run fails
 * (its writes are rolled back) with this as its error, so the problem is
 * seen rather than the value silently dropped.
 */
export class JobResultError extends HrpCronError {
  constructor(
    readonly reason: "not-json" | "too-large",
    detail: string,
    readonly maxResultBytes: number,
  ) {
    super(
      reason === "too-large" ? "RESULT_TOO_LARGE" : "RESULT_NOT_JSON",
      reason === "too-large"
        ? `The job's return value is ${detail} of JSON, over maxResultBytes (${maxResultBytes}); its writes were rolled back. Return less (an id, a summary) and keep large data in your own table, or raise maxResultBytes`
        : `The job's return value cannot be stored as JSON (${detail}); its writes were rolled back. Return plain data (objects, arrays, strings, numbers, booleans, null)`,
      { reason, maxResultBytes },
    );
  }
  override get name(): string {
    return "JobResultError";
  }
}
