import type { EntityManager } from "typeorm";
import type { Backend } from "../backend";
import { CurrentlyRunningError, InvalidStateError, NotFoundError } from "../core/errors";
import { HrpCronJob, type HrpCronJobState } from "../schema/entities/HrpCronJob";
import { IrCron } from "../schema/entities/IrCron";
import { RUNNABLE } from "./predicates";

/**
 * The SQL of operators' decisions on jobs (`retryJob`, `cancelJob`,
 * `stopJob`) and of retention and queue statistics. A job's decisions are
 * written on its row; the `ir_cron` row of a `runByCron` job follows (see
 * `jobState.ts` for the invariant).
 */

/**
 * Job `jobId`, for a change allowed only from the `allowed` states and only
 * while no worker runs it (`verb` names the change).
 * @throws NotFoundError, CurrentlyRunningError, InvalidStateError
 */
export async function jobForChange(
  m: EntityManager,
  jobId: number,
  allowed: readonly HrpCronJobState[],
  verb: string,
): Promise<HrpCronJob> {
  const job = await m.findOneBy(HrpCronJob, { id: jobId });
  if (!job) throw new NotFoundError("hrp_cron_job", jobId);
  if (job.runningWorker) throw new CurrentlyRunningError(await jobCronId(m, job), job.runningWorker, jobId);
  if (!allowed.includes(job.state)) {
    throw new InvalidStateError(`Job ${jobId} is ${job.state}; only ${allowed.join(" or ")} jobs can be ${verb}`, {
      jobId,
      state: job.state,
    });
  }
  return job;
}

/**
 * A change of a job that `jobForChange` found idle touched nothing: a worker
 * claimed it in between (on PostgreSQL the change waited for that claim to
 * commit). @throws CurrentlyRunningError (or NotFoundError when it is gone)
 */
async function claimedMeanwhile(m: EntityManager, jobId: number): Promise<never> {
  const job = await m.findOneBy(HrpCronJob, { id: jobId });
  if (!job) throw new NotFoundError("hrp_cron_job", jobId);
  throw new CurrentlyRunningError(await jobCronId(m, job), job.runningWorker, jobId);
}

/** The id of a job's `ir_cron` row (`runByCron`), or 0 (a queue job has none). */
async function jobCronId(m: EntityManager, job: HrpCronJob): Promise<number> {
  if (job.kind !== "cron") return 0;
  return (await m.findOne(IrCron, { where: { hrpCronJobId: job.id }, select: { id: true } }))?.id ?? 0;
}

/**
 * A failed or cancelled job (not claimed) back in the queue, due `when`,
 * with its counters reset (its `ir_cron` row, if any, active again); returns
 * the job as it is now.
 */
export async function requeueJob(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  when: Date,
  now: () => Date,
): Promise<HrpCronJob> {
  const at = backend.toDbDate(when);
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'pending', nextcall = ?, date_created = ?, date_started = NULL, date_done = NULL, attempts = 0,
            failure_count = 0, crash_count = 0, suspect = FALSE, suspect_started = FALSE, unserved_since = NULL, stop_requested = FALSE
      WHERE id = ? AND running_worker IS NULL`,
    [at, at, jobId],
  );
  if (n === 0) await claimedMeanwhile(m, jobId);
  await backend.execute(
    m,
    `UPDATE ir_cron SET active = TRUE, numbercall = 1, nextcall = ?, failure_count = 0, first_failure_date = NULL, write_date = ?
      WHERE hrp_cron_job_id = ?`,
    [at, backend.toDbDate(now()), jobId],
  );
  await backend.announceWork(m);
  return (await m.findOneBy(HrpCronJob, { id: jobId }))!;
}

/** A pending or failed job (not claimed) cancelled, its `ir_cron` row (if any) inactive; returns the job as it is now. */
export async function cancelJob(
  backend: Backend,
  m: EntityManager,
  jobId: number,
  now: () => Date,
): Promise<HrpCronJob> {
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET state = 'cancelled', date_done = ? WHERE id = ? AND running_worker IS NULL`,
    [backend.toDbDate(now()), jobId],
  );
  if (n === 0) await claimedMeanwhile(m, jobId);
  await backend.execute(m, `UPDATE ir_cron SET active = FALSE, write_date = ? WHERE hrp_cron_job_id = ?`, [
    backend.toDbDate(now()),
    jobId,
  ]);
  return (await m.findOneBy(HrpCronJob, { id: jobId }))!;
}

