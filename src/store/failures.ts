import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { RetryableJobError } from "../core/errors";
import type { ResolvedDispatcherOptions } from "../core/resolveOptions";
import type { IrCron } from "../schema/entities/IrCron";
import { tryCatchUp } from "../scheduling";
import { scheduleOf } from "../scheduling/cronSchedule";

/** What a failed run decides (see `RunRecords.recordFailures`): the job's retry, or the recurring cron's next occurrence. */

/** A job's retry settings and failure state, as read for its failure. */
export interface JobRetryRow {
  readonly id: unknown;
  readonly attempts: unknown;
  readonly max_retries: unknown;
  readonly retry_backoff_ms: string | null;
  readonly failure_count: unknown;
  readonly crash_count: unknown;
  readonly running_worker: string | null;
}

/** The retry settings and failure state of the jobs `jobIds`. */
export async function jobRetrySettings(
  backend: Backend,
  manager: EntityManager,
  jobIds: readonly number[],
): Promise<JobRetryRow[]> {
  if (jobIds.length === 0) return [];
  return backend.query<JobRetryRow>(
    manager,
    `SELECT id, attempts, max_retries, retry_backoff_ms, failure_count, crash_count, running_worker FROM hrp_cron_job WHERE ${backend.idIn("id")}`,
    [backend.idList(jobIds)],
  );
}

/**
 * When a failed job should run again, or null when it has no retries left (or
 * the job row is gone). `failures` counts this run's failure too (the job's
 * `failure_count + 1`): runs interrupted by a worker stop or killed
 * with their worker count in `attempts` but are not failures.
 */
export function retryTime(job: JobRetryRow | undefined, failures: number, end: Date, thrown: unknown): Date | null {
  if (!job || failures > Number(job.max_retries)) return null;
  const backoff: number[] = job.retry_backoff_ms ? JSON.parse(job.retry_backoff_ms) : [0];
  const delay =
    thrown instanceof RetryableJobError && thrown.delayMs !== undefined
      ? thrown.delayMs
      : (backoff[Math.min(failures - 1, backoff.length - 1)] ?? 0);
  return new Date(end.getTime() + delay);
}

/** The schedule after a failed run of a recurring cron; one that cannot be computed deactivates the cron. */
export async function nextAfterFailure(
  manager: EntityManager,
  cron: IrCron,
  start: Date,
  options: Pick<ResolvedDispatcherOptions, "userResolver" | "logger">,
): Promise<{ nextcall: Date; nextcallWall: string | null; active: boolean }> {
  const user = await options.userResolver.findUser(manager, cron.userId);
  const { catchUp, error } = tryCatchUp(scheduleOf(cron, user?.tz ?? null), cron.nextcall, start, cron.nextcallWall);
  if (!catchUp) {
    options.logger.error("cron deactivated: its next run cannot be computed", {
      cronId: cron.id,
      name: cron.name,
      error: error.message,
    });
    return { nextcall: cron.nextcall, nextcallWall: cron.nextcallWall, active: false };
  }
  if (catchUp.missed === 0) return { nextcall: cron.nextcall, nextcallWall: cron.nextcallWall, active: cron.active };
  return { nextcall: catchUp.nextcall, nextcallWall: catchUp.planned ?? null, active: cron.active };
}
