import type { EntityManager } from "typeorm";
import type { Backend, JsonColumns } from "../backend";
import { InvalidStateError } from "../core/errors";
import type { IrCron } from "../schema/entities/IrCron";

/**
 * The job-state / claim invariant, written once: every statement that
 * moves `hrp_cron_job.state` in step with its one-shot cron's claim
 * (`ir_cron.running_worker`) and `active`.
 *
 * - A one-shot cron belongs to its job, and the job's state is the
 *   decision: only a `pending` job may run. `done`, `failed`, `cancelled`
 *   and `stopped` are final; `retryJob` is the way back for failed and
 *   cancelled jobs.
 * - Claiming a cron moves its job `pending` → `running` in the claim's
 *   transaction ({@link markJobsRunning}); releasing the claim without a
 *   run moves it back ({@link jobBackToPending}).
 * - Recording a run moves the job out of `running` only
 *   (`done`, `failed`, `stopped`, or `pending` for a retry), in the same
 *   transaction as the cron's release; a job an operator took out of
 *   `running` keeps its state (and a success refuses to overwrite it).
 * - A claimed cron whose job is no longer pending is released and
 *   deactivated, never run ({@link releaseFinished}).
 *
 * The cron side of each of these (release, deactivation, next call) is
 * written by the caller in the same transaction: `claims.ts`,
 * `outcomes.ts`, `crashes.ts`, `jobAdmin.ts`.
 */

/** Columns of the bulk job updates (see `Backend.updateFrom`). */
const JOB_DONE: JsonColumns = { id: "int", started: "timestamp", done: "timestamp" };
const JOB_RETRY: JsonColumns = { id: "int", exc_info: "text" };
const JOB_FAILED: JsonColumns = { id: "int", started: "timestamp", done: "timestamp", exc_info: "text" };

/**
 * A claim's jobs, `pending` → `running` (started now, by `workerId`);
 * returns the callbacks of each job that was pending, by job id. A job
 * missing from the result was not pending: its cron must not run.
 */
export async function markJobsRunning(
  backend: Backend,
  m: EntityManager,
  jobIds: readonly number[],
  now: Date,
  workerId: string,
): Promise<Map<number, { readonly onSuccess: string | null; readonly onFailure: string | null }>> {
  const jobs = await backend.query<{ id: unknown; on_success: string | null; on_failure: string | null }>(
    m,
    // COALESCE keeps SQLite from driving this by the state index (every pending job) instead of the ids.
    `UPDATE hrp_cron_job SET state = 'running', date_started = ?, worker_id = ?
      WHERE ${backend.idIn("id")} AND COALESCE(state, '') = 'pending'
     RETURNING id, on_success, on_failure`,
    [backend.toDbDate(now), workerId, backend.idList(jobIds)],
  );
  return new Map(jobs.map((job) => [Number(job.id), { onSuccess: job.on_success, onFailure: job.on_failure }]));
}

/** A claim released without a run: its job, if still `running`, is `pending` again. */
export async function jobBackToPending(backend: Backend, m: EntityManager, jobId: number): Promise<void> {
  await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'pending', date_started = NULL WHERE id = ? AND state = 'running'`,
    [jobId],
  );
}

/**
 * Throws when `cronId` is the cron of a job that is not pending (the cron of
 * a finished job must not run again). Crons without a job always pass.
 * @throws InvalidStateError
 */
export async function requireRunnable(backend: Backend, manager: EntityManager, cronId: number): Promise<void> {
  const [row] = await backend.query<{ id: unknown; state: string }>(
    manager,
    `SELECT j.id, j.state FROM ir_cron c JOIN hrp_cron_job j ON j.id = c.hrp_cron_job_id WHERE c.id = ?`,
    [cronId],
  );
  if (!row || row.state === "pending") return;
  const jobId = Number(row.id);
  throw new InvalidStateError(
    `Cron ${cronId} belongs to job ${jobId}, which is ${row.state}: it cannot run again${
      row.state === "failed" || row.state === "cancelled"
        ? `; retry the job to run it again (retryJob(${jobId}), hrp-cron retry ${jobId})`
        : ""
    }`,
    { cronId, jobId, state: row.state },
  );
}

/**
 * Claimed crons whose job is not pending (its state changed behind the
 * engine's back): released and deactivated in the claim's transaction, never
 * run.
 */
export async function releaseFinished(
  backend: Backend,
  manager: EntityManager,
  crons: readonly IrCron[],
): Promise<void> {
  await backend.execute(
    manager,
    `UPDATE ir_cron SET running_worker = NULL, running_since = NULL, active = FALSE WHERE ${backend.idIn("id")}`,
    [backend.idList(crons.map((c) => c.id))],
  );
}

/**
 * Successful runs' jobs `running` → `done` (one statement for the batch).
 * A job no longer `running` was changed behind the engine's back: its run
 * cannot be recorded as done.
 * @throws InvalidStateError then (the caller's transaction must roll back)
 */
export async function jobsDone(
  backend: Backend,
  m: EntityManager,
  jobs: ReadonlyArray<{ id: number; started: Date; done: Date }>,
): Promise<void> {
  if (jobs.length === 0) return;
  // Only a running job can end done: an operator's cancellation is never overwritten.
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'done', date_started = v.started, date_done = v.done, exc_info = NULL, attempts = attempts + 1
       ${backend.updateFrom("hrp_cron_job", "v", JOB_DONE)} AND hrp_cron_job.state = 'running'`,
    backend.updateFromParams(JOB_DONE, jobs),
  );
  if (n !== jobs.length)
    await refuseNotRunning(
      backend,
      m,
      jobs.map((j) => j.id),
    );
}