/**
 * A pending job (not claimed) due `when` (its `ir_cron` row's `trigger`);
 * false when it is claimed or not pending (nothing written).
 */
export async function triggerJob(backend: Backend, m: EntityManager, jobId: number, when: Date): Promise<boolean> {
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET nextcall = ? WHERE id = ? AND state = 'pending' AND running_worker IS NULL`,
    [backend.toDbDate(when), jobId],
  );
  if (n > 0) await backend.announceWork(m);
  return n > 0;
}

/**
 * A pending job (not claimed) due `when` rather than later (an operator's
 * "run now"), its `ir_cron` record's next call with it; returns the job as
 * it is now. Its planned date (`date_created`) stays.
 * @throws CurrentlyRunningError when a worker claimed it meanwhile
 */
export async function makeJobDue(backend: Backend, m: EntityManager, jobId: number, when: Date): Promise<HrpCronJob> {
  if (!(await triggerJob(backend, m, jobId, when))) await claimedMeanwhile(m, jobId);
  const at = backend.toDbDate(when);
  await backend.execute(m, `UPDATE ir_cron SET nextcall = ?, write_date = ? WHERE hrp_cron_job_id = ?`, [
    at,
    at,
    jobId,
  ]);
  return (await m.findOneBy(HrpCronJob, { id: jobId }))!;
}

/**
 * Asks the worker running job `jobId` to stop it (it reads the request at
 * its next heartbeat).
 * @throws NotFoundError, InvalidStateError when the job is not running
 */
export async function requestJobStop(backend: Backend, m: EntityManager, jobId: number): Promise<void> {
  const n = await backend.execute(
    m,
    `UPDATE hrp_cron_job SET stop_requested = TRUE WHERE id = ? AND running_worker IS NOT NULL`,
    [jobId],
  );
  if (n > 0) return;
  const job = await m.findOneBy(HrpCronJob, { id: jobId });
  if (!job) throw new NotFoundError("hrp_cron_job", jobId);
  throw new InvalidStateError(
    `Job ${jobId} is ${job.state}, not running; cancel a pending job instead of stopping it`,
    { jobId, state: job.state },
  );
}

/** Running, waiting (due) and scheduled (not due yet) recurring crons and jobs per queue and concurrency key, at `now`. */
export async function queueStats(
  backend: Backend,
  m: EntityManager,
  now: Date,
): Promise<
  Array<{ queue: string; concurrencyKey: string | null; running: number; waiting: number; scheduled: number }>
> {
  const rows = await backend.query<{
    queue: string;
    k: string | null;
    running: unknown;
    waiting: unknown;
    scheduled: unknown;
  }>(
    m,
    `SELECT queue, concurrency_key AS k,
            SUM(CASE WHEN running_worker IS NOT NULL THEN 1 ELSE 0 END) AS running,
            SUM(CASE WHEN running_worker IS NULL AND nextcall <= ? THEN 1 ELSE 0 END) AS waiting,
            SUM(CASE WHEN running_worker IS NULL AND nextcall > ? THEN 1 ELSE 0 END) AS scheduled
       FROM (SELECT queue, concurrency_key, running_worker, nextcall FROM ir_cron WHERE ${RUNNABLE} AND hrp_cron_job_id IS NULL
             UNION ALL
             SELECT queue, concurrency_key, running_worker, nextcall FROM hrp_cron_job WHERE state IN ('pending', 'running')) x
      GROUP BY queue, concurrency_key ORDER BY queue, concurrency_key`,
    [backend.toDbDate(now), backend.toDbDate(now)],
  );
  return rows.map((r) => ({
    queue: r.queue,
    concurrencyKey: r.k,
    running: Number(r.running),
    waiting: Number(r.waiting),
    scheduled: Number(r.scheduled),
  }));
}

/**
 * Per queue and concurrency key, at `now`: when the oldest due, unclaimed
 * work became due (null when none waits), and the key's limit (the
 * largest `concurrency_limit` among its live rows; null without a key).
 * Over the same rows as {@link queueStats}.
 */
export async function queueDelays(
  backend: Backend,
  m: EntityManager,
  now: Date,
): Promise<Array<{ queue: string; concurrencyKey: string | null; oldestDue: Date | null; limit: number | null }>> {
  const rows = await backend.query<{ queue: string; k: string | null; oldest: unknown; lim: unknown }>(
    m,
    `SELECT queue, concurrency_key AS k,
            MIN(CASE WHEN running_worker IS NULL AND nextcall <= ? THEN nextcall END) AS oldest,
            MAX(concurrency_limit) AS lim
       FROM (SELECT queue, concurrency_key, concurrency_limit, running_worker, nextcall FROM ir_cron WHERE ${RUNNABLE} AND hrp_cron_job_id IS NULL
             UNION ALL
             SELECT queue, concurrency_key, concurrency_limit, running_worker, nextcall FROM hrp_cron_job WHERE state IN ('pending', 'running')) x
      GROUP BY queue, concurrency_key ORDER BY queue, concurrency_key`,
    [backend.toDbDate(now)],
  );
  return rows.map((r) => ({
    queue: r.queue,
    concurrencyKey: r.k,
    oldestDue: r.oldest === null || r.oldest === undefined ? null : backend.fromDbDate(r.oldest),
    limit: r.k === null || r.lim === null || r.lim === undefined ? null : Number(r.lim),
  }));
}

/** What {@link purgeJobs} deleted (or, for a dry run, would delete). */
export interface PurgeCounts {
  /** Done, cancelled and stopped jobs. */
  readonly finishedJobs: number;
  readonly failedJobs: number;
  /** Run-log rows of the purged jobs' failed, stopped or interrupted runs that were kept (the audit of what went wrong). */
  readonly failureLogsKept: number;
  /** Such rows deleted (only when asked). */
  readonly failureLogsDeleted: number;
}

/**
 * Retention: finished jobs that ended before `finishedBefore`, failed ones
 * before `failedBefore` (never one still claimed), with their ir_cron rows
 * and their successful runs' log rows. The log rows of their failed,
 * stopped or interrupted runs stay (the `hrp_cron_runs` view keeps showing
 * them) unless `deleteFailureLogs`. `dryRun` only counts.
 */
export async function purgeJobs(
  backend: Backend,
  m: EntityManager,
  finishedBefore: Date,
  failedBefore: Date,
  options: { readonly deleteFailureLogs: boolean; readonly dryRun: boolean },
): Promise<PurgeCounts> {
  const finished = `state IN ('done', 'cancelled', 'stopped') AND date_done < ? AND running_worker IS NULL`;
  const failed = `state = 'failed' AND date_done < ? AND running_worker IS NULL`;
  const where = `((${finished}) OR (${failed}))`;
  const params = [backend.toDbDate(finishedBefore), backend.toDbDate(failedBefore)];
  const count = async (sql: string, values: unknown[]) =>
    Number((await backend.query<{ n: unknown }>(m, sql, values))[0].n);
  const finishedJobs = await count(`SELECT COUNT(*) AS n FROM hrp_cron_job WHERE ${finished}`, [params[0]]);
  const failedJobs = await count(`SELECT COUNT(*) AS n FROM hrp_cron_job WHERE ${failed}`, [params[1]]);
  const failureLogs = await count(
    `SELECT COUNT(*) AS n FROM hrp_cron_run_log WHERE state <> 'done' AND hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE ${where})`,
    params,
  );
  const counts = {
    finishedJobs,
    failedJobs,
    failureLogsKept: options.deleteFailureLogs ? 0 : failureLogs,
    failureLogsDeleted: options.deleteFailureLogs ? failureLogs : 0,
  };
  if (options.dryRun || finishedJobs + failedJobs === 0) return counts;
  await backend.execute(
    m,
    `DELETE FROM hrp_cron_run_log WHERE hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE ${where})${options.deleteFailureLogs ? "" : " AND state = 'done'"}`,
    params,
  );
  await backend.execute(
    m,
    `DELETE FROM ir_cron WHERE hrp_cron_job_id IN (SELECT id FROM hrp_cron_job WHERE ${where})`,
    params,
  );
  await backend.execute(m, `DELETE FROM hrp_cron_job WHERE ${where}`, params);
  return counts;
}
