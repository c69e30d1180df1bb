import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import type { RunRetry } from "../core/types";
import type { IrCron } from "../schema/entities/IrCron";
import { jobRetrySettings, retryTime } from "./failures";
import { finishJobCrons, jobsFailed, type FailedJob } from "./jobState";

/** A failed run, waiting for the batch's bulk bookkeeping. */
export interface Failure {
  readonly cron: IrCron;
  readonly start: Date;
  readonly end: Date;
  /** The error as stored (`exc_info`, with its stack). */
  readonly excInfo: string;
  /** What the method threw (a RetryableJobError may set the retry delay). */
  readonly thrown: unknown;
  /** No retry, whatever `maxRetries` says (the job killed its worker `maxCrashes` times). */
  readonly final?: boolean;
}

/** A failure recorded, and its job's next try (null: a final failure, or a recurring cron's run). */
export type RecordedFailure = Failure & { readonly retry: RunRetry | null };

/**
 * The jobs' part of `RunRecords.recordFailures`: for each failed run of a
 * job `workerId` still holds, a retry (back to `pending`, due after its
 * backoff) or a final failure (its `ir_cron` record, if any, deactivated),
 * in one statement. Returns the failures it recorded, each with its retry;
 * the others' claims were lost (nothing written for them).
 * @throws ClaimLostError when a claim was taken away between the read and the write
 */
export async function recordJobFailures(
  b: Backend,
  manager: EntityManager,
  workerId: string,
  failures: readonly Failure[],
): Promise<RecordedFailure[]> {
  if (failures.length === 0) return [];
  const jobOf = new Map(
    (
      await jobRetrySettings(
        b,
        manager,
        failures.map((f) => f.cron.hrpCronJobId!),
      )
    ).map((j) => [Number(j.id), j]),
  );
  const held = failures.filter((f) => jobOf.get(f.cron.hrpCronJobId!)?.running_worker === workerId);
  if (held.length === 0) return [];
  const rows: FailedJob[] = [];
  const recorded: RecordedFailure[] = [];
  const finished: Array<{
    id: number;
    lastcall: null;
    numbercall: number;
    failure_count: number;
    first_failure_date: Date;
  }> = [];
  for (const failure of held) {
    const { cron, start, end, excInfo, thrown, final } = failure;
    const job = jobOf.get(cron.hrpCronJobId!)!;
    const failureCount = Number(job.failure_count) + 1;
    const retryAt = final ? null : retryTime(job, failureCount, end, thrown);
    // The run that failed is the job's attempt `attempts + 1` (attempts counts runs started before it).
    const retry = retryAt && {
      attempt: Number(job.attempts) + 1,
      at: retryAt,
      delayMs: retryAt.getTime() - end.getTime(),
    };
    recorded.push({ ...failure, retry });
    // Retries left: back to pending, due after the backoff, as the same user. Otherwise a one-shot job is not
    // retried blindly: it stays visible as failed and can be retried.
    rows.push({
      id: cron.hrpCronJobId!,
      state: retryAt ? "pending" : "failed",
      nextcall: retryAt ?? cron.nextcall,
      started: start,
      done: end,
      exc_info: excInfo,
      failure_count: failureCount,
      // A crash failure leaves a clean count; other failures keep it.
      crash_count: final ? 0 : Number(job.crash_count),
    });
    if (!retryAt && cron.id !== 0)
      finished.push({
        id: cron.id,
        lastcall: null,
        numbercall: 1,
        failure_count: failureCount,
        first_failure_date: start,
      });
  }
  await jobsFailed(b, manager, workerId, rows);
  await finishJobCrons(b, manager, finished);
  return recorded;
}