/** Failed runs' jobs with retries left: `running` → `pending` (due again after their backoff: the cron's nextcall). */
export async function jobsRetried(
  backend: Backend,
  m: EntityManager,
  jobs: ReadonlyArray<{ id: number; exc_info: string }>,
): Promise<void> {
  if (jobs.length === 0) return;
  // The run started, so it counts in attempts; a job an operator took out of `running` keeps its state.
  await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'pending', exc_info = v.exc_info, attempts = attempts + 1
     ${backend.updateFrom("hrp_cron_job", "v", JOB_RETRY)} AND hrp_cron_job.state = 'running'`,
    backend.updateFromParams(JOB_RETRY, jobs),
  );
}

/** Failed runs' jobs without retries: `running` → `failed`. */
export async function jobsFailed(
  backend: Backend,
  m: EntityManager,
  jobs: ReadonlyArray<{ id: number; started: Date; done: Date; exc_info: string }>,
): Promise<void> {
  if (jobs.length === 0) return;
  await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'failed', date_started = v.started, date_done = v.done, exc_info = v.exc_info, attempts = attempts + 1
       ${backend.updateFrom("hrp_cron_job", "v", JOB_FAILED)} AND hrp_cron_job.state = 'running'`,
    backend.updateFromParams(JOB_FAILED, jobs),
  );
}

/** An operator stopped the run: `running` → `stopped`. */
export async function jobStopped(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  end: Date,
  message: string,
): Promise<void> {
  await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'stopped', date_done = ?, exc_info = ?, attempts = attempts + 1 WHERE id = ? AND state = 'running'`,
    [backend.toDbDate(end), message, jobId],
  );
}

/** A run that started and ended without an outcome (interrupted, or killed with its worker): it counts in `attempts`, not as a failure. */
export async function jobAttempted(backend: Backend, m: EntityManager, jobId: number): Promise<void> {
  await backend.execute(m, `UPDATE hrp_cron_job SET attempts = attempts + 1 WHERE id = ?`, [jobId]);
}

/** Last resort (the run's outcome could not be recorded): the job is `failed`, whatever its state. */
export async function jobFailedUnrecordable(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  end: Date,
  excInfo: string,
): Promise<void> {
  await backend.execute(m, `UPDATE hrp_cron_job SET state = 'failed', date_done = ?, exc_info = ? WHERE id = ?`, [
    backend.toDbDate(end),
    excInfo,
    jobId,
  ]);
}

/** The job's state now (`failed` means no retry is coming), or undefined when it is gone. */
export async function jobStateOf(backend: Backend, m: EntityManager, jobId: number): Promise<string | undefined> {
  const [job] = await backend.query<{ state: string }>(m, `SELECT state FROM hrp_cron_job WHERE id = ?`, [jobId]);
  return job?.state;
}

/**
 * Refuses to record jobs as done when one of them is no longer `running`
 * (changed behind the engine's back): the caller's transaction must roll back.
 * @throws InvalidStateError
 */
async function refuseNotRunning(backend: Backend, m: EntityManager, jobIds: readonly number[]): Promise<never> {
  const rows = await backend.query<{ id: unknown; state: string }>(
    m,
    `SELECT id, state FROM hrp_cron_job WHERE ${backend.idIn("id")} AND state <> 'running'`,
    [backend.idList(jobIds)],
  );
  const job = rows[0] ?? { id: jobIds[0], state: "gone" };
  throw new InvalidStateError(
    `Job ${Number(job.id)} is ${job.state}, not running: its run cannot be recorded as done, and its writes were rolled back`,
    {
      jobId: Number(job.id),
      state: job.state,
    },
  );
}

/**
 * The ids among `cronIds` that `workerId` still holds, read in `manager`'s
 * transaction: a claim buffered while this process was frozen may have been
 * recovered, and run elsewhere, meanwhile.
 */
export async function stillHeld(
  backend: Backend,
  manager: EntityManager,
  workerId: string,
  cronIds: readonly number[],
): Promise<Set<number>> {
  const rows = await backend.query<{ id: unknown }>(
    manager,
    `SELECT id FROM ir_cron WHERE ${backend.idIn("id")} AND running_worker = ?`,
    [backend.idList(cronIds), workerId],
  );
  return new Set(rows.map((r) => Number(r.id)));
}
