import type { EntityManager } from "typeorm";
import type { Backend, JsonColumns } from "../backend";
import { ClaimLostError, InvalidStateError } from "../core/errors";
import { idsBySource, keyOf, type RunKey } from "./runSource";

/**
 * A job's life, written once: every statement that moves
 * `hrp_cron_job.state` (migration 0014: the job row is what the dispatcher
 * claims, so its state and its claim change in the same write).
 *
 * - The job's state is the decision: only a `pending` job may run. `done`,
 *   `failed`, `cancelled` and `stopped` are final; `retryJob` is the way
 *   back for failed and cancelled jobs.
 * - `running` ⇔ claimed: the claim moves a job `pending` → `running`
 *   (`dueBands.ts`), a release without a run moves it back
 *   (`ClaimStore.release`), and recording a run moves it out of `running`
 *   (`done`, `failed`, `stopped`, or `pending` for a retry) while releasing
 *   the claim, a compare-and-set on `running_worker = me`: a job an
 *   operator or another worker took meanwhile keeps its state.
 * - The `ir_cron` row of a `runByCron` job is a record: finished when the
 *   job ends (see {@link finishJobCrons}), reopened by `retryJob`.
 */

/** What releasing a job's claim writes besides its new state. */
const RELEASED = "running_worker = NULL, running_since = NULL, suspect_started = FALSE";

/** Columns of the bulk job updates (see `Backend.updateFrom`). */
const JOB_DONE: JsonColumns = { id: "int", started: "timestamp", done: "timestamp", result: "text" };
const JOB_FAILED: JsonColumns = {
  id: "int",
  state: "text",
  nextcall: "timestamp",
  started: "timestamp",
  done: "timestamp",
  exc_info: "text",
  failure_count: "int",
  crash_count: "int",
};
const CRON_FINISHED: JsonColumns = {
  id: "int",
  lastcall: "timestamp",
  numbercall: "int",
  failure_count: "int",
  first_failure_date: "timestamp",
};

/**
 * Successful runs' jobs `running` → `done`, claims released (one statement
 * for the batch), as a compare-and-set on `workerId`'s claims.
 * @throws ClaimLostError when `workerId` no longer holds one of them, and
 *   InvalidStateError when one is no longer `running` (changed behind the
 *   engine's back): the caller's transaction must roll back
 */
export async function jobsDone(
  backend: Backend,
  m: EntityManager,
  workerId: string,
  jobs: ReadonlyArray<{ id: number; started: Date; done: Date; result: string | null }>,
): Promise<void> {
  if (jobs.length === 0) return;
  // Only a running job can end done: an operator's cancellation is never overwritten.
  // COALESCE keeps SQLite from driving the update by the claims index or the state index
  // (every running job, each joined against every JSON row) instead of by the JSON rows.
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'done', date_started = v.started, date_done = v.done, exc_info = NULL, worker_id = ?, result = v.result,
            attempts = attempts + 1, ${RELEASED}, suspect = FALSE, crash_count = 0, unserved_since = NULL
       ${backend.updateFrom("hrp_cron_job", "v", JOB_DONE)}
        AND COALESCE(hrp_cron_job.running_worker, '') = ? AND COALESCE(hrp_cron_job.state, '') = 'running'`,
    [workerId, ...backend.updateFromParams(JOB_DONE, jobs), workerId],
  );
  if (n !== jobs.length)
    await refuseUnheld(
      backend,
      m,
      workerId,
      jobs.map((j) => j.id),
    );
}

/** A failed run's job: back to `pending` (a retry, due `nextcall`) or `failed` (final), its claim released. */
export type FailedJob = {
  readonly id: number;
  readonly state: "pending" | "failed";
  /** When a retry is due (the current `nextcall` for a final failure). */
  readonly nextcall: Date;
  readonly started: Date;
  readonly done: Date;
  readonly exc_info: string;
  readonly failure_count: number;
  readonly crash_count: number;
};

/**
 * Failed runs' jobs (one statement for the batch): a retry goes back to
 * `pending`, due after its backoff; a final failure is `failed` with its
 * dates. The run counts in `attempts` either way. Compare-and-set on
 * `workerId`'s claims.
 * @throws ClaimLostError when a claim was taken away between the caller's read and this write
 */
export async function jobsFailed(
  backend: Backend,
  m: EntityManager,
  workerId: string,
  jobs: readonly FailedJob[],
): Promise<void> {
  if (jobs.length === 0) return;
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = v.state, nextcall = v.nextcall, exc_info = v.exc_info, attempts = attempts + 1, worker_id = ?,
            date_started = CASE WHEN v.state = 'failed' THEN v.started ELSE hrp_cron_job.date_started END,
            date_done = CASE WHEN v.state = 'failed' THEN v.done ELSE hrp_cron_job.date_done END,
            failure_count = v.failure_count, crash_count = v.crash_count, suspect = FALSE, ${RELEASED}
       ${backend.updateFrom("hrp_cron_job", "v", JOB_FAILED)} AND COALESCE(hrp_cron_job.running_worker, '') = ?`,
    [workerId, ...backend.updateFromParams(JOB_FAILED, jobs), workerId],
  );
  if (n !== jobs.length)
    await refuseUnheld(
      backend,
      m,
      workerId,
      jobs.map((j) => j.id),
    );
}

