import type { RunOutcome } from "./HrpCronRunLog";

/**
 * One row of the `hrp_cron_runs` view (migration 0012): one run of any cron
 * or job, wherever it is recorded. Runs of recurring crons, and failed,
 * stopped and interrupted runs of jobs, are `hrp_cron_run_log` rows
 * (`runLogId` set); the successful run of a one-shot job is its
 * `hrp_cron_job` row itself (`runLogId` null, `calls` 1). Not a TypeORM
 * entity: read with `listRuns`, or query the view in SQL.
 */
export interface HrpCronRun {
  /** The `hrp_cron_run_log` row, or null when the run is recorded by its job row alone. */
  readonly runLogId: number | null;
  /** The `ir_cron` row that ran, or 0 when the job has none (a queue job). */
  readonly cronId: number;
  readonly hrpCronJobId: number | null;
  readonly name: string;
  readonly model: string;
  readonly function: string;
  /** The user the run ran as. */
  readonly userId: number;
  readonly workerId: string | null;
  /** When the run was due (null for a forced run of a cron that was not due). */
  readonly scheduledAt: Date | null;
  readonly dateStart: Date | null;
  readonly dateEnd: Date | null;
  readonly durationMs: number | null;
  /** How many times the method was called (catch-up with `doall` may call it several times). */
  readonly calls: number;
  readonly state: RunOutcome;
  /** Error message and stack when the run failed, was stopped or interrupted. */
  readonly error: string | null;
}