/** An operator stopped the run: `running` → `stopped`, claim released. False when the claim was lost (nothing written). */
export async function jobStopped(
  backend: Backend,
  m: EntityManager,
  workerId: string,
  jobId: number,
  end: Date,
  message: string,
): Promise<boolean> {
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'stopped', date_done = ?, exc_info = ?, attempts = attempts + 1, stop_requested = FALSE,
            worker_id = running_worker, ${RELEASED}
      WHERE id = ? AND running_worker = ?`,
    [backend.toDbDate(end), message, jobId, workerId],
  );
  return n > 0;
}

/**
 * A run that started and ended without an outcome (interrupted, or killed
 * with its worker `workerId`): it counts in `attempts`, not as a failure.
 */
export async function jobAttempted(backend: Backend, m: EntityManager, jobId: number, workerId: string): Promise<void> {
  await backend.execute(m, `UPDATE hrp_cron_job SET attempts = attempts + 1, worker_id = ? WHERE id = ?`, [
    workerId,
    jobId,
  ]);
}

/**
 * Last resort (the run's outcome could not be recorded): the job is
 * `failed`, whatever its state, and its claim released. False when
 * `workerId` no longer held it (nothing written).
 */
export async function jobFailedUnrecordable(
  backend: Backend,
  m: EntityManager,
  workerId: string,
  jobId: number,
  end: Date,
  excInfo: string,
): Promise<boolean> {
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'failed', date_done = ?, exc_info = ?, failure_count = failure_count + 1,
            worker_id = running_worker, ${RELEASED}
      WHERE id = ? AND running_worker = ?`,
    [backend.toDbDate(end), excInfo, jobId, workerId],
  );
  return n > 0;
}

/**
 * The `ir_cron` rows of jobs that ended (`runByCron` jobs; queue jobs have
 * none), finished in one statement: inactive, with `lastcall` (a success)
 * or the failure counters (a failure) of their last run.
 */
export async function finishJobCrons(
  backend: Backend,
  m: EntityManager,
  crons: ReadonlyArray<{
    id: number;
    lastcall: Date | null;
    numbercall: number;
    failure_count: number;
    first_failure_date: Date | null;
  }>,
): Promise<void> {
  if (crons.length === 0) return;
  await backend.execute(
    m,
    `UPDATE ir_cron SET active = FALSE, lastcall = COALESCE(v.lastcall, ir_cron.lastcall), numbercall = v.numbercall,
            failure_count = v.failure_count, first_failure_date = v.first_failure_date
       ${backend.updateFrom("ir_cron", "v", CRON_FINISHED)}`,
    backend.updateFromParams(CRON_FINISHED, crons),
  );
}

/** The job's state now (`failed` means no retry is coming), or undefined when it is gone. */
export async function jobStateOf(backend: Backend, m: EntityManager, jobId: number): Promise<string | undefined> {
  const [job] = await backend.query<{ state: string }>(m, `SELECT state FROM hrp_cron_job WHERE id = ?`, [jobId]);
  return job?.state;
}

/**
 * Throws when `cronId` is the `ir_cron` row of a job that is not pending
 * (the cron of a finished job must not run again). Crons without a job
 * always pass.
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
 * Refuses to record runs of jobs `workerId` no longer holds, or that are no
 * longer `running` (changed behind the engine's back): the caller's
 * transaction must roll back.
 * @throws ClaimLostError, InvalidStateError
 */
async function refuseUnheld(
  backend: Backend,
  m: EntityManager,
  workerId: string,
  jobIds: readonly number[],
): Promise<never> {
  const rows = await backend.query<{ id: unknown; state: string; running_worker: string | null }>(
    m,
    `SELECT id, state, running_worker FROM hrp_cron_job WHERE ${backend.idIn("id")}`,
    [backend.idList(jobIds)],
  );
  const byId = new Map(rows.map((r) => [Number(r.id), r]));
  const lost = jobIds.find((id) => byId.get(id)?.running_worker !== workerId);
  if (lost !== undefined) throw new ClaimLostError(0, workerId, lost);
  const changed = rows.find((r) => r.state !== "running") ?? { id: jobIds[0], state: "gone" };
  throw new InvalidStateError(
    `Job ${Number(changed.id)} is ${changed.state}, not running: its run cannot be recorded, and its writes were rolled back`,
    { jobId: Number(changed.id), state: changed.state },
  );
}

/**
 * The runs among `keys` that `workerId` still holds, read in `manager`'s
 * transaction: a claim buffered while this process was frozen may have been
 * recovered, and run elsewhere, meanwhile.
 */
export async function stillHeld(
  backend: Backend,
  manager: EntityManager,
  workerId: string,
  keys: readonly RunKey[],
): Promise<Set<RunKey>> {
  const ids = idsBySource(keys);
  const held = new Set<RunKey>();
  for (const source of ["cron", "job"] as const) {
    if (ids[source].length === 0) continue;
    const rows = await backend.query<{ id: unknown }>(
      manager,
      `SELECT id FROM ${source === "cron" ? "ir_cron" : "hrp_cron_job"} WHERE ${backend.idIn("id")} AND running_worker = ?`,
      [backend.idList(ids[source]), workerId],
    );
    for (const r of rows) held.add(keyOf(source, Number(r.id)));
  }
  return held;
}
